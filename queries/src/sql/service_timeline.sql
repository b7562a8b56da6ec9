-- The deployments of service $1 finishing in [$2, $3), every environment and status,
-- newest last, with what SPEC §3 derived for the successful production ones
-- (kind, failure and its cause, the rollback that failed it, rework); production and
-- success are judged by the caller, which holds the settings.
SELECT d.id, d.environment, d.sha, d.status, epoch_us(d.finished_at),
       f.kind, f.change_set_size, f.rolled_back_by,
       o.failed, o.failure_cause, o.rework, epoch_us(o.recovered_at)
FROM deployments d
LEFT JOIN deploy_facts f ON f.deployment_id = d.id
LEFT JOIN deployment_outcomes o ON o.deployment_id = d.id
WHERE d.service = $1 AND d.finished_at >= $2 AND d.finished_at < $3
ORDER BY d.finished_at, d.id;
