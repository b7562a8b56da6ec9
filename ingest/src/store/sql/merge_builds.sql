INSERT INTO builds SELECT * FROM stage_builds
ON CONFLICT (id) DO UPDATE SET
    repo        = excluded.repo,
    sha         = excluded.sha,
    status      = excluded.status,
    branch      = COALESCE(excluded.branch, branch),
    started_at  = COALESCE(excluded.started_at, started_at),
    finished_at = excluded.finished_at,
    provider    = COALESCE(excluded.provider, provider);
