-- Four Keys: the median time from change to deployment over the changes of the
-- deployments in [$1, $2), ignoring non-positive times as Four Keys ignores automated
-- pushes, in hours; for service $3 (NULL: all).
SELECT count(*) AS samples,
       quantile_cont(lead_hours, 0.5) AS median_hours
FROM (
    SELECT (epoch_us(d.time_created) - epoch_us(c.time_created)) / 3600e6 AS lead_hours
    FROM (SELECT deploy_id, time_created, service, unnest(changes) AS change FROM four_keys.deployments) d
    LEFT JOIN four_keys.changes c ON d.change = c.change_id
    WHERE d.time_created >= CAST($1 AS TIMESTAMP) AND d.time_created < CAST($2 AS TIMESTAMP)
      AND (CAST($3 AS VARCHAR) IS NULL OR d.service = CAST($3 AS VARCHAR))
)
WHERE lead_hours > 0;
