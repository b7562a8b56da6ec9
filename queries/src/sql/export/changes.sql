-- Export: `changes`, one row per commit (repo, sha), in the month it was committed
-- (UTC).
SELECT c.*, strftime(c.committed_at, '%Y-%m') AS month
FROM changes c
