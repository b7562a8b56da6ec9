-- The repositories of the services in `scope` (SPEC §4.1 with a service or team
-- filter), as their deployments name them: one row per service and repository. Every
-- deployment counts, whatever its environment or status: where a service's code lives
-- does not depend on whether a deployment of it succeeded. A deployment's repository
-- is read as SPEC §8 does: its `repo`, else the config map's repo for the service
-- (applied by the caller, which holds the settings), else `sha_repo`, the only
-- repository that stores its sha, looked up only for the deployments that name no
-- repository (`sha_repo` is NULL for the others). The two kinds are read apart, so
-- the shas of the deployments that name their repository are never read.
WITH these AS (
    SELECT d.service, d.repo, d.sha
    FROM deployments d
    WHERE d.service IN (SELECT service FROM scope)
),
unnamed AS (
    SELECT DISTINCT service, sha FROM these WHERE repo IS NULL
),
sha_repos AS (
    SELECT c.sha, CASE WHEN count(*) = 1 THEN min(c.repo) END AS repo
    FROM changes c
    WHERE c.sha IN (SELECT sha FROM unnamed)
    GROUP BY c.sha
)
SELECT DISTINCT service, repo, NULL::VARCHAR AS sha_repo FROM these WHERE repo IS NOT NULL
UNION
SELECT u.service, NULL, s.repo FROM unnamed u LEFT JOIN sha_repos s ON s.sha = u.sha;
