-- The SPEC §4 figures for the buckets [start, stop) of the connection's temp table
-- `figure_buckets`: one bucket [from, to) for the metrics JSON, the weeks for the weekly
-- report, days, weeks or months for the dashboard. One row per bucket and service of
-- `scope` (only when `$1` is true), then one row with a NULL service for the bucket
-- as a whole (recomputed, not averaged).
--   deployments:  successful production deployments finishing in the bucket;
--   lead time:    their samples (SPEC §3.2), median and p90 by quantile_cont;
--   failed / recovered / recovery median:  over those deployments (SPEC §3.5-3.6),
--                 median of recovered_at - finished_at over the recovered ones;
--   incidents / resolved / time to restore: incidents opened in the bucket, median
--                 of resolved_at - opened_at over the resolved ones;
--   rework:       deployments whose previous deployment failed (SPEC §3.7).
WITH buckets AS (
    SELECT start, stop FROM figure_buckets
),
deploys AS (
    SELECT b.start, o.service, o.finished_at, o.failed, o.recovered_at, o.rework
    FROM buckets b JOIN deployment_outcomes o ON o.finished_at >= b.start AND o.finished_at < b.stop
    WHERE o.service IN (SELECT service FROM scope)
),
samples AS (
    SELECT b.start, l.service, l.hours
    FROM buckets b JOIN lead_time_samples l ON l.finished_at >= b.start AND l.finished_at < b.stop
    WHERE l.service IN (SELECT service FROM scope)
),
opened AS (
    SELECT b.start, i.service, i.opened_at, i.resolved_at
    FROM buckets b JOIN incidents i ON i.opened_at >= b.start AND i.opened_at < b.stop
    WHERE i.service IN (SELECT service FROM scope)
),
deploy_figures AS (
    SELECT start, service,
           count(*) AS deployments,
           count(DISTINCT CAST(finished_at AS DATE)) AS deploy_days,
           count(*) FILTER (WHERE failed) AS failed,
           count(*) FILTER (WHERE failed AND recovered_at IS NOT NULL) AS recovered,
           quantile_cont((epoch_us(recovered_at) - epoch_us(finished_at)) / 3600e6, 0.5)
               FILTER (WHERE failed AND recovered_at IS NOT NULL) AS recovery_median_hours,
           count(*) FILTER (WHERE rework) AS rework
    FROM deploys
    GROUP BY GROUPING SETS ((start, service), (start))
),
sample_figures AS (
    SELECT start, service,
           count(*) AS samples,
           quantile_cont(hours, 0.5) AS median_hours,
           quantile_cont(hours, 0.9) AS p90_hours
    FROM samples
    GROUP BY GROUPING SETS ((start, service), (start))
),
incident_figures AS (
    SELECT start, service,
           count(*) AS incidents,
           count(resolved_at) AS resolved,
           quantile_cont((epoch_us(resolved_at) - epoch_us(opened_at)) / 3600e6, 0.5) AS restore_median_hours
    FROM opened
    GROUP BY GROUPING SETS ((start, service), (start))
),
rows AS (
    SELECT service FROM scope WHERE $1 UNION ALL SELECT NULL
)
SELECT strftime(b.start, '%Y-%m-%d') AS bucket,
       r.service,
       COALESCE(d.deployments, 0),
       COALESCE(d.deploy_days, 0),
       COALESCE(s.samples, 0),
       s.median_hours,
       s.p90_hours,
       COALESCE(d.failed, 0),
       COALESCE(d.recovered, 0),
       d.recovery_median_hours,
       COALESCE(i.incidents, 0),
       COALESCE(i.resolved, 0),
       i.restore_median_hours,
       COALESCE(d.rework, 0)
FROM buckets b CROSS JOIN rows r
LEFT JOIN deploy_figures d ON d.start = b.start AND d.service IS NOT DISTINCT FROM r.service
LEFT JOIN sample_figures s ON s.start = b.start AND s.service IS NOT DISTINCT FROM r.service
LEFT JOIN incident_figures i ON i.start = b.start AND i.service IS NOT DISTINCT FROM r.service
ORDER BY b.start, r.service NULLS LAST;
