-- The explicit `commits` lists of a service's deployments, in list order.
SELECT l.deployment_id, l.sha, epoch_us(l.committed_at)
FROM deployment_commits l JOIN deployments d ON d.id = l.deployment_id
WHERE d.service = ?
ORDER BY l.deployment_id, l.position;
