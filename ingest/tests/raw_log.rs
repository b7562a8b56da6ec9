//! The raw log, on a real DuckDB file, both ways a row reaches it (appended as
//! certainly new by the sole writer, or staged and upserted):
//!
//! - a delivery is stored once. The log has no index on its key (migration 0008): the
//!   sole writer tells a repeat apart with the stored keys it holds, each with the row
//!   that holds it, and a writer without them looks through the whole log; the
//!   writer's keys are read again from the file as at a restart, and batches are
//!   rolled back as a failed commit leaves them;
//! - `unmapped`: why a stored webhook delivery maps to no typed event (SPEC §6). Set
//!   when a delivery that brings no event is stored with a reason, NULL otherwise,
//!   cleared by the replay that maps it and replaced by one that still cannot. Real
//!   GitHub payloads through the real adapter and batch writer.

mod common;

use std::collections::BTreeMap;

use common::{fixture_json, headers, to_body};
use duckdb::Connection;
use serde_json::{Value, json};
use shiplog_ingest::remap::remap;
use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::sources::{Incoming, Routing, Source, map};
use shiplog_ingest::store::raw_log::{self, RawFilter};
use shiplog_ingest::store::{Delivery, Staging, Store};
use shiplog_ingest::{typed_delivery, webhook_delivery};
use shiplog_model::ServiceSettings;

const REPO: &str = "Codertocat/Hello-World";

/// A service map in which `services` all claim the fixtures' repository, none by a
/// deploy name: with two, a deployment of it cannot be placed.
fn claimed_by(services: &[&str]) -> Routing {
    let mut routing = Routing::default();
    for name in services {
        routing.services.insert(
            (*name).to_owned(),
            ServiceSettings {
                repo: Some(REPO.into()),
                ..ServiceSettings::default()
            },
        );
    }
    routing
}

/// A GitHub delivery mapped by the real adapter, as the webhook route records it.
fn github(event: &str, id: &str, body: &Value, routing: &Routing) -> Delivery {
    let kept = headers(&[("x-github-event", event), ("x-github-delivery", id)]);
    let body = String::from_utf8(to_body(body)).unwrap();
    let mapping = map(
        Source::Github,
        &Incoming {
            headers: &kept,
            body: body.as_bytes(),
        },
        routing,
    )
    .unwrap();
    webhook_delivery(Source::Github, &kept, body, mapping, chrono::Utc::now())
}

fn deployment_status() -> Value {
    fixture_json("github", "octokit-webhooks/deployment_status/payload.json")
}

fn ping() -> Value {
    fixture_json("github", "octokit-webhooks/ping/payload.json")
}

/// The writer's two ways into the raw log.
#[derive(Debug, Clone, Copy)]
enum Path {
    /// The sole writer appends rows whose key is certainly new.
    Appended,
    /// Without the stored keys every row is staged and upserted.
    Upserted,
}

struct Log {
    conn: Connection,
    path: Path,
    staging: Staging,
    next_seq: i64,
    _dir: tempfile::TempDir,
}

impl Log {
    fn open(path: Path) -> Log {
        let dir = tempfile::tempdir().unwrap();
        let conn = Store::open(&dir.path().join("raw.duckdb"))
            .unwrap()
            .into_connection();
        let staging = Log::staging(&conn, path);
        Log {
            conn,
            path,
            staging,
            next_seq: 1,
            _dir: dir,
        }
    }

    fn staging(conn: &Connection, path: Path) -> Staging {
        match path {
            Path::Appended => Staging::for_sole_writer(conn),
            Path::Upserted => Staging::create(conn),
        }
        .unwrap()
    }

    /// The writer's keys read again from the file, as when it starts.
    fn restart(&mut self) {
        self.staging = Log::staging(&self.conn, self.path);
    }

    /// Writes one batch in one transaction; returns which deliveries were new.
    fn write(&mut self, deliveries: &[Delivery]) -> Vec<bool> {
        let new = self.write_from(deliveries, self.next_seq, true);
        self.next_seq += deliveries.len() as i64;
        new
    }

