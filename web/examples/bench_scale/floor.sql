-- The floor: a bare scan, one sum() per column, of every column the metrics JSON
-- reads for [$1, $2) and service $3 (NULL: all): the derived deployments, the
-- lead-time samples, the incidents and the builds.
SELECT (SELECT sum(epoch_us(finished_at)) + sum(CAST(failed AS INTEGER)) + sum(epoch_us(recovered_at))
               + sum(CAST(rework AS INTEGER)) + count(service)
        FROM deployment_outcomes
        WHERE finished_at >= CAST($1 AS TIMESTAMP) AND finished_at < CAST($2 AS TIMESTAMP)
          AND (CAST($3 AS VARCHAR) IS NULL OR service = CAST($3 AS VARCHAR))),
       (SELECT sum(epoch_us(finished_at)) + sum(hours) + count(service)
        FROM lead_time_samples
        WHERE finished_at >= CAST($1 AS TIMESTAMP) AND finished_at < CAST($2 AS TIMESTAMP)
          AND (CAST($3 AS VARCHAR) IS NULL OR service = CAST($3 AS VARCHAR))),
       (SELECT sum(epoch_us(opened_at)) + sum(epoch_us(resolved_at)) + count(service)
        FROM incidents
        WHERE opened_at >= CAST($1 AS TIMESTAMP) AND opened_at < CAST($2 AS TIMESTAMP)
          AND (CAST($3 AS VARCHAR) IS NULL OR service = CAST($3 AS VARCHAR))),
       (SELECT sum(epoch_us(finished_at)) + sum(epoch_us(started_at)) + count(status)
               + count(branch) + count(repo)
        FROM builds
        WHERE finished_at >= CAST($1 AS TIMESTAMP) AND finished_at < CAST($2 AS TIMESTAMP));
