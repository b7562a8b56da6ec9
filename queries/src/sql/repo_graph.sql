-- A repository's stored commit graph, with the pull-request start of merge and
-- squash commits (SPEC §3.2).
SELECT c.sha,
       array_to_string(c.parents, ',') AS parents,
       epoch_us(c.committed_at) AS committed_at,
       epoch_us(p.first_commit_at) AS first_commit_at
FROM changes c
LEFT JOIN pull_requests p ON p.repo = c.repo AND p.sha = c.sha
WHERE c.repo = ?;
