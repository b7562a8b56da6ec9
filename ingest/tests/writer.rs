//! The writer's derived-facts debt: batches are answered once committed and owe the
//! derivation of what they touched; the debt is paid once for many batches (on a
//! reader's request, when idle, at shutdown), survives a failed payment and a stop,
//! and is paid at the next start, by the settler, before `spawn` returns. On a real
//! DuckDB file.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::store::{
    Delivery, Refresh, RefreshError, StartFailure, Store, Submission, Touched, WriteError,
    WriteFailure, Writer, WriterOptions, pending,
};
use shiplog_ingest::typed_delivery;
use shiplog_model::{RepoName, ServiceName};

/// Records every payment it is asked for; fails while `fail` is set, and its
/// start-up check while `stale_fails` is set.
#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Touched>>>,
    fail: Arc<Mutex<bool>>,
    /// Panics in `refresh` while set, as a bug in the derivation would.
    panics: Arc<Mutex<bool>>,
    stale_fails: Arc<Mutex<bool>>,
    steps: Arc<Mutex<Vec<Step>>>,
}

/// A call, `bring_current` or `refresh`, with the name of the thread it ran on.
type Step = (&'static str, Option<String>);

impl Recorder {
    fn calls(&self) -> Vec<Touched> {
        self.calls.lock().unwrap().clone()
    }

    fn steps(&self) -> Vec<Step> {
        self.steps.lock().unwrap().clone()
    }

    fn step(&self, name: &'static str) {
        let thread = std::thread::current().name().map(str::to_owned);
        self.steps.lock().unwrap().push((name, thread));
    }
}

impl Refresh for Recorder {
    fn refresh(&mut self, _: &duckdb::Connection, touched: &Touched) -> Result<(), RefreshError> {
        self.step("refresh");
        if *self.panics.lock().unwrap() {
            panic!("the derivation panicked on purpose");
        }
        if *self.fail.lock().unwrap() {
            return Err("derivation failed on purpose".into());
        }
        // As services and repositories: which rows were new is the derivation's concern.
        self.calls.lock().unwrap().push(touched.coarse());
        Ok(())
    }

    fn bring_current(&mut self, _: &duckdb::Connection) -> Result<bool, RefreshError> {
        self.step("bring_current");
        if *self.stale_fails.lock().unwrap() {
            return Err("settings check failed on purpose".into());
        }
        Ok(false)
    }
}

/// Settles only when asked or at shutdown.
fn patient() -> WriterOptions {
    WriterOptions {
        settle_idle: Duration::from_secs(3600),
        settle_every: Duration::from_secs(3600),
        ..WriterOptions::default()
    }
}

fn deployment(id: &str, service: &str) -> Submission {
    let text = format!(
        r#"{{"type":"deployment","id":"{id}","service":"{service}","environment":"production","repo":"acme/shop","sha":"aaaaaaa","finished_at":"2026-03-02T11:00:00Z"}}"#
    );
    event(&text)
}

fn change(sha: &str) -> Submission {
    let text = format!(
        r#"{{"type":"change","repo":"acme/shop","sha":"{sha}","committed_at":"2026-03-02T10:00:00Z"}}"#
    );
    event(&text)
}

fn event(text: &str) -> Submission {
    let parsed = parse_event_text(1, text).unwrap();
    Submission {
        deliveries: vec![typed_delivery("api", parsed, chrono::Utc::now())],
    }
}

fn owed(names: &[&str], repos: &[&str]) -> Touched {
    Touched {
        services: names
            .iter()
            .map(|s| ServiceName::parse(s).unwrap())
            .collect(),
        repos: repos.iter().map(|s| RepoName::parse(s).unwrap()).collect(),
        ..Touched::default()
    }
}

struct Opened {
    writer: Writer,
    reader: duckdb::Connection,
}

fn open(path: &std::path::Path, refresh: &Recorder, options: WriterOptions) -> Opened {
    let store = Store::open(path).unwrap();
    let reader = store.reader().unwrap();
    let writer =
        Writer::spawn(store.into_connection(), Box::new(refresh.clone()), options).unwrap();
    Opened { writer, reader }
}

#[tokio::test]
async fn batches_owe_their_derivation_until_a_reader_settles_once_for_all() {
    let dir = tempfile::tempdir().unwrap();
    let refresh = Recorder::default();
    let db = open(&dir.path().join("w.duckdb"), &refresh, patient());

    let outcome = db.writer.submit(deployment("d-1", "api")).await.unwrap();
    assert_eq!(outcome.accepted, 1);
    db.writer.submit(deployment("d-2", "web")).await.unwrap();
    db.writer.submit(change("bbbbbbb")).await.unwrap();

    // Committed and answered, not yet derived: the debt is on disk.
    let stored: i64 = db
        .reader
        .query_row("SELECT count(*) FROM deployments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 2);
    assert!(refresh.calls().is_empty());
    let expected = owed(&["api", "web"], &["acme/shop"]);
    assert_eq!(pending::load(&db.reader).unwrap(), expected);

    db.writer.settle().await.unwrap();
    assert_eq!(refresh.calls(), [expected], "one payment for three batches");
    assert!(pending::load(&db.reader).unwrap().is_empty());

    // Nothing owed: settling again derives nothing.
    db.writer.settle().await.unwrap();
    assert_eq!(refresh.calls().len(), 1);
    // A repeat stores nothing and owes nothing.
    let repeat = db.writer.submit(deployment("d-1", "api")).await.unwrap();
    assert_eq!(repeat.duplicates, 1);
    db.writer.settle().await.unwrap();
    assert_eq!(refresh.calls().len(), 1);
    db.writer.shutdown();
}

#[tokio::test]
async fn an_idle_writer_settles_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let refresh = Recorder::default();
    let options = WriterOptions {
        settle_idle: Duration::ZERO,
        settle_every: Duration::from_secs(3600),
        ..WriterOptions::default()
    };
    let db = open(&dir.path().join("w.duckdb"), &refresh, options);
    db.writer.submit(deployment("d-1", "api")).await.unwrap();
    // No reader asks: the writer pays as soon as no request waits.
    while db
        .writer
        .stats()
        .settles
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        tokio::task::yield_now().await;
    }
    assert_eq!(refresh.calls(), [owed(&["api"], &[])]);
    db.writer.shutdown();
}

