page AS (
    SELECT * FROM rows ORDER BY finished_at DESC, deployment_id DESC LIMIT $4 OFFSET $5
)
SELECT epoch_us(p.finished_at), p.service, d.environment, f.sha, f.kind, f.change_set_size,
       (SELECT count(*) FROM lead_time_samples l WHERE l.deployment_id = p.deployment_id),
       p.failed, p.failure_cause, f.rolled_back_by,
       (SELECT string_agg(a.incident_id, ' ' ORDER BY a.incident_id)
        FROM incident_attribution a WHERE a.deployment_id = p.deployment_id),
       epoch_us(p.recovered_at), p.hours, p.rework, p.deployment_id
FROM page p
JOIN deploy_facts f ON f.deployment_id = p.deployment_id
LEFT JOIN deployments d ON d.id = p.deployment_id
ORDER BY p.finished_at DESC, p.deployment_id DESC;
