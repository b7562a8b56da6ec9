-- The files each commit of repository ? touched, where a source listed them, joined
-- by the unit separator chr(31) (the push mapping keeps no name with a control
-- character).
SELECT sha, array_to_string(paths, chr(31)) AS paths
FROM changes
WHERE repo = ? AND paths IS NOT NULL;
