-- Export: `builds`, in the month each finished (UTC).
SELECT b.*, strftime(b.finished_at, '%Y-%m') AS month
FROM builds b
