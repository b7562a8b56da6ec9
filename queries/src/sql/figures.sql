-- The SPEC §4 figures for the buckets [start, stop) of the connection's temp table
-- `figure_buckets`, numbered `i`: one bucket [from, to) for the metrics JSON, the
-- weeks for the weekly report, both periods and the days, weeks or months of a chart
-- for a dashboard page, in one read. Buckets are whole UTC days and may overlap. One
-- row per bucket and service of `scope` for the buckets marked `per_service`, and one
-- row with a NULL service for every bucket as a whole (recomputed, not averaged).
--   deployments:  successful production deployments finishing in the bucket;
--   lead time:    their samples (SPEC §3.2), median and p90 by quantile_cont;
--   failed / recovered / recovery median:  over those deployments (SPEC §3.5-3.6),
--                 median of recovered_at - finished_at over the recovered ones;
--   incidents / resolved / time to restore: incidents opened in the bucket, median
--                 of resolved_at - opened_at over the resolved ones;
--   rework:       deployments whose previous deployment failed (SPEC §3.7);
--   aborted:      production attempts with status `aborted` (a rollout stopped before
--                 it fully reached production) finishing in the bucket, production
--                 being the environments of `aborted_production` ('' for none named).
-- $1 and $2 bound every bucket ([first start, last stop)): a plain range filter the
-- scan applies before anything is joined. Each row then finds its buckets through
-- its UTC day, an equality join, where a range join to the buckets would compare
-- every row with every bucket. `/*scope*/` is replaced by the caller: the scope
-- filter, or nothing when the scope is every service.
WITH days AS (
    SELECT i, per_service,
           CAST(unnest(generate_series(start, stop - INTERVAL 1 DAY, INTERVAL 1 DAY)) AS DATE) AS day
    FROM figure_buckets
),
deploys AS MATERIALIZED (
    SELECT b.i, b.per_service, b.day, o.service, o.finished_at, o.failed, o.recovered_at, o.rework
    FROM deployment_outcomes o JOIN days b ON b.day = CAST(o.finished_at AS DATE)
    WHERE o.finished_at >= $1 AND o.finished_at < $2 /*scope*/
),
samples AS MATERIALIZED (
    SELECT b.i, b.per_service, l.service, l.hours
    FROM lead_time_samples l JOIN days b ON b.day = CAST(l.finished_at AS DATE)
    WHERE l.finished_at >= $1 AND l.finished_at < $2 /*scope*/
),
opened AS MATERIALIZED (
    SELECT b.i, b.per_service, i.service, i.opened_at, i.resolved_at
    FROM incidents i JOIN days b ON b.day = CAST(i.opened_at AS DATE)
    WHERE i.opened_at >= $1 AND i.opened_at < $2 /*scope*/
),
aborts AS MATERIALIZED (
    SELECT b.i, b.per_service, d.service
    FROM deployments d JOIN days b ON b.day = CAST(d.finished_at AS DATE)
    WHERE d.finished_at >= $1 AND d.finished_at < $2 AND d.status = 'aborted'
      AND COALESCE(d.environment, '') IN (SELECT environment FROM aborted_production)
      -- Always the scope's: a service counts once it has a deployment or an incident
      -- (`report_services.sql`), whatever its aborts.
      AND d.service IN (SELECT service FROM scope)
),
-- Each CTE's rows once for the bucket as a whole (service NULL) and once more for
-- its service where the bucket is broken down.
deploy_figures AS (
    SELECT i, service,
           count(*) AS deployments,
           count(DISTINCT day) AS deploy_days,
           count(*) FILTER (WHERE failed) AS failed,
           count(*) FILTER (WHERE failed AND recovered_at IS NOT NULL) AS recovered,
           quantile_cont((epoch_us(recovered_at) - epoch_us(finished_at)) / 3600e6, 0.5)
               FILTER (WHERE failed AND recovered_at IS NOT NULL) AS recovery_median_hours,
           count(*) FILTER (WHERE rework) AS rework
    FROM (SELECT * REPLACE (NULL::VARCHAR AS service) FROM deploys
          UNION ALL SELECT * FROM deploys WHERE per_service)
    GROUP BY i, service
),
sample_figures AS (
    -- One quantile state for both quantiles: two would each copy every value.
    SELECT i, service, count(*) AS samples, quantile_cont(hours, [0.5, 0.9]) AS q
    FROM (SELECT i, NULL::VARCHAR AS service, hours FROM samples
          UNION ALL SELECT i, service, hours FROM samples WHERE per_service)
    GROUP BY i, service
),
incident_figures AS (
    SELECT i, service,
           count(*) AS incidents,
           count(resolved_at) AS resolved,
           quantile_cont((epoch_us(resolved_at) - epoch_us(opened_at)) / 3600e6, 0.5) AS restore_median_hours
    FROM (SELECT * REPLACE (NULL::VARCHAR AS service) FROM opened
          UNION ALL SELECT * FROM opened WHERE per_service)
    GROUP BY i, service
),
abort_figures AS (
    SELECT i, service, count(*) AS aborted
    FROM (SELECT i, NULL::VARCHAR AS service FROM aborts
          UNION ALL SELECT i, service FROM aborts WHERE per_service)
    GROUP BY i, service
),
rows AS (
    SELECT b.i, s.service FROM figure_buckets b, scope s WHERE b.per_service
    UNION ALL SELECT i, NULL FROM figure_buckets
)
SELECT r.i,
       r.service,
       COALESCE(d.deployments, 0),
       COALESCE(d.deploy_days, 0),
       COALESCE(s.samples, 0),
       s.q[1],
       s.q[2],
       COALESCE(d.failed, 0),
       COALESCE(d.recovered, 0),
       d.recovery_median_hours,
       COALESCE(i.incidents, 0),
       COALESCE(i.resolved, 0),
       i.restore_median_hours,
       COALESCE(d.rework, 0),
       COALESCE(a.aborted, 0)
FROM rows r
LEFT JOIN deploy_figures d ON d.i = r.i AND d.service IS NOT DISTINCT FROM r.service
LEFT JOIN sample_figures s ON s.i = r.i AND s.service IS NOT DISTINCT FROM r.service
LEFT JOIN incident_figures i ON i.i = r.i AND i.service IS NOT DISTINCT FROM r.service
LEFT JOIN abort_figures a ON a.i = r.i AND a.service IS NOT DISTINCT FROM r.service;
