-- Export: `deploy_facts`, one row per successful production deployment (SPEC §3), in
-- the month it finished (UTC): the month the metrics count it in.
SELECT f.*, strftime(f.finished_at, '%Y-%m') AS month
FROM deploy_facts f
