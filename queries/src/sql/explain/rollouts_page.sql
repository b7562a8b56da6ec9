page AS (
    SELECT * FROM rows ORDER BY finished_at DESC, deployment_id DESC LIMIT $3 OFFSET $4
)
SELECT epoch_us(p.finished_at), p.service, d.environment, d.sha,
       CASE WHEN p.aborted THEN 'aborted' ELSE 'completed' END, p.deployment_id
FROM page p
LEFT JOIN deployments d ON d.id = p.deployment_id
    AND d.finished_at >= $1 AND d.finished_at < $2
ORDER BY p.finished_at DESC, p.deployment_id DESC;
