page AS (
    SELECT * FROM rows ORDER BY opened_at DESC, id DESC LIMIT $3 OFFSET $4
)
SELECT p.id, i.title, p.service, i.severity, epoch_us(p.opened_at), epoch_us(p.resolved_at),
       p.hours, a.deployment_id, f.service, a.rule
FROM page p
JOIN incidents i ON i.id = p.id
LEFT JOIN incident_attribution a ON a.incident_id = p.id
LEFT JOIN deploy_facts f ON f.deployment_id = a.deployment_id
ORDER BY p.opened_at DESC, p.id DESC;
