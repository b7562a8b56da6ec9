-- Which commits of `walk_candidates` the walks of service ? reached: its deployments'
-- heads, their change sets, and the rest of what they reached (`walk_reached`).
SELECT sha FROM deploy_facts
WHERE service = $1 AND sha IN (SELECT sha FROM walk_candidates)
UNION
SELECT sha FROM change_set_members
WHERE service = $1 AND sha IN (SELECT sha FROM walk_candidates)
UNION
SELECT sha FROM walk_reached
WHERE service = $1 AND sha IN (SELECT sha FROM walk_candidates);
