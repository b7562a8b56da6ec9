-- Export: `pull_requests`, the pull request a commit merged or squashed, in the month
-- of that commit, so that a month of `changes` and of `pull_requests` join whole. Every
-- source stores a pull request with its commit; one whose commit is missing falls back
-- on its own times.
SELECT p.*,
       strftime(coalesce(c.committed_at, p.merged_at, p.opened_at, p.first_commit_at), '%Y-%m') AS month
FROM pull_requests p
LEFT JOIN changes c ON c.repo = p.repo AND c.sha = p.sha
