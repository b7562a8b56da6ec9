-- Export: `annotations`, the notes teams leave on their timelines, in the month each
-- marks (`noted_at`, UTC).
SELECT a.*, strftime(a.noted_at, '%Y-%m') AS month
FROM annotations a