/// A settler that dies (a panic in the derivation) leaves no reader waiting forever
/// and is reported, so the liveness probe can have the server restarted.
#[tokio::test]
async fn a_settler_that_panics_is_reported_and_nobody_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let failing = Recorder::default();
    let db = open(&dir.path().join("w.duckdb"), &failing, patient());
    let health = db.writer.health();
    assert!(health.running && !health.storage_failing && !health.derivation_failing);

    *failing.panics.lock().unwrap() = true;
    db.writer.submit(deployment("d-1", "api")).await.unwrap();
    let error = tokio::time::timeout(Duration::from_secs(30), db.writer.settle())
        .await
        .expect("a read is answered, not left waiting")
        .unwrap_err();
    assert!(matches!(error, WriteError::Stopped), "{error:?}");
    assert!(!db.writer.health().running);
    // The batch thread still stores events: the debt waits on disk for a restart.
    db.writer.submit(deployment("d-2", "web")).await.unwrap();
    assert!(matches!(
        db.writer.settle().await.unwrap_err(),
        WriteError::Stopped
    ));
    db.writer.shutdown();
}

/// A failed payment is reported by `health` until the next one succeeds.
#[tokio::test]
async fn a_failed_payment_is_reported_until_one_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let failing = Recorder::default();
    *failing.fail.lock().unwrap() = true;
    let db = open(&dir.path().join("w.duckdb"), &failing, patient());
    db.writer.submit(deployment("d-1", "api")).await.unwrap();
    db.writer.settle().await.unwrap_err();
    let health = db.writer.health();
    assert!(health.running && health.derivation_failing, "{health:?}");
    *failing.fail.lock().unwrap() = false;
    db.writer.submit(deployment("d-2", "api")).await.unwrap();
    db.writer.settle().await.unwrap();
    assert!(!db.writer.health().derivation_failing);
    db.writer.shutdown();
}

#[tokio::test]
async fn a_failed_derivation_keeps_the_debt_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.duckdb");
    let failing = Recorder::default();
    *failing.fail.lock().unwrap() = true;
    let db = open(&path, &failing, patient());

    db.writer.submit(deployment("d-1", "api")).await.unwrap();
    let error = db.writer.settle().await.unwrap_err();
    assert!(
        matches!(&error, WriteError::Storage(WriteFailure::Derivation(e)) if e.to_string().contains("failed on purpose")),
        "{error:?}"
    );
    // The writer still takes events, and still owes both batches.
    db.writer.submit(deployment("d-2", "web")).await.unwrap();
    db.writer.shutdown();
    drop(db);

    let conn = Store::open(&path).unwrap().into_connection();
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM deployments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 2, "the events were kept");
    let expected = owed(&["api", "web"], &[]);
    assert_eq!(pending::load(&conn).unwrap(), expected);
    drop(conn);

    // The next start pays it before `spawn` returns, unasked.
    let next = Recorder::default();
    let db = open(&path, &next, patient());
    assert_eq!(next.calls(), [expected]);
    assert!(pending::load(&db.reader).unwrap().is_empty());
    db.writer.shutdown();
    drop(db);
    let again = Recorder::default();
    let db = open(&path, &again, patient());
    assert!(again.calls().is_empty(), "nothing was owed");
    db.writer.shutdown();
}

