-- The rows behind deployment frequency, change failure rate, rework rate and (with
-- `$3` true: failed deployments only) failed deployment recovery time: the
-- successful production deployments of `scope` finishing in [$1, $2), one row each,
-- with what SPEC §3 derived for them. The page's figure is computed from exactly
-- these rows (`rows`), so the two cannot disagree.
WITH rows AS (
    SELECT o.deployment_id, o.service, o.finished_at, o.failed, o.failure_cause,
           o.recovered_at, o.rework,
           CASE WHEN o.failed AND o.recovered_at IS NOT NULL
                THEN (epoch_us(o.recovered_at) - epoch_us(o.finished_at)) / 3600e6 END AS hours
    FROM deployment_outcomes o
    WHERE o.finished_at >= $1 AND o.finished_at < $2
      AND o.service IN (SELECT service FROM scope)
      AND (NOT $3 OR o.failed)
),
