-- A replay leaves the raw log as it is but for `unmapped`: cleared when the delivery
-- maps to events now, set to the new reason when it still maps to none. A repeat
-- from the sender changes nothing (its events are not merged either), so only
-- replayed deliveries are staged here. Rows whose reason is unchanged are not
-- rewritten.
UPDATE raw_events r
SET unmapped = s.unmapped
FROM stage_unmapped s
WHERE r.delivery_key = s.delivery_key
  AND r.unmapped IS DISTINCT FROM s.unmapped;
