-- A service's deployments in service order (SPEC §3: finished_at, ties by id), with
-- the repository resolved as SPEC §8 reads it: the deployment's `repo`, else the config
-- map's repo for the service (parameter 1), else the only repository storing the sha.
-- Production and success are decided by the caller, which holds the settings.
SELECT d.id,
       d.sha,
       epoch_us(d.finished_at) AS finished_at,
       d.environment,
       d.status,
       COALESCE(d.repo, ?, (SELECT CASE WHEN count(*) = 1 THEN min(c.repo) END
                            FROM changes c WHERE c.sha = d.sha)) AS repo,
       COALESCE(d.has_commit_list, false) AS has_commit_list
FROM deployments d
WHERE d.service = ?
ORDER BY d.finished_at, d.id;
