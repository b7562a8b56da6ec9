-- A carried `commits` list replaces the stored one whole, an empty list included.
DELETE FROM deployment_commits
WHERE deployment_id IN (SELECT id FROM stage_deployments WHERE has_commit_list);
