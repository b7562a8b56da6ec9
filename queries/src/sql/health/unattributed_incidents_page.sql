-- One page of unattributed incidents, newest first, with why each rule of SPEC §3.4
-- failed, in rule order: (a) the deployment it names is not stored, or is not a
-- successful production deployment; (b) its sha is neither the head nor in the
-- change set of a deployment of its service; (c) no deployment of its service
-- finished before it opened, or the last one finished more than the attribution
-- window ($3 hours) before. Read for the page's rows only.
, page AS (
    SELECT * FROM rows ORDER BY opened_at DESC, id DESC LIMIT $4 OFFSET $5
),
judged AS (
    SELECT p.id, p.service, p.opened_at, i.title, i.resolved_at, i.deployment_id, i.sha,
           EXISTS (SELECT 1 FROM deployments d WHERE d.id = i.deployment_id) AS named_is_stored,
           (SELECT max(f.finished_at) FROM deploy_facts f
            WHERE f.service = p.service AND f.finished_at < p.opened_at) AS last_before
    FROM page p
    JOIN incidents i ON i.id = p.id
)
SELECT id, title, service, epoch_us(opened_at), epoch_us(resolved_at), deployment_id, sha,
       concat_ws('; ',
           CASE WHEN deployment_id IS NULL AND sha IS NULL
                THEN 'names no deployment and no commit' END,
           CASE WHEN deployment_id IS NULL THEN NULL
                WHEN named_is_stored
                THEN 'deployment ' || deployment_id || ' is not a successful production deployment'
                ELSE 'deployment ' || deployment_id || ' is not stored' END,
           CASE WHEN sha IS NOT NULL
                THEN 'commit ' || sha || ' is in no change set of ' || service END,
           CASE WHEN last_before IS NULL
                THEN 'no deployment of ' || service || ' finished before it opened'
                ELSE printf('the last deployment of %s before it finished %.1f h earlier, beyond the %d h window',
                            service,
                            (epoch_us(opened_at) - epoch_us(last_before)) / 3600e6,
                            CAST($3 AS BIGINT)) END)
FROM judged
ORDER BY opened_at DESC, id DESC;
