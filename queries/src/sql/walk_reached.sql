-- Which commits of `walk_candidates` the walks of service ? reached: its deployments'
-- heads, their change sets, and the rest of what they reached (`walk_reached`). Each
-- table's rows of the service first, as in `stored_heads.sql` (9.8 ms → 5.9 ms).
WITH heads AS MATERIALIZED (SELECT sha FROM deploy_facts WHERE service = $1),
     members AS MATERIALIZED (SELECT sha FROM change_set_members WHERE service = $1),
     reached AS MATERIALIZED (SELECT sha FROM walk_reached WHERE service = $1)
SELECT sha FROM heads WHERE sha IN (SELECT sha FROM walk_candidates)
UNION
SELECT sha FROM members WHERE sha IN (SELECT sha FROM walk_candidates)
UNION
SELECT sha FROM reached WHERE sha IN (SELECT sha FROM walk_candidates);
