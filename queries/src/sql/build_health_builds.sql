-- Build counts and durations of SPEC §4.1 for the period [$1, $2), by `finished_at`,
-- over every stored build when $3 is true (no filter), else over the builds of the
-- repositories in `build_repos` (a temp table of names; its column is `service`
-- because the helper that fills it serves service lists too). Every branch counts.
--   builds:   builds finishing in the period;
--   failed:   those whose status is not `success` (SPEC §5: only `success` succeeds,
--             so `cancelled`, `error`, … are failures);
--   duration median / p90: quantile_cont of finished_at - started_at, in minutes,
--             over those builds that carry `started_at`; NULL when none does.
--             Negative durations are kept: SPEC §8 drops negative values from
--             lead-time samples only.
WITH period AS (
    SELECT CAST($1 AS TIMESTAMP) AS start, CAST($2 AS TIMESTAMP) AS stop
),
counted AS (
    SELECT b.status, b.started_at, b.finished_at
    FROM builds b, period p
    WHERE b.finished_at >= p.start AND b.finished_at < p.stop
      AND (CAST($3 AS BOOLEAN) OR b.repo IN (SELECT service AS repo FROM build_repos))
)
SELECT count(*) AS builds,
       count(*) FILTER (WHERE status <> 'success') AS failed,
       quantile_cont((epoch_us(finished_at) - epoch_us(started_at)) / 60e6, 0.5)
           FILTER (WHERE started_at IS NOT NULL) AS duration_median_minutes,
       quantile_cont((epoch_us(finished_at) - epoch_us(started_at)) / 60e6, 0.9)
           FILTER (WHERE started_at IS NOT NULL) AS duration_p90_minutes
FROM counted;
