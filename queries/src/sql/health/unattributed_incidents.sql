-- Unattributed incidents: the incidents of `scope` opened in [$1, $2) that SPEC §3.4
-- attributes to no deployment (rule d: `incident_attribution.deployment_id` is NULL).
-- They count for time to restore but fail no deployment, so the change failure rate
-- and the recovery time do not see them.
WITH rows AS (
    SELECT i.id, i.service, i.opened_at
    FROM incidents i
    WHERE i.opened_at >= $1 AND i.opened_at < $2
      AND i.service IN (SELECT service FROM scope)
      AND NOT EXISTS (SELECT 1 FROM incident_attribution a
                      WHERE a.incident_id = i.id AND a.deployment_id IS NOT NULL)
)
