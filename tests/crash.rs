//! Crash safety (SPEC §5: a `202` survives `kill -9`): the real `shiplog serve` under
//! many concurrent senders, killed with SIGKILL at a moment a seeded generator picks,
//! restarted on the same file each time, while every sender resends what it holds
//! unanswered. At the end every delivery answered `200` or `202` is in the raw log
//! exactly once, no typed key is stored twice, and the figures (and the typed and
//! derived tables) equal those of a clean import of the acknowledged set.
//!
//! The moment of a kill is the k-th acknowledged answer of the round, k drawn from a
//! seeded splitmix64: the sender that reads that answer kills the server itself, while
//! the other senders are mid-request. So the runs are the same per seed except for what
//! the other senders had in flight at that instant. `CRASH_SEEDS` (comma-separated,
//! default `1,2,3`) and `CRASH_ROUNDS` (kill rounds per seed, default 5) make a longer
//! run; the figures are printed (`cargo test --release --test crash -- --nocapture`).

mod support;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use shiplog_ingest::sources::generic::content_key;
use support::{
    FROM, INGEST_TOKEN, ServedBinary, TO, csv_differences, json_differences, reference_text,
    shiplog, shuffled, text,
};

/// Senders posting at once.
const SENDERS: usize = 24;
/// Bounds on waits that would otherwise hang a broken run (none of them paces it).
const ROUND_LIMIT: Duration = Duration::from_secs(120);
const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// splitmix64: a seeded sequence, so that a failing seed can be rerun.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, n)`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One distinct typed event of the reference set.
struct Delivery {
    key: String,
    line: String,
}

/// What one sender posts, the same body every time it tries.
struct Request {
    deliveries: Vec<usize>,
    body: String,
    content_type: &'static str,
}

/// The reference set's distinct events (by delivery key, first occurrence kept),
/// shuffled by `seed` and cut into requests of one to four events: single objects,
/// NDJSON and JSON arrays.
fn plan(seed: u64) -> (Vec<Delivery>, Vec<Request>) {
    let mut seen = HashSet::new();
    let deliveries: Vec<Delivery> = reference_text("events.ndjson")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let key = content_key(&serde_json::from_str(line).unwrap());
            seen.insert(key.clone()).then(|| Delivery {
                key,
                line: line.to_owned(),
            })
        })
        .collect();
    let order = shuffled((0..deliveries.len()).collect(), seed);
    let mut rng = Rng(seed ^ 0x5EED);
    let mut requests = Vec::new();
    let mut rest = &order[..];
    while !rest.is_empty() {
        let size = [1, 1, 2, 3, 4][rng.below(5)].min(rest.len());
        let (these, after) = rest.split_at(size);
        rest = after;
        let lines: Vec<&str> = these.iter().map(|&d| deliveries[d].line.as_str()).collect();
        let (body, content_type) = match (size, requests.len() % 2) {
            (1, _) => (lines[0].to_owned(), "application/json"),
            (_, 0) => (lines.join("\n"), "application/x-ndjson"),
            _ => (format!("[{}]", lines.join(",")), "application/json"),
        };
        requests.push(Request {
            deliveries: these.to_vec(),
            body,
            content_type,
        });
    }
    (deliveries, requests)
}

/// How one attempt at a request ended.
enum Attempt {
    /// `200` or `202`, with the body's counts.
    Answered {
        request: usize,
        status: u16,
        accepted: u64,
        duplicates: u64,
    },
    /// No answer: the server was killed (or the attempt began after the kill).
    InDoubt { request: usize, error: String },
    /// Still in the queue at the kill.
    Untried { request: usize },
    /// Anything else: a failure of the test.
    Unexpected { request: usize, what: String },
}

/// After every `READ_EVERY`-th request's answer its sender reads the metrics, as a
/// dashboard would: a read makes the settler pay the derived facts owed, so kills also
/// land while a payment is under way, not only between batches.
const READ_EVERY: usize = 8;

/// What the senders of one round share.
struct Round {
    client: reqwest::Client,
    base: String,
    requests: Arc<Vec<Request>>,
    queue: Mutex<VecDeque<usize>>,
    /// `Some(k)`: the reader of the k-th answer kills the server.
    kill_after: Option<usize>,
    answered: AtomicUsize,
    killed: AtomicBool,
    child: Arc<Mutex<Child>>,
    busy: Arc<AtomicUsize>,
    reads: Arc<AtomicUsize>,
    reads_cut: Arc<AtomicUsize>,
}

