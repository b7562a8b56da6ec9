-- Four Keys: the share of the deployments in [$1, $2) with an incident whose root
-- cause is one of their changes; for service $3 (NULL: all).
SELECT count(DISTINCT CASE WHEN i.incident_id IS NOT NULL THEN d.deploy_id END)
           / count(DISTINCT d.deploy_id) AS change_fail_rate
FROM (SELECT deploy_id, time_created, service, unnest(changes) AS change FROM four_keys.deployments) d
LEFT JOIN (SELECT incident_id, unnest(changes) AS change FROM four_keys.incidents) i
  ON i.change = d.change
WHERE d.time_created >= CAST($1 AS TIMESTAMP) AND d.time_created < CAST($2 AS TIMESTAMP)
  AND (CAST($3 AS VARCHAR) IS NULL OR d.service = CAST($3 AS VARCHAR));
