//! Ingest and read benchmarks on this machine, reported in docs/performance.md.
//!
//! ```sh
//! cargo run --release --example bench_ingest -- [--events N] [--clients C]
//! ```
//!
//! 1. Single-event HTTP posts: C concurrent clients over real sockets, each posting
//!    one event per request, each answered only after its commit.
//! 2. `shiplog import`: the generated history as NDJSON files through the importer.
//! 3. Reads: the metrics JSON and the weekly report over that history.
//!
//! Wall time is measured here and only here: the tests assert behaviour, not speed.

use std::time::Instant;

use secrecy::SecretString;
use shiplog_model::Period;
use shiplog_queries::{Filter, metrics, weekly};
use shiplog_web::{Application, Config, Mode};

#[path = "common/mod.rs"]
mod common;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(dir: &std::path::Path, name: &str) -> Config {
    let mut config = common::config(dir, name);
    config.tokens.ingest = Some(SecretString::from("bench"));
    config
}

fn history(seed: u64, days: u32) -> Vec<String> {
    let end = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    let events = shiplog_sample::generate(&shiplog_sample::Options { seed, end, days });
    events.iter().map(|e| e.to_string()).collect()
}

async fn http_single_events(lines: &[String], clients: usize) {
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(config(dir.path(), "http.duckdb"), Mode::Serve)
        .await
        .unwrap();
    let url = format!("http://{}/api/v1/events", app.local_addr());
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mine: Vec<String> = lines.iter().skip(c).step_by(clients).cloned().collect();
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            for line in mine {
                loop {
                    let r = client
                        .post(&url)
                        .bearer_auth("bench")
                        .header("content-type", "application/json")
                        .body(line.clone())
                        .send()
                        .await
                        .unwrap();
                    match r.status().as_u16() {
                        200 | 202 => break,
                        503 => refused += 1,
                        other => panic!("unexpected status {other}"),
                    }
                }
            }
            refused
        }));
    }
    let mut refused = 0;
    for t in tasks {
        refused += t.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "http single-event posts: {} events, {clients} clients, {seconds:.2} s, {:.0} events/s ({refused} retried after 503)",
        lines.len(),
        lines.len() as f64 / seconds
    );
    let stats = state.db.writer.stats();
    let load = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
    let batches = load(&stats.batches);
    println!(
        "  writer: {batches} batches ({:.0} events each, {:.1} ms each), {} settles ({:.0} ms each)",
        lines.len() as f64 / batches as f64,
        load(&stats.batch_micros_total) as f64 / 1e3 / batches as f64,
        load(&stats.settles),
        load(&stats.settle_micros_total) as f64 / 1e3 / load(&stats.settles).max(1) as f64,
    );
    let _ = stop.send(());
    served.await.unwrap().unwrap();
}

async fn import_and_read(lines: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "import.duckdb");
    let file = dir.path().join("events.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let started = Instant::now();
    let summary = shiplog_web::cli::import_files(&config, &[file.display().to_string()])
        .await
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "shiplog import: {} events in {seconds:.2} s, {:.0} events/s ({summary})",
        lines.len(),
        lines.len() as f64 / seconds
    );

    let store = shiplog_ingest::store::Store::open(&config.db).unwrap();
    let conn = store.connection();
    let period = Period::new("2026-01-01".parse().unwrap(), "2026-07-01".parse().unwrap()).unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        let m = metrics(conn, &config.settings, period, &Filter::default()).unwrap();
        let metrics_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let rows =
            weekly::weekly_report(conn, &config.settings, period, &Filter::default()).unwrap();
        let weekly_ms = started.elapsed().as_secs_f64() * 1e3;
        println!(
            "reads: metrics JSON over {} deployments {metrics_ms:.1} ms; weekly report ({} rows) {weekly_ms:.1} ms",
            m.deployment_frequency.deployments,
            rows.len()
        );
    }
}

#[tokio::main]
async fn main() {
    let events = arg("--events", 20_000);
    let clients = arg("--clients", 64);
    // Histories of several seeds: distinct events, as many as asked for.
    let mut lines = Vec::new();
    for seed in 1.. {
        if lines.len() >= events {
            break;
        }
        lines.extend(history(seed, 183));
    }
    lines.truncate(events);
    http_single_events(&lines, clients).await;
    import_and_read(&history(7, 183 * 4)).await;
}
