-- New deliveries enter the raw log; a key already there is a repeat and is skipped.
-- RETURNING names the new ones, so only they are merged into the typed tables.
INSERT INTO raw_events
SELECT delivery_key, seq, source, event_type, received_at, headers, body, unmapped
FROM stage_raw
ON CONFLICT DO NOTHING
RETURNING seq;
