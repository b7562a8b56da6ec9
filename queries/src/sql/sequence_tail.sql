-- A service's last successful production deployment in service order, as derived.
SELECT deployment_id, sha, epoch_us(finished_at), position, repo, sha_in_graph,
       reach_tip
FROM deploy_facts
WHERE service = ?
ORDER BY position DESC
LIMIT 1;
