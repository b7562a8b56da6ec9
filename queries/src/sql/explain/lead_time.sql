-- The rows behind lead time for changes: one lead-time sample (SPEC §3.2) per
-- commit of the change set of each successful production deployment of `scope`
-- finishing in [$1, $2). The page's median and p90 are computed from exactly these
-- rows.
WITH rows AS (
    SELECT l.deployment_id, l.service, l.finished_at, l.sha, l.hours, l.repo, l.pr_first_commit_at
    FROM lead_time_samples l
    WHERE l.finished_at >= $1 AND l.finished_at < $2
      AND l.service IN (SELECT service FROM scope)
),
