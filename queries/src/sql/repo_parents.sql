-- A repository's stored commits and their parents, for walks of its graph that need
-- nothing else (how many commits one sha lacks of another).
SELECT sha, array_to_string(parents, ',') FROM changes WHERE repo = $1;
