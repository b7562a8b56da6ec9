-- The raw log without an index on its key. DuckDB keeps a PRIMARY KEY as an ART
-- index, held in memory and written again at checkpoints: measured on an import into
-- a 1.4 M-event log, it cost half of the import's time, and more as the log grew
-- (docs/performance.md). The writer tells a repeat from a new delivery with the keys
-- it holds (`store/known.rs`: each stored key's hash with the `seq` of its row, so
-- checking a possible repeat reads one row group, `sql/insert_raw.sql`). Only the
-- writer writes the raw log; the file lock keeps every other process out.
CREATE TABLE raw_events_unindexed (
    delivery_key VARCHAR NOT NULL,
    seq          BIGINT NOT NULL,
    source       VARCHAR NOT NULL,
    event_type   VARCHAR NOT NULL,
    received_at  TIMESTAMP NOT NULL,
    headers      VARCHAR,
    body         VARCHAR NOT NULL,
    unmapped     VARCHAR
);
INSERT INTO raw_events_unindexed
SELECT delivery_key, seq, source, event_type, received_at, headers, body, unmapped
FROM raw_events
ORDER BY seq;
DROP TABLE raw_events;
ALTER TABLE raw_events_unindexed RENAME TO raw_events;
