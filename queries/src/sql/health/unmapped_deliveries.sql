-- Unmapped deliveries: the webhook deliveries of the raw log received in [$1, $2)
-- that mapped to no typed event, with the reason (`raw_events.unmapped`: set when
-- such a delivery is stored, cleared by the `shiplog replay` that maps it). By
-- `received_at`, the time Shiplog stored it. Not filtered by service or team: a
-- delivery that could not be mapped names no service Shiplog knows.
WITH rows AS (
    SELECT seq, received_at, source, event_type, delivery_key, unmapped AS reason
    FROM raw_events
    WHERE unmapped IS NOT NULL
      AND received_at >= $1 AND received_at < $2
)
