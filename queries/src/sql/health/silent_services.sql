-- Silent services: the services of `scope` with at least one successful production
-- deployment and no incident ever stored, with how many deployments they have and
-- when the last one finished. Over the whole history, not the period: incidents are
-- rare, so a quiet period says little, while a service that never had one most
-- likely has no incident source connected, and its change failure rate counts
-- rollbacks only.
WITH rows AS (
    SELECT f.service, count(*) AS deployments, max(f.finished_at) AS last_deployment_at
    FROM deploy_facts f
    WHERE f.service IN (SELECT service FROM scope)
      AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.service = f.service)
    GROUP BY f.service
)
