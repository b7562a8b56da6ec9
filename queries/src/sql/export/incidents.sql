-- Export: `incidents`, in the month each was opened (UTC).
SELECT i.*, strftime(i.opened_at, '%Y-%m') AS month
FROM incidents i
