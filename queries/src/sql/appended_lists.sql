-- What a payment appended, for `appended_incidents.sql` (beside `appended_incidents`,
-- which `temp::set_list` fills): created once per connection and emptied before each
-- use (see `temp.rs`).
CREATE TEMP TABLE IF NOT EXISTS appended_deployments (id VARCHAR, service VARCHAR, finished_at TIMESTAMP);
CREATE TEMP TABLE IF NOT EXISTS appended_shas (service VARCHAR, sha VARCHAR);
DELETE FROM appended_deployments;
DELETE FROM appended_shas;
