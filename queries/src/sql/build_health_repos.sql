-- The repositories of the services in `scope` (SPEC §4.1 with a service or team
-- filter), as their deployments name them: one row per service and repository. Every
-- deployment counts, whatever its environment or status: where a service's code lives
-- does not depend on whether a deployment of it succeeded. A deployment's repository
-- is read as SPEC §8 does: its `repo`, else the config map's repo for the service
-- (applied by the caller, which holds the settings), else `sha_repo`, the only
-- repository that stores its sha.
SELECT DISTINCT d.service,
       d.repo,
       (SELECT CASE WHEN count(*) = 1 THEN min(c.repo) END
        FROM changes c WHERE c.sha = d.sha) AS sha_repo
FROM deployments d
WHERE d.service IN (SELECT service FROM scope);
