-- Services that get rows and count in metrics: those with a successful production
-- deployment or an incident stored at any time, with the team carried by their latest
-- deployment that carries one (the config file's map, applied by the caller, wins).
WITH services AS (
    SELECT service FROM deploy_facts UNION SELECT service FROM incidents
),
latest_team AS (
    SELECT service, team FROM (
        SELECT service, team,
               row_number() OVER (PARTITION BY service ORDER BY finished_at DESC, id DESC) AS n
        FROM deployments WHERE team IS NOT NULL)
    WHERE n = 1
)
SELECT s.service, t.team
FROM services s LEFT JOIN latest_team t ON t.service = s.service
ORDER BY s.service;
