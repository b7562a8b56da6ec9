-- What runs where for service $1: per environment, its newest successful deployment,
-- newest first, as the derivation keeps it (`environment_heads`), with the commits a
-- pre-production one has that production lacks.
SELECT environment, production, deployment_id, sha, epoch_us(finished_at), repo, commits_ahead
FROM environment_heads
WHERE service = $1
ORDER BY finished_at DESC, deployment_id DESC;
