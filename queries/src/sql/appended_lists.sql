-- What a payment appended, for `appended_incidents.sql`: created once per connection
-- and emptied before each use (see `temp.rs`).
CREATE TEMP TABLE IF NOT EXISTS appended_deployments (id VARCHAR, service VARCHAR, finished_at TIMESTAMP);
CREATE TEMP TABLE IF NOT EXISTS appended_shas (service VARCHAR, sha VARCHAR);
CREATE TEMP TABLE IF NOT EXISTS appended_incidents (id VARCHAR);
DELETE FROM appended_deployments;
DELETE FROM appended_shas;
DELETE FROM appended_incidents;
