-- Services of the deployments that the incidents being re-attributed point at: their
-- failure and recovery change when an attribution moves.
SELECT DISTINCT d.service
FROM incident_attribution a JOIN deploy_facts d ON d.deployment_id = a.deployment_id
WHERE a.incident_id IN (SELECT id FROM incidents_to_attribute);
