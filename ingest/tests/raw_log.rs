//! The raw log's `unmapped`: why a stored webhook delivery maps to no typed event
//! (SPEC §6). Set when a delivery that brings no event is stored with a reason, NULL
//! otherwise, cleared by the replay that maps it and replaced by one that still
//! cannot. Real GitHub payloads through the real adapter and batch writer, on a real
//! DuckDB file, both ways a row reaches the log (appended as certainly new by the
//! sole writer, or staged and upserted).

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
        let staging = match path {
            Path::Appended => Staging::for_sole_writer(&conn),
            Path::Upserted => Staging::create(&conn),
        }
        .unwrap();
        Log {
            conn,
            staging,
            next_seq: 1,
            _dir: dir,
        }
    }

    /// Writes one batch in one transaction; returns which deliveries were new.
    fn write(&mut self, deliveries: &[Delivery]) -> Vec<bool> {
        let tx = self.conn.transaction().unwrap();
        let result = self.staging.write(&tx, deliveries, self.next_seq).unwrap();
        tx.commit().unwrap();
        self.next_seq += deliveries.len() as i64;
        result.new
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