/// The status and body of one POST, or the transport's error.
async fn post(round: &Round, request: &Request) -> Result<(u16, String), String> {
    let response = round
        .client
        .post(format!("{}/api/v1/events", round.base))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", request.content_type)
        .body(request.body.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.map_err(|e| e.to_string())?))
}

/// One sender: takes requests from the queue until it is empty or the server killed.
async fn sender(round: Arc<Round>) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    while !round.killed.load(Ordering::SeqCst) {
        let Some(index) = round.queue.lock().unwrap().pop_front() else {
            break;
        };
        let (status, body) = match post(&round, &round.requests[index]).await {
            Ok(answer) => answer,
            Err(error) => {
                attempts.push(Attempt::InDoubt {
                    request: index,
                    error,
                });
                continue;
            }
        };
        match status {
            200 | 202 => {
                let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                attempts.push(Attempt::Answered {
                    request: index,
                    status,
                    accepted: json["accepted"].as_u64().unwrap_or(u64::MAX),
                    duplicates: json["duplicates"].as_u64().unwrap_or(u64::MAX),
                });
                let n = round.answered.fetch_add(1, Ordering::SeqCst) + 1;
                if round.kill_after == Some(n) {
                    round.killed.store(true, Ordering::SeqCst);
                    let _ = round.child.lock().unwrap().kill();
                } else if index % READ_EVERY == 0 {
                    let read = round
                        .client
                        .get(format!("{}/api/v1/metrics?from={FROM}&to={TO}", round.base))
                        .send()
                        .await;
                    match read {
                        Ok(r) if r.status() == 200 => {
                            round.reads.fetch_add(1, Ordering::Relaxed);
                        }
                        // A read cut off by the kill, most likely waiting on a payment.
                        _ if round.killed.load(Ordering::SeqCst) => {
                            round.reads_cut.fetch_add(1, Ordering::Relaxed);
                        }
                        other => attempts.push(Attempt::Unexpected {
                            request: index,
                            what: format!("reading the metrics after it: {other:?}"),
                        }),
                    }
                }
            }
            // Temporary trouble: a sender retries.
            503 => {
                round.busy.fetch_add(1, Ordering::Relaxed);
                round.queue.lock().unwrap().push_back(index);
            }
            _ => attempts.push(Attempt::Unexpected {
                request: index,
                what: format!("{status} {body}"),
            }),
        }
    }
    attempts
}

/// One round: `SENDERS` senders post `pending` until it is empty or, with
/// `kill_after = Some(k)`, until the k-th answer, whose reader kills the server.
/// Requests left in the queue at the kill were never tried, so they are not in doubt.
async fn round(
    server: &ServedBinary,
    requests: &Arc<Vec<Request>>,
    pending: Vec<usize>,
    kill_after: Option<usize>,
    counters: &Counters,
) -> Vec<Attempt> {
    let round = Arc::new(Round {
        client: reqwest::Client::builder()
            .timeout(REQUEST_LIMIT)
            .build()
            .unwrap(),
        base: server.base.clone(),
        requests: requests.clone(),
        queue: Mutex::new(VecDeque::from(pending)),
        kill_after,
        answered: AtomicUsize::new(0),
        killed: AtomicBool::new(false),
        child: server.child.clone(),
        busy: counters.busy.clone(),
        reads: counters.reads.clone(),
        reads_cut: counters.reads_cut.clone(),
    });
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| tokio::spawn(sender(round.clone())))
        .collect();
    let mut attempts = Vec::new();
    for sender in senders {
        attempts.extend(sender.await.unwrap());
    }
    let left: Vec<usize> = round.queue.lock().unwrap().drain(..).collect();
    assert!(
        kill_after.is_some() || left.is_empty(),
        "a round without a kill sends everything"
    );
    attempts.extend(left.into_iter().map(|request| Attempt::Untried { request }));
    attempts
}

/// Counted by the senders of every round of a seed.
#[derive(Default)]
struct Counters {
    busy: Arc<AtomicUsize>,
    reads: Arc<AtomicUsize>,
    reads_cut: Arc<AtomicUsize>,
}

