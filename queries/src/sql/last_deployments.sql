-- Each service's newest deployment (successful, production: a row of
-- `deployment_outcomes`) finished before $1, the end of the window the figures are
-- for, as microseconds since the Unix epoch: when it last deployed, whether or not
-- that was inside the window. A service that never deployed has no row.
SELECT service, epoch_us(max(finished_at))
FROM deployment_outcomes
WHERE finished_at < $1
GROUP BY service;
