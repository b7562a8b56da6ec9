-- Adds to `incidents_to_attribute` the incidents whose attribution (SPEC §3.4) the
-- deployments in `appended_deployments` can move, each now the newest of its
-- service: those naming one (rule a); those of its service whose sha is its head or
-- in its change set, listed in `appended_shas` (rule b); those of its service opened
-- after it, within the attribution window, parameter 1 (rule c); and the incidents
-- in `appended_incidents`, stored for the first time.
INSERT INTO incidents_to_attribute
SELECT i.id FROM incidents i
WHERE i.deployment_id IN (SELECT id FROM appended_deployments)
UNION
SELECT i.id FROM incidents i
JOIN appended_shas a ON a.service = i.service AND a.sha = i.sha
UNION
SELECT i.id FROM incidents i
JOIN appended_deployments d ON d.service = i.service
 AND i.opened_at > d.finished_at
 AND i.opened_at <= d.finished_at + to_hours(CAST(? AS BIGINT))
UNION
SELECT id FROM appended_incidents
EXCEPT
SELECT id FROM incidents_to_attribute;
