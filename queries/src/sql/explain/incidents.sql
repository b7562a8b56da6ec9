-- The rows behind time to restore service: the incidents of `scope` opened in
-- [$1, $2), one row each, with the deployment SPEC §3.4 attributed them to and the
-- rule that did. The page's median is computed from exactly these
-- rows.
WITH rows AS (
    SELECT i.id, i.service, i.opened_at, i.resolved_at,
           (epoch_us(i.resolved_at) - epoch_us(i.opened_at)) / 3600e6 AS hours
    FROM incidents i
    WHERE i.opened_at >= $1 AND i.opened_at < $2
      AND i.service IN (SELECT service FROM scope)
),
