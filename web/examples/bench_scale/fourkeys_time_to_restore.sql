-- Four Keys: the median of resolved - created over the incidents created in
-- [$1, $2), in hours; for service $3 (NULL: all).
SELECT count(*) AS incidents,
       quantile_cont((epoch_us(time_resolved) - epoch_us(time_created)) / 3600e6, 0.5) AS median_hours
FROM four_keys.incidents
WHERE time_created >= CAST($1 AS TIMESTAMP) AND time_created < CAST($2 AS TIMESTAMP)
  AND time_resolved IS NOT NULL
  AND (CAST($3 AS VARCHAR) IS NULL OR service = CAST($3 AS VARCHAR));
