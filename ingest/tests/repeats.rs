//! A delivery is stored once. The raw log has no index on its key (migration 0008):
//! the sole writer tells a repeat apart with the stored keys it holds, each with the
//! row that holds it, and a writer without them looks through the whole log. Real
//! DuckDB files; the writer's keys read again from the file as at a restart; batches
//! rolled back as a failed commit leaves them.

use duckdb::Connection;
use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::store::{Delivery, Staging, Store};
use shiplog_ingest::typed_delivery;

/// A typed change event; its delivery key is the hash of its content.
fn change(sha: &str) -> Delivery {
    let line = format!(
        r#"{{"type":"change","repo":"acme/shop","sha":"{sha}","committed_at":"2026-03-02T10:00:00Z"}}"#
    );
    typed_delivery(
        "api",
        parse_event_text(1, &line).unwrap(),
        chrono::Utc::now(),
    )
}

struct Log {
    conn: Connection,
    staging: Staging,
    sole_writer: bool,
    _dir: tempfile::TempDir,
}

impl Log {
    fn open(sole_writer: bool) -> Log {
        let dir = tempfile::tempdir().unwrap();
        let conn = Store::open(&dir.path().join("repeats.duckdb"))
            .unwrap()
            .into_connection();
        let staging = Log::staging(&conn, sole_writer);
        Log {
            conn,
            staging,
            sole_writer,
            _dir: dir,
        }
    }

    fn staging(conn: &Connection, sole_writer: bool) -> Staging {
        if sole_writer {
            Staging::for_sole_writer(conn).unwrap()
        } else {
            Staging::create(conn).unwrap()
        }
    }

    /// The writer's keys read again from the file, as when it starts.
    fn restart(&mut self) {
        self.staging = Log::staging(&self.conn, self.sole_writer);
    }

    /// Writes one batch from `seq` in one transaction, committed or rolled back;
    /// returns which deliveries were new.
    fn write(&mut self, deliveries: &[Delivery], seq: i64, commit: bool) -> Vec<bool> {
        let tx = self.conn.transaction().unwrap();
        let result = self.staging.write(&tx, deliveries, seq).unwrap();
        if commit {
            tx.commit().unwrap();
        } else {
            tx.rollback().unwrap();
        }
        result.new
    }

    /// `(seq, sha of the change)` of every stored delivery, in storage order.
    fn stored(&self) -> Vec<(i64, String)> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, body FROM raw_events ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| {
            let body: String = r.get(1)?;
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            Ok((r.get(0)?, value["sha"].as_str().unwrap().to_owned()))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }
}

fn stored(rows: &[(i64, &str)]) -> Vec<(i64, String)> {
    rows.iter()
        .map(|(s, sha)| (*s, (*sha).to_owned()))
        .collect()
}

#[test]
fn a_repeat_is_skipped_in_its_batch_in_a_later_one_and_after_a_restart() {
    for sole_writer in [true, false] {
        let mut log = Log::open(sole_writer);
        let (a, b, c, d) = (change("a1"), change("b2"), change("c3"), change("d4"));
        assert_eq!(
            log.write(&[a.clone(), b.clone(), a.clone()], 1, true),
            [true, true, false]
        );
        assert_eq!(log.write(&[b.clone(), c.clone()], 4, true), [false, true]);
        log.restart();
        assert_eq!(
            log.write(&[a, c, d.clone(), d], 6, true),
            [false, false, true, false]
        );
        assert_eq!(
            log.stored(),
            stored(&[(1, "a1"), (2, "b2"), (5, "c3"), (8, "d4")]),
            "sole writer: {sole_writer}"
        );
        let changes: i64 = log
            .conn
            .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(changes, 4);
    }
}

#[test]
fn a_delivery_whose_batch_rolled_back_is_stored_by_its_next_arrival_once() {
    for sole_writer in [true, false] {
        let mut log = Log::open(sole_writer);
        let (k, j) = (change("aa"), change("bb"));
        // Rolled back: the writer holds k's key, pointing at seq 1, which is not stored.
        assert_eq!(log.write(std::slice::from_ref(&k), 1, false), [true]);
        // The failed batch's seq is used again, by another delivery.
        assert_eq!(log.write(std::slice::from_ref(&j), 1, true), [true]);
        assert_eq!(log.write(std::slice::from_ref(&k), 2, true), [true]);
        assert_eq!(log.write(std::slice::from_ref(&k), 3, true), [false]);
        log.restart();
        assert_eq!(log.write(&[k, j], 4, true), [false, false]);
        assert_eq!(
            log.stored(),
            stored(&[(1, "bb"), (2, "aa")]),
            "sole writer: {sole_writer}"
        );
    }
}
