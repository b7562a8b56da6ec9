-- Export: `deployment_commits`, a deployment's explicit commit list, in the month of
-- its deployment, so that a month joins `deployments` whole. A list is stored with its
-- deployment; one whose deployment is missing falls back on the commit's time.
SELECT dc.*, strftime(coalesce(d.finished_at, dc.committed_at), '%Y-%m') AS month
FROM deployment_commits dc
LEFT JOIN deployments d ON d.id = dc.deployment_id
