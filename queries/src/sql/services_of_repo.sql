-- Services whose change sets a new commit in repository ? can change: those that
-- deploy it, and those whose deployments name no repository (resolved by sha).
SELECT DISTINCT service FROM deployments WHERE repo = ? OR repo IS NULL;
