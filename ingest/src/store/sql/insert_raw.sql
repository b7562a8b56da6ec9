-- New deliveries enter the raw log; a key already there is a repeat and is skipped.
-- The log has no index on its key (migration 0008): each staged row carries the
-- `seq` of the stored row the writer's keys say it may repeat (`stored_seq`), so the
-- usual check reads one row group per row. A staged key no such row holds (no keys at
-- hand, a hash two keys share, a row its batch rolled back) is looked for in the
-- whole log. RETURNING names the new ones, so only they are merged into the typed
-- tables.
INSERT INTO raw_events
WITH pointed AS (
    SELECT r.delivery_key
    FROM raw_events r
    JOIN stage_raw s ON r.seq = s.stored_seq AND r.delivery_key = s.delivery_key
),
unsure AS (
    SELECT delivery_key FROM stage_raw
    WHERE delivery_key NOT IN (SELECT delivery_key FROM pointed)
),
stored AS (
    SELECT delivery_key FROM pointed
    UNION ALL
    SELECT delivery_key FROM raw_events
    WHERE delivery_key IN (SELECT delivery_key FROM unsure)
)
SELECT delivery_key, seq, source, event_type, received_at, headers, body, unmapped
FROM stage_raw
WHERE delivery_key NOT IN (SELECT delivery_key FROM stored)
RETURNING seq;
