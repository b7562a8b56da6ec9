-- Incident attribution, SPEC §3.4, for the incidents in `incidents_to_attribute`.
-- The first rule that applies wins:
--   a. `deployment_id` names a stored (successful, production) deployment, any service;
--   b. `sha` is the head of, or in the change set of, a deployment of the incident's
--      service: the earliest such deployment;
--   c. the latest deployment of the service that finished strictly before `opened_at`,
--      at most `attribution_window_hours` (parameter 1) before, inclusive;
--   d. otherwise unattributed.
-- Ties in finished_at are broken by deployment id in plain string order (SPEC §8).
INSERT INTO incident_attribution
WITH todo AS (
    SELECT i.* FROM incidents i WHERE i.id IN (SELECT id FROM incidents_to_attribute)
),
rule_a AS (
    SELECT t.id, f.deployment_id
    FROM todo t JOIN deploy_facts f ON f.deployment_id = t.deployment_id
),
candidates_b AS (
    SELECT t.id, f.deployment_id, f.finished_at
    FROM todo t JOIN deploy_facts f ON f.service = t.service AND f.sha = t.sha
    UNION
    SELECT t.id, f.deployment_id, f.finished_at
    FROM todo t
    JOIN change_set_members m ON m.service = t.service AND m.sha = t.sha
    JOIN deploy_facts f ON f.deployment_id = m.deployment_id
),
rule_b AS (
    SELECT id, deployment_id FROM (
        SELECT id, deployment_id,
               row_number() OVER (PARTITION BY id ORDER BY finished_at, deployment_id) AS n
        FROM candidates_b)
    WHERE n = 1
),
rule_c AS (
    SELECT id, deployment_id FROM (
        SELECT t.id, f.deployment_id,
               row_number() OVER (PARTITION BY t.id ORDER BY f.finished_at DESC, f.deployment_id DESC) AS n
        FROM todo t JOIN deploy_facts f
          ON f.service = t.service
         AND f.finished_at < t.opened_at
         AND f.finished_at >= t.opened_at - to_hours(CAST(? AS BIGINT)))
    WHERE n = 1
)
SELECT t.id,
       t.service,
       COALESCE(a.deployment_id, b.deployment_id, c.deployment_id),
       CASE WHEN a.deployment_id IS NOT NULL THEN 'a'
            WHEN b.deployment_id IS NOT NULL THEN 'b'
            WHEN c.deployment_id IS NOT NULL THEN 'c' END
FROM todo t
LEFT JOIN rule_a a ON a.id = t.id
LEFT JOIN rule_b b ON b.id = t.id
LEFT JOIN rule_c c ON c.id = t.id;
