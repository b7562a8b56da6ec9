summary AS (
    SELECT count(*) AS deployments,
           count(DISTINCT CAST(finished_at AS DATE)) AS deploy_days,
           count(*) FILTER (WHERE failed) AS failed,
           count(hours) AS recovered,
           quantile_cont(hours, 0.5) AS recovery_median_hours,
           count(*) FILTER (WHERE rework) AS rework
    FROM rows
)
SELECT * FROM summary;
