-- Which shas of `walk_candidates` are heads of stored (successful, production)
-- deployments of service ?, with their repositories and whether those store them.
SELECT sha, repo, sha_in_graph
FROM deploy_facts
WHERE service = ? AND sha IN (SELECT sha FROM walk_candidates);
