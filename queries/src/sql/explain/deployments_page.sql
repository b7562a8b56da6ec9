page AS (
    SELECT * FROM rows ORDER BY finished_at DESC, deployment_id DESC LIMIT $4 OFFSET $5
),
-- A deployment's facts and samples carry its finish: bounding each by the period as
-- well lets the scans skip what the page cannot hold.
samples AS (
    SELECT l.deployment_id, count(*) AS samples
    FROM lead_time_samples l
    WHERE l.finished_at >= $1 AND l.finished_at < $2
      AND l.deployment_id IN (SELECT deployment_id FROM page)
    GROUP BY l.deployment_id
),
attributed AS (
    SELECT a.deployment_id, string_agg(a.incident_id, ' ' ORDER BY a.incident_id) AS incidents
    FROM incident_attribution a
    WHERE a.deployment_id IN (SELECT deployment_id FROM page)
    GROUP BY a.deployment_id
)
SELECT epoch_us(p.finished_at), p.service, d.environment, f.sha, f.kind, f.change_set_size,
       COALESCE(s.samples, 0),
       p.failed, p.failure_cause, f.rolled_back_by,
       a.incidents,
       epoch_us(p.recovered_at), p.hours, p.rework, p.deployment_id
FROM page p
JOIN deploy_facts f ON f.deployment_id = p.deployment_id
    AND f.finished_at >= $1 AND f.finished_at < $2
LEFT JOIN deployments d ON d.id = p.deployment_id
    AND d.finished_at >= $1 AND d.finished_at < $2
LEFT JOIN samples s ON s.deployment_id = p.deployment_id
LEFT JOIN attributed a ON a.deployment_id = p.deployment_id
ORDER BY p.finished_at DESC, p.deployment_id DESC;
