-- Services whose derived facts a batch can change, before the merge (a deployment or
-- incident may move to another service) and after it.
SELECT service FROM deployments WHERE id IN (SELECT id FROM stage_deployments)
UNION SELECT service FROM stage_deployments
UNION SELECT service FROM incidents WHERE id IN (SELECT id FROM stage_incidents)
UNION SELECT service FROM stage_incidents;
