-- Undeployed repositories: the repositories with stored commits (`changes`) that no
-- successful production deployment of any service resolves to, with their number of
-- commits and the latest `committed_at`. A deployment's repository is read as SPEC §8
-- reads it: its `repo`, else the config map's repo for its service (`service_repos`,
-- filled by the caller from the settings), else the only repository storing its sha.
-- Their commits give no lead time. Over every service and the whole history: a
-- repository belongs to no service until a deployment says so, so neither the
-- period nor a service or team filter can select it.
WITH sha_repos AS (
    SELECT sha, CASE WHEN count(*) = 1 THEN min(repo) END AS repo
    FROM changes
    WHERE sha IN (SELECT sha FROM deploy_facts)
    GROUP BY sha
),
deployed AS (
    SELECT DISTINCT COALESCE(d.repo, m.repo, s.repo) AS repo
    FROM deploy_facts f
    JOIN deployments d ON d.id = f.deployment_id
    LEFT JOIN service_repos m ON m.service = f.service
    LEFT JOIN sha_repos s ON s.sha = f.sha
),
rows AS (
    SELECT c.repo, count(*) AS commits, max(c.committed_at) AS latest_committed_at
    FROM changes c
    WHERE c.repo NOT IN (SELECT repo FROM deployed WHERE repo IS NOT NULL)
    GROUP BY c.repo
)
