-- Export: `change_set_members`, the commits each deployment shipped first (SPEC §3.1),
-- in the month of that deployment, so that a month joins `deploy_facts` whole. Members
-- are derived with their deployment's facts; a member without them has no month, and
-- the export stops naming the table rather than leave it out.
SELECT m.*, strftime(f.finished_at, '%Y-%m') AS month
FROM change_set_members m
LEFT JOIN deploy_facts f ON f.deployment_id = m.deployment_id