fn settler() -> Option<String> {
    Some("shiplog-settler".to_owned())
}

/// A file whose `derivation_pending` records `service` as owed, as a stopped writer
/// leaves it.
fn stopped_owing(path: &std::path::Path, service: &str) {
    let conn = Store::open(path).unwrap().into_connection();
    conn.execute(
        "INSERT INTO derivation_pending VALUES ('service', ?)",
        [service],
    )
    .unwrap();
}

#[tokio::test]
async fn the_settler_brings_facts_current_then_pays_the_recorded_debt_before_spawn_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.duckdb");
    stopped_owing(&path, "api");
    let refresh = Recorder::default();
    let db = open(&path, &refresh, patient());
    // No settle, no submission: the start-up work is done, in order, on the settler.
    assert_eq!(
        refresh.steps(),
        [("bring_current", settler()), ("refresh", settler())]
    );
    assert_eq!(refresh.calls(), [owed(&["api"], &[])]);
    assert!(pending::load(&db.reader).unwrap().is_empty());
    db.writer.submit(deployment("d-1", "web")).await.unwrap();
    db.writer.settle().await.unwrap();
    assert_eq!(refresh.steps().last(), Some(&("refresh", settler())));
    db.writer.shutdown();
}

#[test]
fn a_failed_start_up_fails_spawn_and_keeps_the_debt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.duckdb");
    stopped_owing(&path, "api");
    let spawn = |refresh: &Recorder| {
        let store = Store::open(&path).unwrap();
        Writer::spawn(
            store.into_connection(),
            Box::new(refresh.clone()),
            patient(),
        )
    };

    let stale = Recorder::default();
    *stale.stale_fails.lock().unwrap() = true;
    let error = spawn(&stale).unwrap_err();
    assert!(
        matches!(&error, StartFailure::Current(e) if e.to_string().contains("settings check failed")),
        "{error:?}"
    );
    assert_eq!(
        stale.steps(),
        [("bring_current", settler())],
        "nothing paid"
    );

    let failing = Recorder::default();
    *failing.fail.lock().unwrap() = true;
    let error = spawn(&failing).unwrap_err();
    assert!(
        matches!(&error, StartFailure::Owed(WriteFailure::Derivation(e)) if e.to_string().contains("failed on purpose")),
        "{error:?}"
    );

    // Both failures left the file free and the debt recorded.
    let conn = Store::open(&path).unwrap().into_connection();
    assert_eq!(pending::load(&conn).unwrap(), owed(&["api"], &[]));
}

#[tokio::test]
async fn shutdown_pays_what_is_owed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.duckdb");
    let refresh = Recorder::default();
    let db = open(&path, &refresh, patient());
    db.writer.submit(deployment("d-1", "api")).await.unwrap();
    db.writer.shutdown();
    assert_eq!(refresh.calls(), [owed(&["api"], &[])]);
    drop(db);
    let conn = Store::open(&path).unwrap().into_connection();
    assert!(pending::load(&conn).unwrap().is_empty());
}

/// Says when a payment starts (with what it pays), then waits to be let go.
struct Gated {
    entered: std::sync::mpsc::Sender<Touched>,
    release: std::sync::mpsc::Receiver<()>,
}

impl Refresh for Gated {
    fn refresh(&mut self, _: &duckdb::Connection, touched: &Touched) -> Result<(), RefreshError> {
        self.entered.send(touched.coarse()).unwrap();
        Ok(self.release.recv()?)
    }
}

