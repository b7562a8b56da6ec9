//! Reading the raw log back, page by page in storage order, for `shiplog replay`.

use duckdb::{Connection, params};
use shiplog_model::Timestamp;
use shiplog_model::time::{from_micros, to_micros};

/// One stored delivery as it was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDelivery {
    pub seq: i64,
    pub delivery_key: String,
    pub source: String,
    pub event_type: String,
    pub received_at: Timestamp,
    /// The headers that matter, as a JSON object.
    pub headers: Option<String>,
    pub body: String,
}

/// Which deliveries to read: all when both are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawFilter {
    pub source: Option<String>,
    pub since: Option<Timestamp>,
}

/// How many deliveries `filter` selects.
pub fn count(conn: &Connection, filter: &RawFilter) -> duckdb::Result<u64> {
    conn.prepare_cached(include_str!("sql/raw_count.sql"))?
        .query_row(params![filter.source, filter.since.map(to_micros)], |row| {
            row.get::<_, i64>(0)
        })
        .map(|n| n as u64)
}

/// Up to `limit` deliveries of `filter` stored after `after_seq`, in storage order.
pub fn page(
    conn: &Connection,
    filter: &RawFilter,
    after_seq: i64,
    limit: usize,
) -> duckdb::Result<Vec<RawDelivery>> {
    conn.prepare_cached(include_str!("sql/raw_page.sql"))?
        .query_map(
            params![
                after_seq,
                filter.source,
                filter.since.map(to_micros),
                limit as i64
            ],
            |row| {
                Ok(RawDelivery {
                    seq: row.get(0)?,
                    delivery_key: row.get(1)?,
                    source: row.get(2)?,
                    event_type: row.get(3)?,
                    received_at: from_micros(row.get(4)?),
                    headers: row.get(5)?,
                    body: row.get(6)?,
                })
            },
        )?
        .collect()
}
