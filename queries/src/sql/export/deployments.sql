-- Export: `deployments`, every deployment as sent (any environment and status), in
-- the month it finished (UTC).
SELECT d.*, strftime(d.finished_at, '%Y-%m') AS month
FROM deployments d