/// What a run measured.
#[derive(Default)]
struct Figures {
    kill_rounds: usize,
    requests: usize,
    acknowledged: usize,
    resent_requests: usize,
    resent_deliveries: usize,
    /// Resent requests answered as duplicates: stored before the kill, unanswered.
    duplicate_requests: usize,
    duplicates: usize,
    busy: usize,
    reads: usize,
    reads_cut: usize,
    restart: Duration,
    restarts: usize,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.kill_rounds += other.kill_rounds;
        self.requests += other.requests;
        self.acknowledged += other.acknowledged;
        self.resent_requests += other.resent_requests;
        self.resent_deliveries += other.resent_deliveries;
        self.duplicate_requests += other.duplicate_requests;
        self.duplicates += other.duplicates;
        self.busy += other.busy;
        self.reads += other.reads;
        self.reads_cut += other.reads_cut;
        self.restart += other.restart;
        self.restarts += other.restarts;
    }

    fn report(&self, label: &str, took: Duration) {
        println!(
            "{label}: {} kill rounds, {} requests, {} deliveries acknowledged, lost 0, stored \
             twice 0; {} requests ({} deliveries) resent after a kill left them unanswered, of \
             which {} ({} deliveries) had been stored and were answered as duplicates; metrics \
             reads between the posts: {} answered, {} cut off by a kill; {} busy (503) retries; \
             restart {:.0} ms on average; {:.1} s",
            self.kill_rounds,
            self.requests,
            self.acknowledged,
            self.resent_requests,
            self.resent_deliveries,
            self.duplicate_requests,
            self.duplicates,
            self.reads,
            self.reads_cut,
            self.busy,
            self.restart.as_secs_f64() * 1000.0 / self.restarts.max(1) as f64,
            took.as_secs_f64()
        );
    }
}

/// What the senders were told, request by request, across the rounds of one seed.
struct Ledger {
    /// The round in which each delivery was acknowledged.
    acknowledged: Vec<Option<usize>>,
    /// Requests tried without an answer: their events may be stored already.
    in_doubt: Vec<bool>,
    figures: Figures,
}

impl Ledger {
    /// Checks one attempt's answer against what the sender knew before it; returns the
    /// request when it is still to be sent. `killed`: the round ended with a kill;
    /// `context` names the round and adds the server's log.
    fn record(
        &mut self,
        requests: &[Request],
        attempt: Attempt,
        round_no: usize,
        killed: bool,
        context: &dyn Fn(String) -> String,
    ) -> Option<usize> {
        match attempt {
            Attempt::Answered {
                request,
                status,
                accepted,
                duplicates,
            } => {
                let n = requests[request].deliveries.len() as u64;
                let counts = format!(
                    "request {request} ({n} events) answered {status}, accepted {accepted}, duplicates {duplicates}"
                );
                assert!(
                    accepted + duplicates == n
                        && (status == 202) == (accepted > 0)
                        && (status == 200) == (duplicates == n),
                    "{}",
                    context(counts)
                );
                assert!(
                    self.in_doubt[request] || duplicates == 0,
                    "{}",
                    context(format!(
                        "{counts}: events never sent before cannot be duplicates"
                    ))
                );
                assert!(
                    duplicates == 0 || duplicates == n,
                    "{}",
                    context(format!("{counts}: a request is stored whole or not at all"))
                );
                self.resent(requests, request);
                if duplicates > 0 {
                    self.figures.duplicate_requests += 1;
                    self.figures.duplicates += duplicates as usize;
                }
                for &d in &requests[request].deliveries {
                    assert_eq!(
                        self.acknowledged[d], None,
                        "an answered request is not resent"
                    );
                    self.acknowledged[d] = Some(round_no);
                }
                self.figures.acknowledged += n as usize;
                None
            }
            Attempt::InDoubt { request, error } => {
                assert!(
                    killed,
                    "{}",
                    context(format!(
                        "request {request} unanswered without a kill: {error}"
                    ))
                );
                self.resent(requests, request);
                self.in_doubt[request] = true;
                Some(request)
            }
            Attempt::Untried { request } => Some(request),
            Attempt::Unexpected { request, what } => {
                panic!("{}", context(format!("request {request}: {what}")))
            }
        }
    }

