-- A service's deployments in service order (SPEC §3: finished_at, ties by id), with
-- the repository resolved as SPEC §8 reads it: the deployment's `repo`, else the config
-- map's repo for the service ($1), else the only repository storing the sha, looked
-- up only for the deployments that name no repository (a lookup per row is a scan of
-- every stored commit). Production and success are decided by the caller, which holds
-- the settings.
WITH these AS (
    SELECT d.id, d.sha, d.finished_at, d.environment, d.status, d.repo, d.has_commit_list
    FROM deployments d
    WHERE d.service = $2
),
sha_repos AS (
    SELECT c.sha, CASE WHEN count(*) = 1 THEN min(c.repo) END AS repo
    FROM changes c
    WHERE c.sha IN (SELECT sha FROM these WHERE repo IS NULL)
    GROUP BY c.sha
)
SELECT d.id,
       d.sha,
       epoch_us(d.finished_at) AS finished_at,
       d.environment,
       d.status,
       COALESCE(d.repo, $1, s.repo) AS repo,
       COALESCE(d.has_commit_list, false) AS has_commit_list
FROM these d LEFT JOIN sha_repos s ON s.sha = d.sha
ORDER BY d.finished_at, d.id;
