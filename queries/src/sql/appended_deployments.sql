-- The deployments in `appended_ids`, as `appended_deployment.sql` reads one.
SELECT id, sha, epoch_us(finished_at), environment, status, repo,
       COALESCE(has_commit_list, false)
FROM deployments
WHERE id IN (SELECT id FROM appended_ids);
