-- Staging tables of the writer's connection: a batch is appended here, then merged
-- into the keyed tables with one statement per table. Lists travel as text: shas
-- joined by ',' and file paths by chr(31) (`PARENT_SEPARATOR` and `PATH_SEPARATOR`
-- in shiplog_model::event, which say why neither occurs inside an item).
-- `stored_seq`: the row the writer's keys say the delivery may repeat (NULL: unknown).
CREATE TEMP TABLE IF NOT EXISTS stage_raw (
    delivery_key VARCHAR, seq BIGINT, source VARCHAR, event_type VARCHAR,
    received_at TIMESTAMP, headers VARCHAR, body VARCHAR, unmapped VARCHAR,
    stored_seq BIGINT);
-- Replayed deliveries: why each maps to nothing now (NULL: it maps), for the one
-- field of the raw log a replay changes.
CREATE TEMP TABLE IF NOT EXISTS stage_unmapped (delivery_key VARCHAR, unmapped VARCHAR);
CREATE TEMP TABLE IF NOT EXISTS stage_changes (
    repo VARCHAR, sha VARCHAR, parents VARCHAR, committed_at TIMESTAMP,
    authored_at TIMESTAMP, author VARCHAR, message VARCHAR, paths VARCHAR);
CREATE TEMP TABLE IF NOT EXISTS stage_pull_requests (
    repo VARCHAR, sha VARCHAR, number BIGINT, first_commit_at TIMESTAMP,
    opened_at TIMESTAMP, merged_at TIMESTAMP);
CREATE TEMP TABLE IF NOT EXISTS stage_deployments (
    id VARCHAR, service VARCHAR, environment VARCHAR, repo VARCHAR, sha VARCHAR,
    status VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, team VARCHAR,
    has_commit_list BOOLEAN);
CREATE TEMP TABLE IF NOT EXISTS stage_deployment_commits (
    deployment_id VARCHAR, position INTEGER, sha VARCHAR, committed_at TIMESTAMP);
CREATE TEMP TABLE IF NOT EXISTS stage_incidents (
    id VARCHAR, service VARCHAR, opened_at TIMESTAMP, resolved_at TIMESTAMP,
    severity VARCHAR, deployment_id VARCHAR, sha VARCHAR, title VARCHAR,
    opened_at_estimated BOOLEAN);
CREATE TEMP TABLE IF NOT EXISTS stage_builds (
    id VARCHAR, repo VARCHAR, sha VARCHAR, status VARCHAR, branch VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP, provider VARCHAR);
CREATE TEMP TABLE IF NOT EXISTS stage_annotations (
    id VARCHAR, noted_at TIMESTAMP, text VARCHAR, service VARCHAR, team VARCHAR);
