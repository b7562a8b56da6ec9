INSERT INTO pull_requests SELECT * FROM stage_pull_requests
ON CONFLICT (repo, sha) DO UPDATE SET
    number          = COALESCE(excluded.number, number),
    first_commit_at = COALESCE(excluded.first_commit_at, first_commit_at),
    opened_at       = COALESCE(excluded.opened_at, opened_at),
    merged_at       = COALESCE(excluded.merged_at, merged_at);
