summary AS (
    SELECT count(*) AS samples,
           quantile_cont(hours, 0.5) AS median_hours,
           quantile_cont(hours, 0.9) AS p90_hours
    FROM rows
)
SELECT * FROM summary;
