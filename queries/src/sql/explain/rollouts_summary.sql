summary AS (
    SELECT count(*) FILTER (WHERE NOT aborted) AS deployments,
           count(*) FILTER (WHERE aborted) AS aborted
    FROM rows
)
SELECT * FROM summary;
