INSERT INTO deployments SELECT * FROM stage_deployments
ON CONFLICT (id) DO UPDATE SET
    service         = excluded.service,
    environment     = COALESCE(excluded.environment, environment),
    repo            = COALESCE(excluded.repo, repo),
    sha             = excluded.sha,
    status          = COALESCE(excluded.status, status),
    started_at      = COALESCE(excluded.started_at, started_at),
    finished_at     = excluded.finished_at,
    team            = COALESCE(excluded.team, team),
    has_commit_list = COALESCE(excluded.has_commit_list, has_commit_list);
