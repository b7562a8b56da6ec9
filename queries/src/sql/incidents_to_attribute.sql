-- Incidents whose attribution a refresh of `refresh_services` can change: those of
-- the services, and those naming one of their deployments (rule a crosses services).
CREATE OR REPLACE TEMP TABLE incidents_to_attribute AS
SELECT id FROM incidents WHERE service IN (SELECT service FROM refresh_services)
UNION
SELECT i.id FROM incidents i JOIN deployments d ON d.id = i.deployment_id
WHERE d.service IN (SELECT service FROM refresh_services);