    /// Writes one batch from `seq` in one transaction, committed or rolled back;
    /// returns which deliveries were new.
    fn write_from(&mut self, deliveries: &[Delivery], seq: i64, commit: bool) -> Vec<bool> {
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
            let value: Value = serde_json::from_str(&body).unwrap();
            Ok((r.get(0)?, value["sha"].as_str().unwrap().to_owned()))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// Each stored delivery's key and reason, by key.
    fn unmapped(&self) -> BTreeMap<String, Option<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT delivery_key, unmapped FROM raw_events")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn reason(&self, key: &str) -> Option<String> {
        self.unmapped()
            .remove(key)
            .unwrap_or_else(|| panic!("{key} is not stored"))
    }

    fn deployments(&self) -> i64 {
        self.conn
            .query_row("SELECT count(*) FROM deployments", [], |r| r.get(0))
            .unwrap()
    }

    /// Every stored delivery mapped again with `routing`, as `shiplog replay` does.
    fn replay(&mut self, routing: &Routing) {
        let raws = raw_log::page(&self.conn, &RawFilter::default(), 0, 1000).unwrap();
        let deliveries: Vec<Delivery> = raws.iter().map(|r| remap(r, routing).unwrap()).collect();
        self.write(&deliveries);
    }
}

#[test]
fn a_delivery_that_maps_to_nothing_is_stored_with_the_reason_and_others_without() {
    for path in [Path::Appended, Path::Upserted] {
        let mut log = Log::open(path);
        let monorepo = claimed_by(&["checkout", "search"]);
        let typed = parse_event_text(
            1,
            r#"{"type":"deployment","id":"d1","service":"shop","sha":"abc","finished_at":"2026-03-02T11:00:00Z"}"#,
        )
        .unwrap();
        let new = log.write(&[
            github(
                "deployment_status",
                "placed-nowhere",
                &deployment_status(),
                &monorepo,
            ),
            github(
                "deployment_status",
                "placed",
                &deployment_status(),
                &claimed_by(&["checkout"]),
            ),
            github("ping", "hello", &ping(), &monorepo),
            typed_delivery("api", typed, chrono::Utc::now()),
        ]);
        assert_eq!(new, [true; 4], "{path:?}");

        let stored = log.unmapped();
        let reason = stored["github:placed-nowhere"].as_deref().unwrap();
        assert!(
            reason.contains("several services (checkout, search)"),
            "{path:?}: {reason}"
        );
        assert_eq!(stored["github:placed"], None, "{path:?}: it mapped");
        assert_eq!(
            stored["github:hello"], None,
            "{path:?}: a ping brings nothing by design"
        );
        let typed_keys: Vec<_> = stored
            .keys()
            .filter(|k| !k.starts_with("github:"))
            .collect();
        assert_eq!(typed_keys.len(), 1, "{path:?}");
        assert_eq!(
            stored[typed_keys[0]], None,
            "{path:?}: a typed event is mapped"
        );
        assert_eq!(log.deployments(), 2, "{path:?}: d1 and the placed one");
    }
}

#[test]
fn a_replay_that_maps_the_delivery_clears_its_reason() {
    for path in [Path::Appended, Path::Upserted] {
        let mut log = Log::open(path);
        log.write(&[github(
            "deployment_status",
            "r-1",
            &deployment_status(),
            &claimed_by(&["checkout", "search"]),
        )]);
        assert!(log.reason("github:r-1").is_some(), "{path:?}");
        assert_eq!(log.deployments(), 0);

        log.replay(&claimed_by(&["checkout"]));
        assert_eq!(log.reason("github:r-1"), None, "{path:?}");
        assert_eq!(
            log.deployments(),
            1,
            "{path:?}: the replay merged its event"
        );
    }
}

#[test]
fn a_replay_that_still_cannot_map_the_delivery_records_the_new_reason() {
    let mut log = Log::open(Path::Appended);
    log.write(&[github(
        "deployment_status",
        "r-1",
        &deployment_status(),
        &claimed_by(&["checkout", "search"]),
    )]);
    log.replay(&claimed_by(&["checkout", "search", "cart"]));
    let reason = log.reason("github:r-1").unwrap();
    assert!(
        reason.contains("several services (cart, checkout, search)"),
        "{reason}"
    );

    // Mapped once, then unplaceable again under a later config: listed again.
    log.replay(&claimed_by(&["checkout"]));
    assert_eq!(log.reason("github:r-1"), None);
    log.replay(&claimed_by(&["checkout", "search"]));
    assert!(log.reason("github:r-1").is_some());
}

