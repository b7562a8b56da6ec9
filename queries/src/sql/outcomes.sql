-- Failure, recovery and rework of the deployments of `outcome_services`, SPEC §3.5-3.7.
--   failed:     at least one attributed incident, or rolled back (counted once);
--   recovered:  the latest resolved_at of its incidents, unless one is still open;
--               for a deployment failed only by a rollback, the rollback's finish;
--   rework:     the deployment just before it (same service) is failed.
DELETE FROM deployment_outcomes WHERE service IN (SELECT service FROM outcome_services);
INSERT INTO deployment_outcomes
WITH attributed AS (
    SELECT a.deployment_id,
           count(*) AS incidents,
           bool_or(i.resolved_at IS NULL) AS any_open,
           max(i.resolved_at) AS last_resolved
    FROM incident_attribution a JOIN incidents i ON i.id = a.incident_id
    WHERE a.deployment_id IN (SELECT deployment_id FROM deploy_facts
                              WHERE service IN (SELECT service FROM outcome_services))
    GROUP BY a.deployment_id
),
judged AS (
    SELECT f.deployment_id, f.service, f.finished_at, f.position,
           COALESCE(x.incidents, 0) AS incidents,
           COALESCE(x.incidents, 0) > 0 OR f.rolled_back_by IS NOT NULL AS failed,
           CASE WHEN COALESCE(x.incidents, 0) > 0 AND f.rolled_back_by IS NOT NULL THEN 'incident+rollback'
                WHEN COALESCE(x.incidents, 0) > 0 THEN 'incident'
                WHEN f.rolled_back_by IS NOT NULL THEN 'rollback' END AS failure_cause,
           CASE WHEN COALESCE(x.incidents, 0) > 0 THEN CASE WHEN x.any_open THEN NULL ELSE x.last_resolved END
                ELSE f.rolled_back_at END AS recovered_at
    FROM deploy_facts f LEFT JOIN attributed x ON x.deployment_id = f.deployment_id
    WHERE f.service IN (SELECT service FROM outcome_services)
)
SELECT deployment_id, service, finished_at, failed, failure_cause, incidents, recovered_at,
       COALESCE(lag(failed) OVER (PARTITION BY service ORDER BY position), false) AS rework
FROM judged;
