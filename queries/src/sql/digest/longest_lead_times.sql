-- The digest's longest lead times: the rows of `explain/lead_time.sql` (prepended),
-- the `$3` longest of each service with how many samples the service has (`total`),
-- each with the first 300 characters of its commit's message (the title is its first
-- line).
ranked AS (
    SELECT r.*,
           row_number() OVER (PARTITION BY r.service ORDER BY r.hours DESC, r.finished_at DESC, r.sha) AS n,
           count(*) OVER (PARTITION BY r.service) AS total
    FROM rows r
)
SELECT k.sha, k.repo, k.service, k.deployment_id, epoch_us(k.finished_at), k.hours, k.total,
       left(c.message, 300)
FROM ranked k
LEFT JOIN changes c ON c.repo = k.repo AND c.sha = k.sha
WHERE k.n <= $3
ORDER BY k.hours DESC, k.finished_at DESC, k.sha;