fn records(conn: &duckdb::Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM derivation_pending", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_commit_while_a_payment_runs_and_owe_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("w.duckdb")).unwrap();
    let reader = store.reader().unwrap();
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let refresh = Gated {
        entered: entered_tx,
        release: release_rx,
    };
    let writer = Writer::spawn(store.into_connection(), Box::new(refresh), patient()).unwrap();
    writer.submit(deployment("d-1", "api")).await.unwrap();

    let settling = writer.clone();
    let first = tokio::spawn(async move { settling.settle().await });
    let entered = Arc::new(Mutex::new(entered));
    let next_payment = || {
        let entered = entered.clone();
        tokio::task::spawn_blocking(move || entered.lock().unwrap().recv().unwrap())
    };
    assert_eq!(next_payment().await.unwrap(), owed(&["api"], &[]));

    // The payment holds its service, and the writer still commits and answers.
    let during = tokio::time::timeout(
        Duration::from_secs(60),
        writer.submit(deployment("d-2", "api")),
    )
    .await
    .expect("a batch waited for the payment")
    .unwrap();
    assert_eq!(during.accepted, 1);
    // Its debt is recorded anew, beside the record being paid.
    assert_eq!(records(&reader), 2);

    release.send(()).unwrap();
    first.await.unwrap().unwrap();
    // The payment deleted the record it paid and left the new one.
    assert_eq!(records(&reader), 1);
    assert_eq!(pending::load(&reader).unwrap(), owed(&["api"], &[]));

    let settling = writer.clone();
    let second = tokio::spawn(async move { settling.settle().await });
    assert_eq!(next_payment().await.unwrap(), owed(&["api"], &[]));
    release.send(()).unwrap();
    second.await.unwrap().unwrap();
    assert_eq!(records(&reader), 0);
    writer.shutdown();
}

/// Every row of the typed tables and the raw log, as text, in a stable order.
fn dump(conn: &duckdb::Connection) -> Vec<String> {
    let mut rows = Vec::new();
    for table in [
        "raw_events",
        "changes",
        "pull_requests",
        "deployments",
        "deployment_commits",
        "incidents",
        "builds",
    ] {
        let sql =
            format!("SELECT '{table} ' || CAST(t AS VARCHAR) AS row FROM {table} t ORDER BY row");
        let mut statement = conn.prepare(&sql).unwrap();
        let found = statement.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.extend(found.map(Result::unwrap));
    }
    rows
}

#[tokio::test]
async fn rows_appended_as_new_equal_rows_merged_by_upsert() {
    // The reference events, then updates of rows they stored and edge cases of lists.
    let reference = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/reference/events.ndjson"
    ))
    .unwrap();
    let extra = [
        r#"{"type":"change","repo":"acme/lists","sha":"c1","parents":[],"committed_at":"2026-03-01T10:00:00Z"}"#,
        r#"{"type":"change","repo":"acme/lists","sha":"c2","parents":["c1"],"committed_at":"2026-03-01T11:00:00Z","author":"ana"}"#,
        r#"{"type":"change","repo":"acme/lists","sha":"c2","committed_at":"2026-03-01T11:30:00Z","message":"later"}"#,
        r#"{"type":"deployment","id":"l-1","service":"lists","sha":"c2","finished_at":"2026-03-01T12:00:00Z","commits":[{"sha":"c1"},{"sha":"c2"}]}"#,
        r#"{"type":"deployment","id":"l-1","service":"lists","sha":"c2","status":"failure","finished_at":"2026-03-01T12:00:00Z","commits":[]}"#,
        r#"{"type":"incident","id":"li-1","service":"lists","opened_at":"2026-03-01T12:30:00Z"}"#,
        r#"{"type":"incident","id":"li-1","service":"lists","opened_at":"2026-03-01T12:30:00Z","resolved_at":"2026-03-01T13:00:00Z"}"#,
    ];
    let at = chrono::DateTime::parse_from_rfc3339("2026-04-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let mut deliveries: Vec<_> = reference
        .lines()
        .chain(extra)
        .filter(|l| !l.trim().is_empty())
        .map(|line| typed_delivery("api", parse_event_text(1, line).unwrap(), at))
        .collect();
    // A pushed commit's files (no typed form), then an update that does not carry them.
    for (key, paths) in [
        ("files-1", Some(vec!["b/y.go", "a/x.go"])),
        ("files-2", None),
    ] {
        let text = r#"{"type":"change","repo":"acme/lists","sha":"c3","committed_at":"2026-03-01T12:00:00Z"}"#;
        let mut delivery = typed_delivery("github", parse_event_text(1, text).unwrap(), at);
        delivery.delivery_key = key.into();
        if let shiplog_model::Event::Change(change) = &mut delivery.events[0] {
            change.paths = paths.map(|p| p.into_iter().map(str::to_owned).collect());
        }
        deliveries.push(delivery);
    }
    // Batches of varied sizes; every fifth is sent twice, so repeats are exercised.
    let mut batches = Vec::new();
    let mut rest = deliveries.as_slice();
    for n in [1usize, 3, 17, 64, 2, 40].into_iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at(n.min(rest.len()));
        batches.push(batch.to_vec());
        if batches.len() % 5 == 0 {
            batches.push(batch.to_vec());
        }
        rest = tail;
    }

    let dir = tempfile::tempdir().unwrap();
    let refresh = Recorder::default();
    let fast = open(&dir.path().join("fast.duckdb"), &refresh, patient());
    for batch in &batches {
        fast.writer
            .submit(Submission {
                deliveries: batch.clone(),
            })
            .await
            .unwrap();
    }
    let merged = Store::open(&dir.path().join("merged.duckdb")).unwrap();
    let mut conn = merged.into_connection();
    let mut seq = 1;
    for batch in &batches {
        let tx = conn.transaction().unwrap();
        shiplog_ingest::store::write_batch(&tx, batch, seq).unwrap();
        tx.commit().unwrap();
        seq += batch.len() as i64;
    }

    let expected = dump(&conn);
    assert!(expected.len() > deliveries.len(), "the tables were filled");
    assert!(
        expected
            .iter()
            .any(|r| r.contains("'sha': c1, 'parents': []")),
        "an empty parent list is stored as one"
    );
    assert!(
        expected
            .iter()
            .any(|r| r.contains("'sha': c3") && r.contains("'paths': [b/y.go, a/x.go]")),
        "files are kept when an update does not carry them"
    );
    assert_eq!(dump(&fast.reader), expected);
    fast.writer.shutdown();
}

