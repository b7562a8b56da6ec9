-- Undeployed repositories: the repositories with stored commits (`changes`) that no
-- successful production deployment of any service resolves to, with their number of
-- commits and the latest `committed_at`. A deployment's repository is read as SPEC §8
-- reads it: its `repo`, else the config map's repo for its service, else the only
-- repository storing its sha; the derivation resolves it so (`deploy_facts.repo`).
-- Their commits give no lead time. Over every service and the whole history: a
-- repository belongs to no service until a deployment says so, so neither the
-- period nor a service or team filter can select it.
WITH deployed AS (
    SELECT DISTINCT repo FROM deploy_facts WHERE repo IS NOT NULL
),
rows AS (
    SELECT c.repo, count(*) AS commits, max(c.committed_at) AS latest_committed_at
    FROM changes c
    WHERE c.repo NOT IN (SELECT repo FROM deployed)
    GROUP BY c.repo
)
