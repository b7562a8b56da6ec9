//! Ingest through NATS JetStream, end to end: a real `nats-server -js` per test (its
//! own port and store directory), real `shiplog ingest` replicas and a real `shiplog
//! serve` consuming the stream, all the built binary.
//!
//! - the reference set posted through two replicas gives the expected metrics JSON
//!   and weekly CSV cell for cell, as direct ingest does (`tests/reference.rs`);
//! - `kill -9` of the consumer (`shiplog serve`) mid-stream, and a restart of NATS
//!   mid-stream (same store directory): every delivery answered `202`/`200` is in the
//!   raw log exactly once after a clean stop, and the figures are the reference's;
//! - the same delivery posted to two replicas is stored once;
//! - while NATS is down a replica answers `503` with `Retry-After`, and `/readyz`
//!   says why; a replica started before NATS serves once it connects;
//! - a replica answers what `shiplog serve` answers (refusals, an unmapped webhook).
//!
//! Without `nats-server` each test says it is skipped and passes, except under `CI`,
//! where it fails (`.ci/run` installs Debian's `nats-server`).

mod support;

use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use shiplog_ingest::sources::generic::content_key;
use shiplog_ingest::sources::signature::sign_hex;
use support::{
    FROM, INGEST_TOKEN, PROCESS_LIMIT, ServedBinary, TO, csv_differences, json_differences,
    reference_text, shiplog,
};
use tokio::sync::watch;

const GITHUB_SECRET: &str = "gh-webhook-secret";
const STREAM: &str = "SHIPLOG";
/// Bounds the waits that would otherwise hang a broken run; none of them paces it.
const LIMIT: Duration = Duration::from_secs(90);

