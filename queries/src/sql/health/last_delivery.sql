-- The newest delivery of each source of the raw log (`received_at`) and how many it
-- holds, newest first, whatever the period or filter: a sender that stopped shows as
-- a source whose newest delivery is old.
SELECT source, epoch_us(max(received_at)) AS newest, count(*)
FROM raw_events
GROUP BY source
ORDER BY newest DESC, source;
