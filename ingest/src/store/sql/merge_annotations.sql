INSERT INTO annotations SELECT * FROM stage_annotations
ON CONFLICT (id) DO UPDATE SET
    noted_at = excluded.noted_at,
    text     = excluded.text,
    service  = COALESCE(excluded.service, service),
    team     = COALESCE(excluded.team, team);