#[test]
fn a_sender_repeat_changes_nothing_so_the_reason_stays_until_a_replay() {
    let mut log = Log::open(Path::Appended);
    let body = deployment_status();
    log.write(&[github(
        "deployment_status",
        "r-1",
        &body,
        &claimed_by(&["checkout", "search"]),
    )]);
    // GitHub redelivers the same delivery id after the config was fixed: a repeat,
    // whose events are not merged, so the stored delivery is still unmapped.
    let again = github(
        "deployment_status",
        "r-1",
        &body,
        &claimed_by(&["checkout"]),
    );
    assert!(!again.events.is_empty());
    assert_eq!(log.write(&[again]), [false]);
    assert!(log.reason("github:r-1").is_some());
    assert_eq!(log.deployments(), 0);
}

#[test]
fn a_replayed_key_repeated_in_one_batch_keeps_its_last_reason() {
    let mut log = Log::open(Path::Upserted);
    let body = deployment_status();
    log.write(&[github(
        "deployment_status",
        "r-1",
        &body,
        &claimed_by(&["checkout", "search"]),
    )]);
    let raw = raw_log::page(&log.conn, &RawFilter::default(), 0, 10)
        .unwrap()
        .remove(0);
    let unplaced = remap(&raw, &claimed_by(&["checkout", "search", "cart"])).unwrap();
    let placed = remap(&raw, &claimed_by(&["checkout"])).unwrap();
    log.write(&[unplaced.clone(), placed, unplaced]);
    let reason = log.reason("github:r-1").unwrap();
    assert!(reason.contains("cart"), "{reason}");
}

#[test]
fn a_push_to_a_branch_with_commits_maps_and_a_tag_push_is_listed_with_its_reason() {
    let mut log = Log::open(Path::Appended);
    let mut tag = fixture_json("github", "reallyfastci/webhook-push-to-master.json");
    tag["ref"] = json!("refs/tags/v1.0.0");
    let push = fixture_json("github", "reallyfastci/webhook-push-to-master.json");
    log.write(&[
        github("push", "p-1", &push, &Routing::default()),
        github("push", "p-2", &tag, &Routing::default()),
    ]);
    assert_eq!(log.reason("github:p-1"), None);
    let reason = log.reason("github:p-2").unwrap();
    assert!(reason.contains("tag v1.0.0"), "{reason}");
}

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

fn stored(rows: &[(i64, &str)]) -> Vec<(i64, String)> {
    rows.iter()
        .map(|(s, sha)| (*s, (*sha).to_owned()))
        .collect()
}

#[test]
fn a_repeat_is_skipped_in_its_batch_in_a_later_one_and_after_a_restart() {
    for path in [Path::Appended, Path::Upserted] {
        let mut log = Log::open(path);
        let (a, b, c, d) = (change("a1"), change("b2"), change("c3"), change("d4"));
        assert_eq!(
            log.write_from(&[a.clone(), b.clone(), a.clone()], 1, true),
            [true, true, false]
        );
        assert_eq!(
            log.write_from(&[b.clone(), c.clone()], 4, true),
            [false, true]
        );
        log.restart();
        assert_eq!(
            log.write_from(&[a, c, d.clone(), d], 6, true),
            [false, false, true, false]
        );
        assert_eq!(
            log.stored(),
            stored(&[(1, "a1"), (2, "b2"), (5, "c3"), (8, "d4")]),
            "{path:?}"
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
    for path in [Path::Appended, Path::Upserted] {
        let mut log = Log::open(path);
        let (k, j) = (change("aa"), change("bb"));
        // Rolled back: the writer holds k's key, pointing at seq 1, which is not stored.
        assert_eq!(log.write_from(std::slice::from_ref(&k), 1, false), [true]);
        // The failed batch's seq is used again, by another delivery.
        assert_eq!(log.write_from(std::slice::from_ref(&j), 1, true), [true]);
        assert_eq!(log.write_from(std::slice::from_ref(&k), 2, true), [true]);
        assert_eq!(log.write_from(std::slice::from_ref(&k), 3, true), [false]);
        log.restart();
        assert_eq!(log.write_from(&[k, j], 4, true), [false, false]);
        assert_eq!(log.stored(), stored(&[(1, "bb"), (2, "aa")]), "{path:?}");
    }
}
