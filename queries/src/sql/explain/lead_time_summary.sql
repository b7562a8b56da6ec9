summary AS (
    -- One quantile state for both quantiles (see figures.sql).
    SELECT n AS samples, q[1] AS median_hours, q[2] AS p90_hours
    FROM (SELECT count(*) AS n, quantile_cont(hours, [0.5, 0.9]) AS q FROM rows)
)
SELECT * FROM summary;
