-- Services whose facts the commits in `appended_commits` (stored for the first time)
-- change: those whose walks stopped at one of them, unstored until now, and those
-- with a deployment that names no repository and deploys one of their shas, which may
-- resolve to another repository now (SPEC §8).
SELECT service FROM walk_missing WHERE sha IN (SELECT sha FROM appended_commits)
UNION
SELECT service FROM deployments
WHERE repo IS NULL AND sha IN (SELECT sha FROM appended_commits);
