-- The files each commit of repository ? touched, where a source listed them, joined
-- by chr(31) (`PATH_SEPARATOR` in shiplog_model::event).
SELECT sha, array_to_string(paths, chr(31)) AS paths
FROM changes
WHERE repo = ? AND paths IS NOT NULL;
