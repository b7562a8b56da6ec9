-- One page of unmapped deliveries, the newest first.
SELECT epoch_us(received_at), source, event_type, delivery_key, reason
FROM rows
ORDER BY received_at DESC, seq DESC
LIMIT $3 OFFSET $4;
