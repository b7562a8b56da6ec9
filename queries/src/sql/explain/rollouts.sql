-- The rows behind aborted rollouts: the successful production deployments of `scope`
-- finishing in [$1, $2) (the rollouts that completed) and its production attempts
-- with status `aborted` finishing in it (production being the environments of
-- `aborted_production`), one row each. The page's figure, aborted ÷ all rows, is
-- computed from exactly these rows (`rows`), as `figures.sql` counts them.
WITH rows AS (
    SELECT o.deployment_id, o.service, o.finished_at, false AS aborted
    FROM deployment_outcomes o
    WHERE o.finished_at >= $1 AND o.finished_at < $2
      AND o.service IN (SELECT service FROM scope)
    UNION ALL
    SELECT d.id, d.service, d.finished_at, true
    FROM deployments d
    WHERE d.finished_at >= $1 AND d.finished_at < $2 AND d.status = 'aborted'
      AND COALESCE(d.environment, '') IN (SELECT environment FROM aborted_production)
      AND d.service IN (SELECT service FROM scope)
),
