-- Lead time by stage, for the lead-time samples of `scope` whose commit is the
-- merge (or squash) commit of a pull request of the deployment's repository that
-- says when it was opened and merged (SPEC §2 `pr`; the derivation stores its times
-- on the sample), per bucket `i` of `figure_buckets` (by the deployment's finish):
--   coding:  the pull request's first commit -> opened (NULL without first_commit_at);
--   review:  opened -> merged;
--   waiting: merged -> the deployment's finish.
-- Medians by quantile_cont, in hours. $1 and $2 bound every bucket; rows find their
-- buckets by UTC day, as in figures.sql.
WITH days AS (
    SELECT i, CAST(unnest(generate_series(start, stop - INTERVAL 1 DAY, INTERVAL 1 DAY)) AS DATE) AS day
    FROM figure_buckets
),
staged AS (
    SELECT b.i,
           (epoch_us(l.pr_opened_at) - epoch_us(l.pr_first_commit_at)) / 3600e6 AS coding,
           (epoch_us(l.pr_merged_at) - epoch_us(l.pr_opened_at)) / 3600e6 AS review,
           (epoch_us(l.finished_at) - epoch_us(l.pr_merged_at)) / 3600e6 AS waiting
    FROM lead_time_samples l
    JOIN days b ON b.day = CAST(l.finished_at AS DATE)
    WHERE l.finished_at >= $1 AND l.finished_at < $2
      AND l.pr_opened_at IS NOT NULL AND l.pr_merged_at IS NOT NULL
      AND l.service IN (SELECT service FROM scope)
)
SELECT b.i,
       count(s.i) AS samples,
       quantile_cont(s.coding, 0.5),
       quantile_cont(s.review, 0.5),
       quantile_cont(s.waiting, 0.5)
FROM figure_buckets b LEFT JOIN staged s ON s.i = b.i
GROUP BY b.i
ORDER BY b.i;
