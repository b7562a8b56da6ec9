-- A deployment by id (its key: an index lookup), for extending its service's facts.
SELECT id, sha, epoch_us(finished_at), environment, status, repo,
       COALESCE(has_commit_list, false)
FROM deployments
WHERE id = ?;
