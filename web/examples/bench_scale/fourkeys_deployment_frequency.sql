-- Four Keys: deployments and days with a deployment in [$1, $2), for service $3 (NULL: all).
SELECT count(DISTINCT deploy_id) AS deployments,
       count(DISTINCT date_trunc('day', time_created)) AS deploy_days
FROM four_keys.deployments
WHERE time_created >= CAST($1 AS TIMESTAMP) AND time_created < CAST($2 AS TIMESTAMP)
  AND (CAST($3 AS VARCHAR) IS NULL OR service = CAST($3 AS VARCHAR));
