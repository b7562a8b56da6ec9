-- A sample's start is its deployment's finish less its hours; it is the pull
-- request's first commit when that is the instant (within a second), else the commit.
-- The repository is the one whose graph gave the sample (the deployment's).
page AS (
    SELECT * FROM rows ORDER BY finished_at DESC, deployment_id DESC, sha LIMIT $3 OFFSET $4
),
starts AS (
    SELECT p.*, epoch_us(p.finished_at) - CAST(round(p.hours * 3600e6) AS BIGINT) AS start_us
    FROM page p
)
SELECT s.sha,
       s.repo,
       s.start_us,
       CASE WHEN abs(epoch_us(s.pr_first_commit_at) - s.start_us) < 1000000
            THEN 'pull request first commit' ELSE 'commit' END,
       s.deployment_id, s.service, epoch_us(s.finished_at), s.hours
FROM starts s
ORDER BY s.finished_at DESC, s.deployment_id DESC, s.sha;
