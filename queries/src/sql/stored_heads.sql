-- Which shas of `walk_candidates` are heads of stored (successful, production)
-- deployments of service ?, with their repositories and whether those store them.
-- The service's rows are taken first (MATERIALIZED): as a plain semi-join DuckDB 1.2
-- probes every row's sha, 7.4 ms against 2.9 ms at 50 services × 2 years.
WITH heads AS MATERIALIZED (
    SELECT sha, repo, sha_in_graph FROM deploy_facts WHERE service = ?
)
SELECT sha, repo, sha_in_graph
FROM heads
WHERE sha IN (SELECT sha FROM walk_candidates);
