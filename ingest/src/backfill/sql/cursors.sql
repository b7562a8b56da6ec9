-- The cursors of stored backfill pages of one list, latest first: deliveries of
-- source $1 whose event type (the list) is $2. A page's cursor is its headers (a JSON
-- object: repo, since, page, mode, stop_at, newest, last); the caller keeps the first
-- one whose repository and `since` match, reading the JSON in Rust because the bundled
-- DuckDB is built without its JSON extension.
SELECT headers
FROM raw_events
WHERE source = $1
  AND event_type = $2
  AND headers IS NOT NULL
ORDER BY seq DESC