fn incident_report(opened_at: &str, estimated: bool, resolved_at: Option<&str>) -> Delivery {
    let t = |s: &str| shiplog_model::parse_timestamp(s).unwrap();
    let incident = shiplog_model::Incident {
        id: shiplog_model::EventId::parse("pd:1").unwrap(),
        service: shiplog_model::ServiceName::parse("api").unwrap(),
        opened_at: t(opened_at),
        opened_at_estimated: estimated,
        resolved_at: resolved_at.map(t),
        severity: None,
        deployment_id: None,
        sha: None,
        title: None,
    };
    Delivery {
        source: "pagerduty".into(),
        event_type: "incident".into(),
        delivery_key: format!("pd:{opened_at}:{estimated}:{resolved_at:?}"),
        received_at: t("2026-03-03T00:00:00Z"),
        headers: None,
        body: "{}".into(),
        events: vec![shiplog_model::Event::Incident(incident)],
        unmapped: None,
        replayed: false,
    }
}

fn stored_open_and_resolve(conn: &duckdb::Connection) -> (String, Option<String>) {
    conn.query_row(
        "SELECT CAST(opened_at AS VARCHAR), CAST(resolved_at AS VARCHAR) FROM incidents",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[tokio::test]
async fn a_resolution_that_does_not_know_the_open_time_never_moves_it() {
    let trigger = || incident_report("2026-03-02T10:00:00Z", false, None);
    let resolution = || incident_report("2026-03-02T12:30:00Z", true, Some("2026-03-02T12:30:00Z"));
    let expected = (
        "2026-03-02 10:00:00".to_owned(),
        Some("2026-03-02 12:30:00".to_owned()),
    );
    // In both orders, in one batch or two, through the writer (a new key is appended,
    // a known one merged) and through the merge alone.
    let orders: [Vec<Vec<Delivery>>; 4] = [
        vec![vec![trigger()], vec![resolution()]],
        vec![vec![resolution()], vec![trigger()]],
        vec![vec![trigger(), resolution()]],
        vec![vec![resolution(), trigger()]],
    ];
    for (n, batches) in orders.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(
            &dir.path().join("w.duckdb"),
            &Recorder::default(),
            patient(),
        );
        for batch in batches {
            let deliveries = batch.clone();
            db.writer.submit(Submission { deliveries }).await.unwrap();
        }
        assert_eq!(stored_open_and_resolve(&db.reader), expected, "order {n}");
        db.writer.shutdown();

        let mut conn = Store::open(&dir.path().join("m.duckdb"))
            .unwrap()
            .into_connection();
        let mut seq = 1;
        for batch in batches {
            let tx = conn.transaction().unwrap();
            shiplog_ingest::store::write_batch(&tx, batch, seq).unwrap();
            tx.commit().unwrap();
            seq += batch.len() as i64;
        }
        assert_eq!(
            stored_open_and_resolve(&conn),
            expected,
            "order {n}, merged"
        );
    }
}