    fn resent(&mut self, requests: &[Request], request: usize) {
        if self.in_doubt[request] {
            self.figures.resent_requests += 1;
            self.figures.resent_deliveries += requests[request].deliveries.len();
        }
    }
}

/// A `200` read's body.
async fn get_text(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "GET {url}");
    response.text().await.unwrap()
}

/// Runs `shiplog` with `args` in `dir` (no config file of the runner's).
fn run_in(dir: &Path, args: &[&str]) -> Output {
    let out = shiplog()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the shiplog binary runs");
    assert!(
        out.status.success(),
        "shiplog {}: {}",
        args.join(" "),
        text(&out.stderr)
    );
    out
}

/// What a user reads: the metrics JSON (all services, and `checkout`) and the weekly CSV.
#[derive(Debug, PartialEq)]
struct Reads {
    metrics: Value,
    checkout: Value,
    weekly: String,
}

/// The reads of the file at `db`, through the CLI (which pays any debt left first).
fn reads_of(dir: &Path, db: &Path) -> Reads {
    let db = db.to_str().unwrap();
    let metrics = |extra: &[&str]| -> Value {
        let mut args = vec!["metrics", "--db", db, "--from", FROM, "--to", TO];
        args.extend(extra);
        serde_json::from_slice(&run_in(dir, &args).stdout).unwrap()
    };
    let weekly = ["report", "weekly", "--db", db, "--from", FROM, "--to", TO];
    Reads {
        metrics: metrics(&[]),
        checkout: metrics(&["--service", "checkout"]),
        weekly: String::from_utf8(run_in(dir, &weekly).stdout).unwrap(),
    }
}

/// Every row of `table` as text, sorted.
fn rows(conn: &duckdb::Connection, table: &str) -> Vec<String> {
    conn.prepare(&format!(
        "SELECT CAST(t AS VARCHAR) FROM {table} t ORDER BY 1"
    ))
    .unwrap()
    .query_map([], |r| r.get(0))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn count(conn: &duckdb::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Tables compared row for row between the crashed file and the clean import (the
/// walk caches, `walk_reached`/`walk_missing`, record how the facts were computed,
/// not what they are, and are left out).
const TABLES: [&str; 12] = [
    "changes",
    "pull_requests",
    "deployments",
    "deployment_commits",
    "incidents",
    "builds",
    "deploy_facts",
    "change_set_members",
    "lead_time_samples",
    "incident_attribution",
    "deployment_outcomes",
    "environment_heads",
];

/// Typed keys that must be unique, as `(table, key columns)`.
const KEYS: [(&str, &str); 6] = [
    ("changes", "repo, sha"),
    ("pull_requests", "repo, sha"),
    ("deployments", "id"),
    ("deployment_commits", "deployment_id, position"),
    ("incidents", "id"),
    ("builds", "id"),
];

/// Kill rounds, then one round that sends the rest; returns the ledger and the server
/// of the last round, still running.
async fn rounds(
    seed: u64,
    dir: &Path,
    db: &Path,
    requests: &Arc<Vec<Request>>,
    ledger: &mut Ledger,
) -> ServedBinary {
    let kill_rounds = ledger.figures.kill_rounds;
    let mut rng = Rng(seed);
    let counters = Counters::default();
    let mut pending: Vec<usize> = (0..requests.len()).collect();
    let mut last = None;
    for round_no in 0..=kill_rounds {
        let started = Instant::now();
        let server = ServedBinary::start(dir, db, None).await;
        if round_no > 0 {
            ledger.figures.restart += started.elapsed();
            ledger.figures.restarts += 1;
        }
        // Spread over the kill rounds; the last round sends what is left.
        let kill_after = (round_no < kill_rounds)
            .then(|| 1 + rng.below(pending.len() / (kill_rounds - round_no)));
        let attempts = if pending.is_empty() {
            Vec::new()
        } else {
            let sent = round(&server, requests, pending, kill_after, &counters);
            tokio::time::timeout(ROUND_LIMIT, sent)
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "seed {seed} round {round_no}: not done in {ROUND_LIMIT:?}\n{}",
                        server.log()
                    )
                })
        };
        if kill_after.is_some() {
            // Also when nothing was left to send: a restart on a crashed file.
            server.kill();
            server.wait().await;
        }
        let context = |what: String| {
            format!(
                "seed {seed}, round {round_no} (kill after {kill_after:?} answers): {what}\nserver log:\n{}",
                server.log()
            )
        };
        pending = attempts
            .into_iter()
            .filter_map(|attempt| {
                ledger.record(requests, attempt, round_no, kill_after.is_some(), &context)
            })
            .collect();
        pending.sort_unstable();
        assert!(
            kill_after.is_some() || pending.is_empty(),
            "{}",
            context("a round without a kill answers every request".into())
        );
        assert!(
            !server.log().contains("panicked"),
            "{}",
            context("the server panicked".into())
        );
        last = Some(server);
    }
    ledger.figures.busy = counters.busy.load(Ordering::Relaxed);
    ledger.figures.reads = counters.reads.load(Ordering::Relaxed);
    ledger.figures.reads_cut = counters.reads_cut.load(Ordering::Relaxed);
    last.expect("at least one round")
}

