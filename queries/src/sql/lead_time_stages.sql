-- Lead time by stage, for the lead-time samples of `scope` whose commit is the
-- merge (or squash) commit of a pull request that says when it was opened and merged
-- (SPEC §2 `pr`), per bucket `i` of `figure_buckets` (by the deployment's finish):
--   coding:  the pull request's first commit -> opened (NULL without first_commit_at);
--   review:  opened -> merged;
--   waiting: merged -> the deployment's finish.
-- Medians by quantile_cont, in hours. A pull request is matched by sha (one row per
-- sample even if two repositories store the sha: the first repository in name order).
WITH prs AS (
    SELECT sha, first_commit_at, opened_at, merged_at FROM (
        SELECT p.*, row_number() OVER (PARTITION BY p.sha ORDER BY p.repo) AS n
        FROM pull_requests p
        WHERE p.opened_at IS NOT NULL AND p.merged_at IS NOT NULL)
    WHERE n = 1
),
staged AS (
    SELECT b.i,
           (epoch_us(p.opened_at) - epoch_us(p.first_commit_at)) / 3600e6 AS coding,
           (epoch_us(p.merged_at) - epoch_us(p.opened_at)) / 3600e6 AS review,
           (epoch_us(l.finished_at) - epoch_us(p.merged_at)) / 3600e6 AS waiting
    FROM figure_buckets b
    JOIN lead_time_samples l ON l.finished_at >= b.start AND l.finished_at < b.stop
    JOIN prs p ON p.sha = l.sha
    WHERE l.service IN (SELECT service FROM scope)
)
SELECT b.i,
       count(s.i) AS samples,
       quantile_cont(s.coding, 0.5),
       quantile_cont(s.review, 0.5),
       quantile_cont(s.waiting, 0.5)
FROM figure_buckets b LEFT JOIN staged s ON s.i = b.i
GROUP BY b.i
ORDER BY b.i;