/// Whether `nats-server` can run here; under `CI` it must.
fn nats_available() -> bool {
    let found = Command::new("nats-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "nats-server is required in CI: apt-get install nats-server"
        );
        eprintln!("skipped: apt-get install nats-server to run this test");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `nats-server -js`, restartable on the same port and store directory.
struct Nats {
    port: u16,
    store: PathBuf,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
}

impl Nats {
    fn start(store: &Path) -> Nats {
        let mut nats = Nats {
            port: free_port(),
            store: store.to_owned(),
            child: None,
            log: Arc::default(),
        };
        nats.spawn();
        nats
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits (bounded) for its "Server is ready" line.
    fn spawn(&mut self) {
        let mut child = Command::new("nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nats-server starts");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (ready, is_ready) = std::sync::mpsc::channel();
        let log = self.log.clone();
        std::thread::spawn(move || {
            let mut ready = Some(ready);
            for line in stderr.lines().map_while(Result::ok) {
                if line.contains("Server is ready")
                    && let Some(ready) = ready.take()
                {
                    let _ = ready.send(());
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        is_ready
            .recv_timeout(PROCESS_LIMIT)
            .unwrap_or_else(|_| panic!("nats-server is not ready:\n{}", self.log.lock().unwrap()));
        self.child = Some(child);
    }

    /// SIGTERM (a restart as an orchestrator does it), and waits for the exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            assert!(sent.success());
            child.wait().unwrap();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// NATS, the config file every process reads, and the database's path.
struct Cluster {
    dir: tempfile::TempDir,
    nats: Nats,
    config: PathBuf,
    db: PathBuf,
}

impl Cluster {
    fn new() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let nats = Nats::start(&dir.path().join("nats"));
        let config = write_config(dir.path(), &nats.url());
        let db = dir.path().join("shiplog.duckdb");
        Cluster {
            dir,
            nats,
            config,
            db,
        }
    }

    async fn serve(&self) -> ServedBinary {
        ServedBinary::start(self.dir.path(), &self.db, Some(&self.config)).await
    }

    async fn replica(&self) -> ServedBinary {
        replica(self.dir.path(), &self.config).await
    }

    async fn jetstream(&self) -> async_nats::jetstream::Context {
        let client = async_nats::connect(self.nats.url()).await.unwrap();
        async_nats::jetstream::new(client)
    }
}

/// A short `ack_wait`, so that messages a killed consumer held come back within the
/// test, and a short publish timeout.
fn write_config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("shiplog.toml");
    let text = format!(
        "[nats]\nurl = \"{url}\"\nack_wait_seconds = 2\npublish_timeout_seconds = 2\n\
         [sources.github]\nsecret = \"{GITHUB_SECRET}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `shiplog --config FILE ingest --addr 127.0.0.1:0`, once it names its address.
async fn replica(dir: &Path, config: &Path) -> ServedBinary {
    let mut command = shiplog();
    command
        .current_dir(dir)
        .arg("--config")
        .arg(config)
        .args(["ingest", "--addr", "127.0.0.1:0"]);
    ServedBinary::start_command(command).await
}

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits (bounded) until `/readyz` of `base` answers `want`; no event tells a test
/// when a replica's connection to NATS is up or down but this answer.
async fn readyz_becomes(client: &reqwest::Client, base: &str, want: u16) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        let (status, body) = get(client, format!("{base}/readyz")).await;
        if status == want {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{base}/readyz stays {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (bounded) until the stream holds no message: with work-queue retention a
/// message leaves it only when the writer has acked it, after its commit.
async fn drained(js: &async_nats::jetstream::Context) {
    let deadline = Instant::now() + LIMIT;
    let mut stream = js.get_stream(STREAM).await.unwrap();
    loop {
        let info = stream.info().await.unwrap();
        if info.state.messages == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the stream still holds {} messages",
            info.state.messages
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post_ndjson(client: &reqwest::Client, base: &str, body: String) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn reference_lines() -> Vec<String> {
    reference_text("events.ndjson")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn key_of(line: &str) -> String {
    content_key(&serde_json::from_str(line).unwrap())
}

/// Sends `lines` in chunks of `chunk`, each to the next of `bases` in turn, resending
/// a chunk answered `503` until it is answered `200`/`202`. Between tries it waits
/// what the answer's `Retry-After` says, as SPEC §5 asks of a sender (that is its
/// backoff, not a synchronisation of the test). `progress` counts answered chunks.
/// Returns the keys of every acknowledged event.
async fn send_all(
    bases: Vec<String>,
    lines: Vec<String>,
    chunk: usize,
    progress: watch::Sender<usize>,
) -> HashSet<String> {
    let client = reqwest::Client::new();
    let mut acked = HashSet::new();
    let deadline = Instant::now() + LIMIT;
    for (n, chunk) in lines.chunks(chunk).enumerate() {
        let body = chunk.join("\n");
        let mut turn = n;
        loop {
            assert!(
                Instant::now() < deadline,
                "chunk {n} was never acknowledged"
            );
            let base = &bases[turn % bases.len()];
            turn += 1;
            let sent = client
                .post(format!("{base}/api/v1/events"))
                .bearer_auth(INGEST_TOKEN)
                .header("content-type", "application/x-ndjson")
                .body(body.clone())
                .send()
                .await;
            let Ok(response) = sent else {
                continue;
            };
            let status = response.status().as_u16();
            if status == 503 {
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .expect("a 503 says when to retry");
                tokio::time::sleep(Duration::from_secs(wait.min(1))).await;
                continue;
            }
            let answer: Value = response.json().await.unwrap();
            assert!(status == 202 || status == 200, "{status} {answer}");
            acked.extend(chunk.iter().map(|line| key_of(line)));
            break;
        }
        progress.send_modify(|answered| *answered += 1);
    }
    acked
}

/// Rows and distinct keys of the raw log, and every key, read from the file once
/// the server has stopped.
fn raw_log(db: &Path) -> (usize, BTreeSet<String>) {
    let store = shiplog_ingest::store::Store::open(db).unwrap();
    let conn = store.connection();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM raw_events", [], |r| r.get(0))
        .unwrap();
    let mut keys = BTreeSet::new();
    let mut statement = conn.prepare("SELECT delivery_key FROM raw_events").unwrap();
    let found = statement.query_map([], |r| r.get::<_, String>(0)).unwrap();
    for key in found {
        keys.insert(key.unwrap());
    }
    (usize::try_from(rows).unwrap(), keys)
}

fn assert_no_differences(what: &str, differences: Vec<String>) {
    assert!(
        differences.is_empty(),
        "{what} differs from the reference:\n{}",
        differences.join("\n")
    );
}

/// The weekly CSV and both metrics JSONs of `serve` against the expected files.
async fn assert_reference_figures(serve: &ServedBinary) {
    let client = reqwest::Client::new();
    let csv = client
        .get(format!(
            "{}/reports/weekly.csv?from={FROM}&to={TO}",
            serve.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_no_differences(
        "weekly CSV",
        csv_differences(&csv, &reference_text("expected_weekly.csv")),
    );
    for (file, query) in [
        ("expected_metrics.json", ""),
        ("expected_metrics_checkout.json", "&service=checkout"),
    ] {
        let url = format!("{}/api/v1/metrics?from={FROM}&to={TO}{query}", serve.base);
        let (status, actual) = get(&client, url).await;
        assert_eq!(status, 200, "{actual}");
        let expected: Value = serde_json::from_str(&reference_text(file)).unwrap();
        assert_no_differences(file, json_differences(&actual, &expected));
    }
}

/// After a clean stop: every acknowledged key once, nothing else but what was sent.
fn assert_stored_exactly_once(db: &Path, acked: &HashSet<String>, sent: &HashSet<String>) {
    let (rows, keys) = raw_log(db);
    assert_eq!(rows, keys.len(), "a key is in the raw log twice");
    let missing: Vec<&String> = acked.iter().filter(|k| !keys.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    let invented: Vec<&String> = keys.iter().filter(|k| !sent.contains(*k)).collect();
    assert!(invented.is_empty(), "stored but never sent: {invented:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reference_set_through_two_replicas_matches_the_expected_files() {
    if !nats_available() {
        return;
    }
    let cluster = Cluster::new();
    let serve = cluster.serve().await;
    let replicas = [cluster.replica().await, cluster.replica().await];
    let client = reqwest::Client::new();
    for replica in &replicas {
        readyz_becomes(&client, &replica.base, 200).await;
    }
    let lines = reference_lines();
    let distinct: HashSet<String> = lines.iter().map(|l| key_of(l)).collect();
    let (mut accepted, mut duplicates) = (0, 0);
    for (n, chunk) in lines.chunks(100).enumerate() {
        let base = &replicas[n % 2].base;
        let response = post_ndjson(&client, base, chunk.join("\n")).await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert!(status == 202 || status == 200, "{status} {answer}");
        accepted += answer["accepted"].as_u64().unwrap();
        duplicates += answer["duplicates"].as_u64().unwrap();
    }
    // Every repeat of the reference arrives within the duplicate window, so the
    // replicas count what direct ingest counts.
    assert_eq!(accepted as usize, distinct.len());
    assert_eq!((accepted + duplicates) as usize, lines.len());

    drained(&cluster.jetstream().await).await;
    assert_reference_figures(&serve).await;
    for replica in &replicas {
        assert!(replica.terminate().await.success(), "{}", replica.log());
    }
    assert!(serve.terminate().await.success(), "{}", serve.log());
    assert_stored_exactly_once(&cluster.db, &distinct, &distinct);
    assert_eq!(raw_log(&cluster.db).0, distinct.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consumer_killed_mid_stream_loses_and_doubles_nothing() {
    if !nats_available() {
        return;
    }
    let cluster = Cluster::new();
    let serve = cluster.serve().await;
    let replicas = [cluster.replica().await, cluster.replica().await];
    let client = reqwest::Client::new();
    for replica in &replicas {
        readyz_becomes(&client, &replica.base, 200).await;
    }
    let lines = reference_lines();
    let sent: HashSet<String> = lines.iter().map(|l| key_of(l)).collect();
    let bases = replicas.iter().map(|r| r.base.clone()).collect();
    let (progress, mut answered) = watch::channel(0);
    let sender = tokio::spawn(send_all(bases, lines, 8, progress));

    answered.wait_for(|n| *n >= 20).await.unwrap();
    serve.kill();
    serve.wait().await;
    // The replicas keep answering while no consumer runs: the deliveries wait in
    // the stream, and those the killed consumer held unacked come back.
    answered.wait_for(|n| *n >= 45).await.unwrap();
    let js = cluster.jetstream().await;
    let mut stream = js.get_stream(STREAM).await.unwrap();
    let waiting = stream.info().await.unwrap();
    assert!(
        waiting.state.messages > 0,
        "deliveries acknowledged with no writer running wait in the stream"
    );
    let serve = cluster.serve().await;
    let acked = tokio::time::timeout(LIMIT, sender).await.unwrap().unwrap();
    assert_eq!(acked, sent, "every chunk is acknowledged in the end");

    drained(&js).await;
    assert_reference_figures(&serve).await;
    for replica in &replicas {
        assert!(replica.terminate().await.success(), "{}", replica.log());
    }
    assert!(serve.terminate().await.success(), "{}", serve.log());
    assert_stored_exactly_once(&cluster.db, &acked, &sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nats_restarted_mid_stream_loses_and_doubles_nothing() {
    if !nats_available() {
        return;
    }
    let mut cluster = Cluster::new();
    let serve = cluster.serve().await;
    let replicas = [cluster.replica().await, cluster.replica().await];
    let client = reqwest::Client::new();
    for replica in &replicas {
        readyz_becomes(&client, &replica.base, 200).await;
    }
    let lines = reference_lines();
    let sent: HashSet<String> = lines.iter().map(|l| key_of(l)).collect();
    let bases = replicas.iter().map(|r| r.base.clone()).collect();
    let (progress, mut answered) = watch::channel(0);
    let sender = tokio::spawn(send_all(bases, lines.clone(), 8, progress));

    answered.wait_for(|n| *n >= 20).await.unwrap();
    cluster.nats.stop();
    // While NATS is away a replica says why it is not ready, and refuses with `503`
    // and `Retry-After` rather than claim a delivery stored.
    let why = readyz_becomes(&client, &replicas[0].base, 503).await;
    let status = why["status"].as_str().unwrap();
    assert!(status.contains("not connected to NATS"), "{why}");
    let response = post_ndjson(&client, &replicas[0].base, lines[0].clone()).await;
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let refusal: Value = response.json().await.unwrap();
    assert!(
        refusal["error"].as_str().unwrap().contains("NATS"),
        "{refusal}"
    );

    cluster.nats.spawn();
    let acked = tokio::time::timeout(LIMIT, sender).await.unwrap().unwrap();
    assert_eq!(acked, sent, "every chunk is acknowledged in the end");
    for replica in &replicas {
        readyz_becomes(&client, &replica.base, 200).await;
    }

    drained(&cluster.jetstream().await).await;
    assert_reference_figures(&serve).await;
    for replica in &replicas {
        assert!(replica.terminate().await.success(), "{}", replica.log());
    }
    assert!(serve.terminate().await.success(), "{}", serve.log());
    assert_stored_exactly_once(&cluster.db, &acked, &sent);
}

/// Posts `body` to `base` as GitHub would.
async fn github(base: &str, event: &str, delivery: &str, body: &[u8]) -> (u16, Value) {
    let signature = format!("sha256={}", sign_hex(GITHUB_SECRET.as_bytes(), body));
    let response = reqwest::Client::new()
        .post(format!("{base}/webhooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn push_fixture() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/github/reallyfastci/webhook-push-to-master.json"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_delivery_posted_to_two_replicas_is_stored_once() {
    if !nats_available() {
        return;
    }
    let cluster = Cluster::new();
    let serve = cluster.serve().await;
    let replicas = [cluster.replica().await, cluster.replica().await];
    let client = reqwest::Client::new();
    for replica in &replicas {
        readyz_becomes(&client, &replica.base, 200).await;
    }
    let push = push_fixture();
    let delivery = "6f1c0f5e-0000-4000-8000-000000000001";
    let (status, first) = github(&replicas[0].base, "push", delivery, &push).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["accepted"], 1);
    assert!(first["mapped"].as_u64().unwrap() > 0, "{first}");
    let (status, again) = github(&replicas[1].base, "push", delivery, &push).await;
    assert_eq!(status, 200, "JetStream knows the message id: {again}");
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(again["delivery"], first["delivery"]);

    let event = reference_lines().remove(0);
    for (n, replica) in replicas.iter().enumerate() {
        let response = post_ndjson(&client, &replica.base, event.clone()).await;
        let want = if n == 0 { 202 } else { 200 };
        assert_eq!(response.status().as_u16(), want);
    }

    drained(&cluster.jetstream().await).await;
    // Past JetStream's window (here: once consumed), the raw log still knows it.
    let (status, direct) = github(&serve.base, "push", delivery, &push).await;
    assert_eq!(status, 200, "{direct}");
    for replica in &replicas {
        assert!(replica.terminate().await.success(), "{}", replica.log());
    }
    assert!(serve.terminate().await.success(), "{}", serve.log());
    let (rows, keys) = raw_log(&cluster.db);
    let expected: BTreeSet<String> = [format!("github:{delivery}"), key_of(&event)].into();
    assert_eq!((rows, keys), (2, expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_answers_what_serve_answers() {
    if !nats_available() {
        return;
    }
    let cluster = Cluster::new();
    let serve = cluster.serve().await;
    let replica = cluster.replica().await;
    let client = reqwest::Client::new();
    readyz_becomes(&client, &replica.base, 200).await;
    let bad_batch = format!(
        "{}\n{{\"type\":\"deployment\",\"id\":\"x\"}}\nnot json",
        good_line()
    );
    let answers = |base: String| {
        let client = client.clone();
        let bad_batch = bad_batch.clone();
        async move {
            let typed = post_ndjson(&client, &base, bad_batch).await;
            let typed = (
                typed.status().as_u16(),
                typed.json::<Value>().await.unwrap(),
            );
            let no_token = client
                .post(format!("{base}/api/v1/events"))
                .body(good_line())
                .send()
                .await
                .unwrap();
            let no_token = (
                no_token.status().as_u16(),
                no_token.json::<Value>().await.unwrap(),
            );
            let not_json = github(&base, "push", "d-not-json", b"<xml/>").await;
            let unknown = client
                .post(format!("{base}/webhooks/carrier-pigeon"))
                .body("{}")
                .send()
                .await
                .unwrap();
            let unknown = (
                unknown.status().as_u16(),
                unknown.json::<Value>().await.unwrap(),
            );
            let unmapped = github(&base, "push", "d-unmapped", br#"{"ref": 3}"#).await;
            (typed, no_token, not_json, unknown, unmapped)
        }
    };
    let from_serve = answers(serve.base.clone()).await;
    drained(&cluster.jetstream().await).await;
    let from_replica = answers(replica.base.clone()).await;
    assert_eq!(from_replica.0, from_serve.0, "a bad line is refused alike");
    assert_eq!(from_replica.0.0, 422);
    assert_eq!(from_replica.1, from_serve.1, "no token is refused alike");
    assert_eq!(from_replica.1.0, 401);
    assert_eq!(
        from_replica.2, from_serve.2,
        "a body that is not JSON is refused alike"
    );
    assert_eq!(from_replica.2.0, 400);
    assert_eq!(from_replica.3, from_serve.3);
    assert_eq!(from_replica.3.0, 404);
    // A JSON webhook that cannot be mapped is kept, with the reason, alike. serve
    // stored it first, so to the replica it is new (JetStream never saw it) and the
    // writer finds it in the raw log and stores it once.
    assert_eq!(from_replica.4, from_serve.4);
    assert_eq!(from_replica.4.0, 202);
    assert!(
        from_replica.4.1["skipped"].is_string(),
        "{}",
        from_replica.4.1
    );

    drained(&cluster.jetstream().await).await;
    assert!(replica.terminate().await.success(), "{}", replica.log());
    assert!(serve.terminate().await.success(), "{}", serve.log());
    let (rows, keys) = raw_log(&cluster.db);
    assert_eq!((rows, keys), (1, ["github:d-unmapped".to_owned()].into()));
}

fn good_line() -> String {
    reference_lines().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_started_before_nats_serves_once_it_connects() {
    if !nats_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), &format!("nats://127.0.0.1:{port}"));
    let replica = replica(dir.path(), &config).await;
    let client = reqwest::Client::new();
    let (status, why) = get(&client, format!("{}/readyz", replica.base)).await;
    assert_eq!(status, 503);
    assert!(
        why["status"]
            .as_str()
            .unwrap()
            .contains("not connected to NATS"),
        "{why}"
    );
    let (status, alive) = get(&client, format!("{}/healthz", replica.base)).await;
    assert_eq!(status, 200, "{alive}");
    let response = post_ndjson(&client, &replica.base, good_line()).await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );

    let mut nats = Nats {
        port,
        store: dir.path().join("nats"),
        child: None,
        log: Arc::default(),
    };
    nats.spawn();
    readyz_becomes(&client, &replica.base, 200).await;
    let response = post_ndjson(&client, &replica.base, good_line()).await;
    assert_eq!(response.status().as_u16(), 202);
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let mut stream = js.get_stream(STREAM).await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(
        info.state.messages, 1,
        "created by the replica, holding the delivery"
    );
    assert!(replica.terminate().await.success(), "{}", replica.log());
}
