INSERT INTO incidents
SELECT id, service, opened_at, resolved_at, severity, deployment_id, sha, title
FROM stage_incidents
ON CONFLICT (id) DO UPDATE SET
    service       = excluded.service,
    opened_at     = excluded.opened_at,
    resolved_at   = COALESCE(excluded.resolved_at, resolved_at),
    severity      = COALESCE(excluded.severity, severity),
    deployment_id = COALESCE(excluded.deployment_id, deployment_id),
    sha           = COALESCE(excluded.sha, sha),
    title         = COALESCE(excluded.title, title);
