-- The digest's open incidents: the incidents of `scope` still open at the end of the
-- period ($1): opened before it, and not resolved (or resolved only at or after it).
-- The newest `$2` of each service, with how many the service has (`total`).
WITH rows AS (
    SELECT i.id, i.service, i.opened_at, i.severity, left(i.title, 300) AS title
    FROM incidents i
    WHERE i.opened_at < $1 AND (i.resolved_at IS NULL OR i.resolved_at >= $1)
      AND i.service IN (SELECT service FROM scope)
),
ranked AS (
    SELECT r.*,
           row_number() OVER (PARTITION BY r.service ORDER BY r.opened_at DESC, r.id DESC) AS n,
           count(*) OVER (PARTITION BY r.service) AS total
    FROM rows r
)
SELECT id, service, epoch_us(opened_at), severity, title, total
FROM ranked
WHERE n <= $2
ORDER BY opened_at DESC, id DESC;