/// Every acknowledged delivery is in the raw log exactly once, verbatim, and nothing
/// else is; no typed key is stored twice. Returns the raw log's keys in storage order.
fn check_raw_log(seed: u64, db: &Path, deliveries: &[Delivery], ledger: &Ledger) -> Vec<String> {
    let conn = duckdb::Connection::open(db).unwrap();
    let twice = count(
        &conn,
        "SELECT count(*) FROM (SELECT delivery_key FROM raw_events GROUP BY 1 HAVING count(*) > 1)",
    );
    assert_eq!(twice, 0, "seed {seed}: deliveries stored twice");
    for (table, key) in KEYS {
        let sql = format!(
            "SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
        );
        assert_eq!(
            count(&conn, &sql),
            0,
            "seed {seed}: keys of {table} stored twice"
        );
    }
    let log: Vec<(String, String)> = conn
        .prepare("SELECT delivery_key, body FROM raw_events ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let stored: HashMap<&str, &str> = log.iter().map(|(k, b)| (k.as_str(), b.as_str())).collect();
    let lost: Vec<String> = deliveries
        .iter()
        .zip(&ledger.acknowledged)
        .filter(|(d, round)| round.is_some() && !stored.contains_key(d.key.as_str()))
        .map(|(d, round)| format!("{} (acknowledged in round {round:?})", d.line))
        .collect();
    assert!(
        lost.is_empty(),
        "seed {seed}: {} acknowledged deliveries lost:\n{}",
        lost.len(),
        lost.join("\n")
    );
    for (d, round) in deliveries.iter().zip(&ledger.acknowledged) {
        assert!(
            round.is_some(),
            "seed {seed}: {} never acknowledged",
            d.line
        );
        assert_eq!(
            stored[d.key.as_str()],
            d.line,
            "seed {seed}: stored verbatim"
        );
    }
    assert_eq!(
        log.len(),
        deliveries.len(),
        "seed {seed}: nothing else stored"
    );
    log.into_iter().map(|(key, _)| key).collect()
}

/// A clean import of the acknowledged set, in the crashed file's storage order (the
/// order that settles two values of one field, SPEC §8), into `dir/clean.duckdb`.
fn clean_import(dir: &Path, deliveries: &[Delivery], keys_in_order: &[String]) -> PathBuf {
    let by_key: HashMap<&str, &str> = deliveries
        .iter()
        .map(|d| (d.key.as_str(), d.line.as_str()))
        .collect();
    let lines: Vec<&str> = keys_in_order.iter().map(|k| by_key[k.as_str()]).collect();
    let file = dir.join("acknowledged.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let clean = dir.join("clean.duckdb");
    let (db, file) = (clean.to_str().unwrap(), file.to_str().unwrap());
    run_in(dir, &["import", "--db", db, file]);
    clean
}

/// The typed tables and the derived facts of the two files, row for row.
fn compare_tables(seed: u64, crashed: &Path, clean: &Path) {
    let crashed = duckdb::Connection::open(crashed).unwrap();
    let clean = duckdb::Connection::open(clean).unwrap();
    assert_eq!(
        count(&crashed, "SELECT count(*) FROM derivation_pending"),
        0,
        "seed {seed}: the reads paid the debt the kills left"
    );
    for table in TABLES {
        let (a, b) = (rows(&crashed, table), rows(&clean, table));
        let only_crashed: Vec<&String> = a.iter().filter(|r| !b.contains(r)).take(5).collect();
        let only_clean: Vec<&String> = b.iter().filter(|r| !a.contains(r)).take(5).collect();
        assert!(
            a == b,
            "seed {seed}: {table} differs ({} rows after the crashes, {} imported)\nonly after the crashes: {only_crashed:#?}\nonly imported: {only_clean:#?}",
            a.len(),
            b.len()
        );
    }
}

/// One seed: the rounds, the last stop, then every check against a clean import.
async fn crash_and_recover(seed: u64, kill_rounds: usize, stop_with_sigterm: bool) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crashed.duckdb");
    let (deliveries, requests) = plan(seed);
    let requests = Arc::new(requests);
    let mut ledger = Ledger {
        acknowledged: vec![None; deliveries.len()],
        in_doubt: vec![false; requests.len()],
        figures: Figures {
            kill_rounds,
            requests: requests.len(),
            ..Figures::default()
        },
    };
    let server = rounds(seed, dir.path(), &db, &requests, &mut ledger).await;

    // Either the live server's reads after its last restart, then a clean SIGTERM; or
    // one more SIGKILL right after the last answers, leaving the last batches' debt of
    // derived facts to the next open (the CLI reads below).
    let live = if stop_with_sigterm {
        let query = format!("from={FROM}&to={TO}");
        let metrics = get_text(&format!("{}/api/v1/metrics?{query}", server.base)).await;
        let checkout = format!("{}/api/v1/metrics?{query}&service=checkout", server.base);
        let checkout = get_text(&checkout).await;
        let weekly = get_text(&format!("{}/reports/weekly.csv?{query}", server.base)).await;
        let status = server.terminate().await;
        assert!(
            status.success(),
            "SIGTERM stops cleanly: {status}\n{}",
            server.log()
        );
        Some(Reads {
            metrics: serde_json::from_str(&metrics).unwrap(),
            checkout: serde_json::from_str(&checkout).unwrap(),
            weekly,
        })
    } else {
        server.kill();
        server.wait().await;
        None
    };

    let keys_in_order = check_raw_log(seed, &db, &deliveries, &ledger);
    let clean = clean_import(dir.path(), &deliveries, &keys_in_order);
    let imported = reads_of(dir.path(), &clean);
    let crashed = reads_of(dir.path(), &db);
    assert_eq!(crashed, imported, "seed {seed}: reads of the crashed file");
    if let Some(live) = live {
        assert_eq!(live, imported, "seed {seed}: the live server's reads");
    }
    // The acknowledged set is the whole reference, so the reference's figures hold.
    let expected: Value = serde_json::from_str(&reference_text("expected_metrics.json")).unwrap();
    let expected_csv = reference_text("expected_weekly.csv");
    assert_eq!(
        json_differences(&crashed.metrics, &expected),
        Vec::<String>::new()
    );
    assert_eq!(
        csv_differences(&crashed.weekly, &expected_csv),
        Vec::<String>::new()
    );
    compare_tables(seed, &db, &clean);
    ledger.figures
}

/// A comma-separated list of numbers from the environment.
fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}: numbers"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_deliveries_survive_repeated_kill_9_exactly_once() {
    let seeds = env_list("CRASH_SEEDS", "1,2,3");
    let kill_rounds = env_list("CRASH_ROUNDS", "5")[0] as usize;
    let started = Instant::now();
    let mut total = Figures::default();
    for (n, &seed) in seeds.iter().enumerate() {
        let took = Instant::now();
        // Alternately a clean SIGTERM last, or one more SIGKILL.
        let figures = crash_and_recover(seed, kill_rounds, n % 2 == 0).await;
        figures.report(&format!("crash seed {seed}"), took.elapsed());
        total.add(&figures);
    }
    let label = format!("crash total over {} seeds", seeds.len());
    total.report(&label, started.elapsed());
    let chosen = ["CRASH_SEEDS", "CRASH_ROUNDS"]
        .iter()
        .any(|name| std::env::var(name).is_ok());
    assert!(
        chosen || total.kill_rounds >= 10,
        "the default run kills the server at least ten times"
    );
}
