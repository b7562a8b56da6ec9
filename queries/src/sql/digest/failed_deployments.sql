-- The digest's failed deployments: the rows of `explain/deployments.sql` (prepended;
-- `$3` true: failed ones only), the newest `$4` of each service with how many the
-- service has (`total`), each with what failed it: the rollback (`rolled_back_by`)
-- and the first `$5` incidents attributed to it (SPEC §3.4), one row per incident.
ranked AS (
    SELECT r.*,
           row_number() OVER (PARTITION BY r.service ORDER BY r.finished_at DESC, r.deployment_id DESC) AS n,
           count(*) OVER (PARTITION BY r.service) AS total
    FROM rows r
),
listed AS (
    SELECT * FROM ranked WHERE n <= $4
),
causes AS (
    SELECT a.deployment_id, a.incident_id, left(i.title, 300) AS title,
           row_number() OVER (PARTITION BY a.deployment_id ORDER BY i.opened_at, a.incident_id) AS k
    FROM incident_attribution a JOIN incidents i ON i.id = a.incident_id
    WHERE a.deployment_id IN (SELECT deployment_id FROM listed)
)
SELECT l.deployment_id, l.service, epoch_us(l.finished_at), f.sha, l.failure_cause,
       f.rolled_back_by, epoch_us(l.recovered_at), l.hours, l.total, c.incident_id, c.title
FROM listed l
JOIN deploy_facts f ON f.deployment_id = l.deployment_id
    AND f.finished_at >= $1 AND f.finished_at < $2
LEFT JOIN causes c ON c.deployment_id = l.deployment_id AND c.k <= $5
ORDER BY l.finished_at DESC, l.deployment_id DESC, c.k;
