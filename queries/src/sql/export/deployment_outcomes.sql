-- Export: `deployment_outcomes` (SPEC §3.5-3.7), failure, recovery and rework of each
-- successful production deployment, in the month it finished (UTC).
SELECT o.*, strftime(o.finished_at, '%Y-%m') AS month
FROM deployment_outcomes o
