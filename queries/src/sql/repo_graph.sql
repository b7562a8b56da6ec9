-- A repository's stored commit graph, with the pull request of merge and squash
-- commits: its start (SPEC §3.2), and when it was opened and merged (the lead-time
-- stages).
SELECT c.sha,
       array_to_string(c.parents, ',') AS parents,
       epoch_us(c.committed_at) AS committed_at,
       epoch_us(p.first_commit_at) AS first_commit_at,
       epoch_us(p.opened_at) AS opened_at,
       epoch_us(p.merged_at) AS merged_at
FROM changes c
LEFT JOIN pull_requests p ON p.repo = c.repo AND p.sha = c.sha
WHERE c.repo = ?;
