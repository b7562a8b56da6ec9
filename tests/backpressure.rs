//! Backpressure (issue 10, item 4): when the writer falls behind, its queue stays
//! within `writer_queue_events`, ingest answers `503` with a `Retry-After` from the
//! writer's pace and the queue, readiness says the queue is full, and nothing refused
//! is stored nor anything queued lost; a load test on the real binary shows the queue
//! bound and the server's peak memory under many more senders than the queue holds.
//!
//! The load test's figures are printed
//! (`cargo test --release --test backpressure -- --nocapture`) and recorded in
//! docs/performance.md; no test asserts a time.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{INGEST_TOKEN, ServedBinary, TestApp, spawn_app};

/// Bounds a wait for a condition the server reaches at once.
const WAIT: Duration = Duration::from_secs(30);

/// `n` distinct deployments as NDJSON, ids prefixed with `tag`.
fn deployments(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"deployment","id":"{tag}-{i}","service":"shop","sha":"{tag}{i:x}","finished_at":"2026-03-02T11:00:00Z"}}"#
            ) + "\n"
        })
        .collect()
}

async fn post(app: &TestApp, body: String) -> (u16, Option<String>, Value) {
    let response = app
        .client
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, response.json().await.unwrap_or(Value::Null))
}

/// Waits (bounded) until `done` holds; the condition is what synchronises, the short
/// pause between looks only saves the CPU.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < WAIT,
            "not reached within {WAIT:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn a_full_queue_is_refused_with_retry_after_and_nothing_queued_is_lost() {
    const CAPACITY: usize = 100;
    let app = spawn_app(|c| c.writer_queue_events = CAPACITY).await;
    // A first batch, so that the writer has a pace to go by.
    let (status, _, body) = post(&app, deployments("warm", 50)).await;
    assert_eq!(status, 202, "{body}");

    let pause = app.state.db.writer.pause();
    // Four senders fill the queue exactly; they wait for the paused writer.
    let app = Arc::new(app);
    let waiting: Vec<_> = (0..4)
        .map(|s| {
            let app = app.clone();
            tokio::spawn(async move { post(&app, deployments(&format!("queued{s}"), 25)).await })
        })
        .collect();
    until("the queue is full", || {
        app.state.db.writer.queued() == CAPACITY
    })
    .await;

    // Every further sender is refused at once, and the queue does not grow.
    let mut refused = Vec::new();
    for s in 0..20 {
        let body = deployments(&format!("refused{s}"), 10);
        let (status, retry, answer) = post(&app, body.clone()).await;
        assert_eq!(status, 503, "{answer}");
        let retry: u64 = retry
            .expect("a 503 for a full queue carries Retry-After")
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        assert_eq!(
            answer["error"],
            format!("the writer's queue is full ({CAPACITY} events waiting); retry shortly"),
            "{answer}"
        );
        assert_eq!(app.state.db.writer.queued(), CAPACITY);
        refused.push(body);
    }
    let (status, readiness) = app.get_text("/readyz").await;
    assert_eq!(status, 503, "{readiness}");
    let readiness: Value = serde_json::from_str(&readiness).unwrap();
    assert_eq!(readiness["status"], "the writer's queue is full");
    assert_eq!(readiness["queue"]["events"], CAPACITY);
    assert_eq!(readiness["queue"]["capacity"], CAPACITY);
    let (status, liveness) = app.get_text("/healthz").await;
    assert_eq!(
        status, 200,
        "a full queue is no reason to restart: {liveness}"
    );
    assert_eq!(
        app.raw_events(),
        50,
        "nothing refused or still queued is stored"
    );

    // The writer catches up: every queued sender gets its 202, then the refused ones
    // are sent again and taken.
    drop(pause);
    for sender in waiting {
        let (status, _, answer) = sender.await.unwrap();
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["accepted"], 25, "{answer}");
    }
    for body in refused {
        let (status, _, answer) = post(&app, body).await;
        assert_eq!(status, 202, "{answer}");
    }
    assert_eq!(app.raw_events(), 50 + 4 * 25 + 20 * 10);
    let (status, readiness) = app.get_text("/readyz").await;
    assert_eq!(status, 200, "{readiness}");
    Arc::into_inner(app).unwrap().stop().await;
}

/// Peak resident memory of a process, from /proc (kB).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[tokio::test]
async fn under_load_the_queue_stays_bounded_and_every_refusal_is_retried_into_the_log() {
    const SENDERS: usize = 64;
    const POSTS: usize = 40;
    const EVENTS: usize = 100;
    const CAPACITY: usize = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shiplog.duckdb");
    let config = dir.path().join("shiplog.toml");
    std::fs::write(&config, format!("writer_queue_events = {CAPACITY}\n")).unwrap();
    let server = Arc::new(ServedBinary::start(dir.path(), &db, Some(&config)).await);
    let pid = server.pid();
    let client = reqwest::Client::builder().timeout(WAIT).build().unwrap();
    let refusals = Arc::new(AtomicU64::new(0));
    let deepest = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();

    // One prober reads readiness while the senders post: the queue it reports never
    // passes the capacity.
    let stop = Arc::new(tokio::sync::Notify::new());
    let prober = {
        let (client, server, deepest, stop) = (
            client.clone(),
            server.clone(),
            deepest.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut probes = 0_u64;
            loop {
                let read = client.get(format!("{}/readyz", server.base)).send();
                tokio::select! {
                    () = stop.notified() => break probes,
                    answer = read => {
                        let health: Value = answer.unwrap().json().await.unwrap();
                        let queued = health["queue"]["events"].as_u64().unwrap() as usize;
                        assert!(queued <= CAPACITY, "queue {queued} over {CAPACITY}: {health}");
                        deepest.fetch_max(queued, Ordering::Relaxed);
                        probes += 1;
                    }
                }
            }
        })
    };
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let (client, server, refusals) = (client.clone(), server.clone(), refusals.clone());
            tokio::spawn(async move {
                for p in 0..POSTS {
                    let body = deployments(&format!("s{s}p{p}"), EVENTS);
                    loop {
                        let answer = client
                            .post(format!("{}/api/v1/events", server.base))
                            .bearer_auth(INGEST_TOKEN)
                            .header("content-type", "application/x-ndjson")
                            .body(body.clone())
                            .send()
                            .await
                            .unwrap();
                        match answer.status().as_u16() {
                            202 => break,
                            503 => {
                                assert!(answer.headers().contains_key("retry-after"));
                                refusals.fetch_add(1, Ordering::Relaxed);
                                // A test sender does not wait the whole Retry-After:
                                // the point is to keep the queue full.
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                            other => panic!("{other}: {}", answer.text().await.unwrap()),
                        }
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    stop.notify_one();
    let probes = prober.await.unwrap();
    let elapsed = started.elapsed();
    let peak_kb = peak_rss_kb(pid);
    let status = server.terminate().await;
    assert!(status.success(), "{}", server.log());

    let conn = duckdb::Connection::open(&db).unwrap();
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM deployments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        stored as usize,
        SENDERS * POSTS * EVENTS,
        "every event once"
    );
    println!(
        "backpressure load: {SENDERS} senders × {POSTS} posts × {EVENTS} events, queue {CAPACITY}: \
         {stored} stored in {elapsed:.1?}, {} refusals (503), deepest queue seen {} in {probes} probes, \
         server peak RSS {} MiB",
        refusals.load(Ordering::Relaxed),
        deepest.load(Ordering::Relaxed),
        peak_kb / 1024
    );
}
