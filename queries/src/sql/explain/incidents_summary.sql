summary AS (
    SELECT count(*) AS incidents,
           count(resolved_at) AS resolved,
           quantile_cont(hours, 0.5) AS restore_median_hours
    FROM rows
)
SELECT * FROM summary;
