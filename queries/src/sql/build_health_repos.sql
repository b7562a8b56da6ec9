-- The repositories of the services in `scope` (SPEC §4.1 with a service or team
-- filter), as their deployments name them: one row per service and repository. Every
-- deployment counts, whatever its environment or status: where a service's code lives
-- does not depend on whether a deployment of it succeeded. A deployment's repository
-- is read as SPEC §8 does: its `repo`, else the config map's repo for the service
-- (applied by the caller, which holds the settings), else `sha_repo`, the only
-- repository that stores its sha, looked up only for the deployments that name no
-- repository (`sha_repo` is NULL for the others).
WITH named AS (
    SELECT DISTINCT d.service, d.repo, CASE WHEN d.repo IS NULL THEN d.sha END AS sha
    FROM deployments d
    WHERE d.service IN (SELECT service FROM scope)
),
sha_repos AS (
    SELECT c.sha, CASE WHEN count(*) = 1 THEN min(c.repo) END AS repo
    FROM changes c
    WHERE c.sha IN (SELECT sha FROM named WHERE sha IS NOT NULL)
    GROUP BY c.sha
)
SELECT DISTINCT n.service, n.repo, s.repo AS sha_repo
FROM named n LEFT JOIN sha_repos s ON s.sha = n.sha;
