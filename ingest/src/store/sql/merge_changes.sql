-- SPEC §8: a field the update does not carry (NULL) keeps the stored value; a carried
-- list replaces the stored one whole, an empty list included.
INSERT INTO changes
SELECT repo, sha,
       CASE WHEN parents IS NULL THEN NULL
            WHEN parents = '' THEN []::VARCHAR[]
            ELSE string_split(parents, ',') END,
       committed_at, authored_at, author, message,
       CASE WHEN paths IS NULL THEN NULL
            WHEN paths = '' THEN []::VARCHAR[]
            ELSE string_split(paths, chr(31)) END
FROM stage_changes
ON CONFLICT (repo, sha) DO UPDATE SET
    parents      = COALESCE(excluded.parents, parents),
    committed_at = excluded.committed_at,
    authored_at  = COALESCE(excluded.authored_at, authored_at),
    author       = COALESCE(excluded.author, author),
    message      = COALESCE(excluded.message, message),
    paths        = COALESCE(excluded.paths, paths);
