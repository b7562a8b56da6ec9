-- The Four Keys method (github.com/dora-team/fourkeys, `queries/*.sql` and its
-- dashboard) on Shiplog's DuckDB, as the anchor of the scale benchmark: every figure
-- is SQL over raw JSON events at query time. `events_raw` holds one row per stored
-- event with the two fields Four Keys' event handlers set at ingest (`id`,
-- `time_created`) and the payload as text (`metadata`); the views `changes`,
-- `deployments` and `incidents` extract everything else from the JSON on every read,
-- and each figure is one query over them (fourkeys_*.sql beside this file).
--
-- Where Shiplog's events differ from the payloads Four Keys was written for:
--   * a deployment's changes are the change event of its sha (Four Keys joins the
--     push whose id is the deployed commit and takes the push's commit list; typed
--     change events carry no push) plus the commits its explicit `commits` list
--     names (Four Keys' `additional_sha`). Four Keys' `OR` join is written as two
--     equality joins, which DuckDB runs as hash joins where the `OR` would be a
--     nested loop over every pair;
--   * an incident's root cause is its `sha`, else the sha of the deployment it names
--     (Four Keys reads "root cause: <sha>" out of the issue text);
--   * a deployment counts when its status is success (or absent) in `production`,
--     as SPEC §2 reads absent fields; Four Keys filters on its sources' success
--     states.
--   * Shiplog's bundled DuckDB has no `json` extension (turning it on rebuilds
--     DuckDB), so `json_field` reads a string field out of the payload's text with a
--     regular expression; like BigQuery's JSON_EXTRACT_SCALAR it parses the raw
--     text on every read (Four Keys itself reads the root cause with REGEXP_EXTRACT).
-- The figures are therefore not Shiplog's (no graph walk, no attribution window):
-- the benchmark compares what each method costs on the same events, not its values.
CREATE SCHEMA IF NOT EXISTS four_keys;

-- A string field of a compact JSON object: NULL when absent or null.
CREATE OR REPLACE MACRO four_keys.json_field(j, k) AS
    NULLIF(regexp_extract(j, '"' || k || '":"([^"]*)"', 1), '');

CREATE OR REPLACE TABLE four_keys.events_raw AS
SELECT source,
       event_type,
       CASE event_type WHEN 'change' THEN four_keys.json_field(body, 'sha')
                       ELSE four_keys.json_field(body, 'id') END AS id,
       body AS metadata,
       CAST(CASE event_type
                WHEN 'change' THEN four_keys.json_field(body, 'committed_at')
                WHEN 'incident' THEN four_keys.json_field(body, 'opened_at')
                ELSE four_keys.json_field(body, 'finished_at')
            END AS TIMESTAMP) AS time_created
FROM raw_events
WHERE event_type IN ('change', 'deployment', 'incident');

CREATE OR REPLACE VIEW four_keys.changes AS
SELECT id AS change_id, time_created, event_type
FROM four_keys.events_raw
WHERE event_type = 'change'
GROUP BY 1, 2, 3;

CREATE OR REPLACE VIEW four_keys.deployments AS
WITH deploys AS (
    SELECT source,
           id AS deploy_id,
           time_created,
           four_keys.json_field(metadata, 'service') AS service,
           -- The top-level sha: the listed commits' shas come first in the text.
           four_keys.json_field(regexp_replace(metadata, '"commits":\[[^\]]*\]', ''), 'sha') AS main_commit,
           regexp_extract_all(regexp_extract(metadata, '"commits":\[([^\]]*)\]', 1), '"sha":"([^"]*)"', 1) AS additional_commits
    FROM four_keys.events_raw
    WHERE event_type = 'deployment'
      AND COALESCE(four_keys.json_field(metadata, 'status'), 'success') = 'success'
      AND COALESCE(four_keys.json_field(metadata, 'environment'), 'production') = 'production'
),
changes_raw AS (
    SELECT id, metadata AS change_metadata FROM four_keys.events_raw
),
changes AS (
    SELECT d.source, d.deploy_id, d.time_created, d.service, d.main_commit, c.id AS change
    FROM deploys d JOIN changes_raw c ON c.id = d.main_commit
    UNION ALL
    SELECT d.source, d.deploy_id, d.time_created, d.service, d.main_commit, c.id AS change
    FROM (SELECT *, unnest(additional_commits) AS additional FROM deploys) d
    JOIN changes_raw c ON c.id = d.additional
)
SELECT source, deploy_id, time_created, service, main_commit, list(DISTINCT change) AS changes
FROM changes
GROUP BY 1, 2, 3, 4, 5;

CREATE OR REPLACE VIEW four_keys.incidents AS
SELECT issue.source,
       issue.incident_id,
       issue.service,
       min(CASE WHEN root.time_created < issue.time_created THEN root.time_created
                ELSE issue.time_created END) AS time_created,
       max(issue.time_resolved) AS time_resolved,
       list(issue.root_cause) FILTER (WHERE issue.root_cause IS NOT NULL) AS changes
FROM (
    SELECT e.source,
           four_keys.json_field(e.metadata, 'id') AS incident_id,
           four_keys.json_field(e.metadata, 'service') AS service,
           CAST(four_keys.json_field(e.metadata, 'opened_at') AS TIMESTAMP) AS time_created,
           CAST(four_keys.json_field(e.metadata, 'resolved_at') AS TIMESTAMP) AS time_resolved,
           COALESCE(four_keys.json_field(e.metadata, 'sha'),
                    four_keys.json_field(d.metadata, 'sha')) AS root_cause
    FROM four_keys.events_raw e
    LEFT JOIN four_keys.events_raw d
      ON d.event_type = 'deployment' AND d.id = four_keys.json_field(e.metadata, 'deployment_id')
    WHERE e.event_type = 'incident'
) issue
LEFT JOIN (SELECT time_created, unnest(changes) AS change FROM four_keys.deployments) root
  ON root.change = issue.root_cause
GROUP BY 1, 2, 3;
