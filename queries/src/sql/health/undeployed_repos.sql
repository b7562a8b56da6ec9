-- Undeployed repositories: the repositories with stored commits (`changes`) that no
-- successful production deployment of any service resolves to, with their number of
-- commits and the latest `committed_at`. A deployment's repository is read as SPEC §8
-- reads it: its `repo`, else the config map's repo for its service (`service_repos`,
-- filled by the caller from the settings), else the only repository storing its sha.
-- Their commits give no lead time. Over every service and the whole history: a
-- repository belongs to no service until a deployment says so, so neither the
-- period nor a service or team filter can select it.
WITH deployed_rows AS (
    SELECT f.sha, d.repo AS named, m.repo AS mapped
    FROM deploy_facts f
    JOIN deployments d ON d.id = f.deployment_id
    LEFT JOIN service_repos m ON m.service = f.service
),
-- The only repository storing the sha, looked up for the deployments that neither
-- name a repository nor have one in the config map.
sha_repos AS (
    SELECT sha, CASE WHEN count(*) = 1 THEN min(repo) END AS repo
    FROM changes
    WHERE sha IN (SELECT sha FROM deployed_rows WHERE named IS NULL AND mapped IS NULL)
    GROUP BY sha
),
deployed AS (
    SELECT DISTINCT COALESCE(r.named, r.mapped, s.repo) AS repo
    FROM deployed_rows r
    LEFT JOIN sha_repos s ON s.sha = r.sha
),
rows AS (
    SELECT c.repo, count(*) AS commits, max(c.committed_at) AS latest_committed_at
    FROM changes c
    WHERE c.repo NOT IN (SELECT repo FROM deployed WHERE repo IS NOT NULL)
    GROUP BY c.repo
)
