//! The keys already stored, kept by the writer as 64-bit hashes, so that it can tell a
//! row that is certainly new from one that may exist. A new row is appended straight
//! to its table; only a row that may exist goes through the upsert (`INSERT … ON
//! CONFLICT`), which costs DuckDB several milliseconds per statement whatever the
//! batch size, and single-event batches are mostly new rows. The raw log has no index
//! on its key (migration 0008), so for it the hash also keeps the `seq` of the stored
//! row: a possible repeat is checked against that row alone.
//!
//! The set never misses a stored key: it is read from the file when the writer starts,
//! and every later write goes through the writer, which adds each key it writes. A
//! hash collision or a rolled-back batch only sends a new row down the upsert path,
//! which is correct for any row. About 10 bytes of memory per stored key, 18 for the
//! raw log's.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use duckdb::Connection;

/// The keyed typed tables (the raw log's keys are kept apart, with their rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Table {
    Changes,
    PullRequests,
    Deployments,
    Incidents,
    Builds,
}

impl Table {
    const ALL: [Table; 5] = [
        Table::Changes,
        Table::PullRequests,
        Table::Deployments,
        Table::Incidents,
        Table::Builds,
    ];

    /// The key columns, as (first, second) with an empty second for one-column keys.
    fn keys_sql(self) -> &'static str {
        match self {
            Table::Changes => "SELECT repo, sha FROM changes",
            Table::PullRequests => "SELECT repo, sha FROM pull_requests",
            Table::Deployments => "SELECT id, '' FROM deployments",
            Table::Incidents => "SELECT id, '' FROM incidents",
            Table::Builds => "SELECT id, '' FROM builds",
        }
    }
}

/// Hashes of the stored keys of each keyed table, and of the raw log's delivery keys
/// with the `seq` of the row that holds each.
#[derive(Debug, Default)]
pub(super) struct KnownKeys {
    sets: [HashSet<u64>; 5],
    deliveries: HashMap<u64, i64>,
}

impl KnownKeys {
    /// Reads every stored key.
    pub(super) fn load(conn: &Connection) -> duckdb::Result<KnownKeys> {
        let mut known = KnownKeys::default();
        let mut statement = conn.prepare("SELECT delivery_key, seq FROM raw_events")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            known.insert_delivery(&key, row.get(1)?);
        }
        for table in Table::ALL {
            let mut statement = conn.prepare(table.keys_sql())?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let first: String = row.get(0)?;
                let second: String = row.get(1)?;
                known.insert(table, &first, &second);
            }
        }
        Ok(known)
    }

    /// Whether the key may be stored: always for a stored key, rarely for a new one.
    pub(super) fn may_exist(&self, table: Table, first: &str, second: &str) -> bool {
        self.sets[table as usize].contains(&hash(first, second))
    }

    /// The `seq` of the stored row that may hold this delivery key: always found for
    /// a stored key, rarely for a new one.
    pub(super) fn delivery_seq(&self, key: &str) -> Option<i64> {
        self.deliveries.get(&hash(key, "")).copied()
    }

    /// Notes that the row `seq` of the raw log holds `key`.
    pub(super) fn insert_delivery(&mut self, key: &str, seq: i64) {
        self.deliveries.insert(hash(key, ""), seq);
    }

    pub(super) fn insert(&mut self, table: Table, first: &str, second: &str) {
        self.sets[table as usize].insert(hash(first, second));
    }

    /// How many keys are held, for the writer's log.
    pub(super) fn len(&self) -> usize {
        self.deliveries.len() + self.sets.iter().map(HashSet::len).sum::<usize>()
    }
}

fn hash(first: &str, second: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    (first, second).hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_are_known_with_the_raw_rows_and_two_part_keys_do_not_run_together() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("migrations/0001_core.sql"))
            .unwrap();
        conn.execute_batch(
            "INSERT INTO changes VALUES ('acme/shop', 'abc', NULL, TIMESTAMP '2026-03-02 10:00:00', NULL, NULL, NULL);
             INSERT INTO deployments (id, service, sha, finished_at) VALUES ('d-1', 'api', 'abc', TIMESTAMP '2026-03-02 11:00:00');
             INSERT INTO raw_events VALUES ('typed:k-1', 7, 'api', 'change', TIMESTAMP '2026-03-02 10:00:00', NULL, '{}');",
        )
        .unwrap();
        let mut known = KnownKeys::load(&conn).unwrap();
        assert_eq!(known.len(), 3);
        assert_eq!(known.delivery_seq("typed:k-1"), Some(7));
        assert_eq!(known.delivery_seq("typed:k-2"), None);
        known.insert_delivery("typed:k-2", 9);
        assert_eq!(known.delivery_seq("typed:k-2"), Some(9));
        assert!(known.may_exist(Table::Changes, "acme/shop", "abc"));
        assert!(!known.may_exist(Table::Changes, "acme/sho", "pabc"));
        assert!(!known.may_exist(Table::PullRequests, "acme/shop", "abc"));
        assert!(known.may_exist(Table::Deployments, "d-1", ""));
        assert!(!known.may_exist(Table::Incidents, "d-1", ""));
        known.insert(Table::Incidents, "i-1", "");
        assert!(known.may_exist(Table::Incidents, "i-1", ""));
    }
}
