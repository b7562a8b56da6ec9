-- How many deliveries a replay with these filters will read (see raw_page.sql).
SELECT count(*)
FROM raw_events
WHERE ($1::VARCHAR IS NULL OR source = $1::VARCHAR)
  AND ($2::BIGINT IS NULL OR received_at >= make_timestamp($2::BIGINT))
