DELETE FROM stage_raw;
DELETE FROM stage_changes;
DELETE FROM stage_pull_requests;
DELETE FROM stage_deployments;
DELETE FROM stage_deployment_commits;
DELETE FROM stage_incidents;
DELETE FROM stage_builds;
