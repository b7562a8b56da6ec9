-- One page of the raw log for `shiplog replay`, in storage order: deliveries after
-- seq $1, of source $2 (all when NULL), received at or after $3 µs since the epoch
-- (all when NULL), at most $4 rows.
SELECT seq, delivery_key, source, event_type, epoch_us(received_at), headers, body
FROM raw_events
WHERE seq > $1
  AND ($2::VARCHAR IS NULL OR source = $2::VARCHAR)
  AND ($3::BIGINT IS NULL OR received_at >= make_timestamp($3::BIGINT))
ORDER BY seq
LIMIT $4
