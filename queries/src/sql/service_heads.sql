-- A service's newest successful deployment in each environment, as derived.
SELECT environment, production, deployment_id, sha, epoch_us(finished_at), repo,
       commits_ahead
FROM environment_heads
WHERE service = ?;
