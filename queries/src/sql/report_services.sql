-- Services that get rows and count in metrics: those with a successful production
-- deployment or an incident stored at any time, with the team carried by their latest
-- deployment that carries one (the config file's map, applied by the caller, wins):
-- latest by finish, ties by id (two plain aggregates: one `arg_max` over a
-- (finish, id) pair costs several times more).
WITH services AS (
    SELECT service FROM deploy_facts UNION SELECT service FROM incidents
),
latest AS (
    SELECT service, max(finished_at) AS finished_at
    FROM deployments WHERE team IS NOT NULL
    GROUP BY service
),
latest_team AS (
    SELECT d.service, arg_max(d.team, d.id) AS team
    FROM deployments d JOIN latest l ON l.service = d.service AND l.finished_at = d.finished_at
    WHERE d.team IS NOT NULL
    GROUP BY d.service
)
SELECT s.service, t.team
FROM services s LEFT JOIN latest_team t ON t.service = s.service
ORDER BY s.service;
