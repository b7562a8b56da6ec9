INSERT INTO deployment_commits SELECT * FROM stage_deployment_commits;
