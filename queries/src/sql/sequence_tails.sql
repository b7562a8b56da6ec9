-- The last successful production deployment in service order, as derived, of each
-- service in `plan_services`.
SELECT deployment_id, sha, epoch_us(finished_at), position, repo, sha_in_graph,
       reach_tip, service
FROM deploy_facts
WHERE service IN (SELECT service FROM plan_services)
QUALIFY row_number() OVER (PARTITION BY service ORDER BY position DESC) = 1;
