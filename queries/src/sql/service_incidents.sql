-- The incidents of service $1 open at any time in [$2, $3) (opened before the end,
-- not resolved before the start), with the deployment SPEC §3.4 attributed each to
-- and the rule (a, b, c; NULL when unattributed).
SELECT i.id, i.title, i.severity, epoch_us(i.opened_at), epoch_us(i.resolved_at),
       a.deployment_id, a.rule
FROM incidents i
LEFT JOIN incident_attribution a ON a.incident_id = i.id
WHERE i.service = $1 AND i.opened_at < $3 AND (i.resolved_at IS NULL OR i.resolved_at >= $2)
ORDER BY i.opened_at, i.id;
