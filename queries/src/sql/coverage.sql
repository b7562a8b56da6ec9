-- What is stored at all, whatever the period, for the dashboard's empty states:
-- successful production deployments, incidents, and the newest deployment's finish.
SELECT (SELECT count(*) FROM deploy_facts),
       (SELECT count(*) FROM incidents),
       (SELECT epoch_us(max(finished_at)) FROM deploy_facts);
