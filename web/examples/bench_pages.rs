//! Render time of every dashboard page, reported in docs/performance.md.
//!
//! ```sh
//! cargo run --release --example bench_pages -- [--scale SERVICES DAYS] [--runs N] [--keep DIR] [--only PAGE]
//! ```
//!
//! With `--keep DIR` the databases are kept in `DIR` and reused by the next run with
//! the same sizes, which then skips generating and importing. `--only` times the
//! pages whose name contains `PAGE`.
//!
//! Builds the demo's history (five services, 183 days) and, with `--scale`, an
//! organisation from the scale generator, imports each into a fresh database through
//! the importer, then renders each page through the router in process (handler, the
//! queries, the template; no socket) `N` times after two warm-up runs, over the last
//! 90 days of the history. Prints one markdown table: median and slowest run per page.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use shiplog_model::Period;
use shiplog_web::{Application, Mode, router};
use tower::ServiceExt;

#[path = "common/mod.rs"]
mod common;

const END: &str = "2026-06-30";

fn args() -> Vec<String> {
    std::env::args().collect()
}

fn flag_values(name: &str, n: usize) -> Option<Vec<String>> {
    let args = args();
    let at = args.iter().position(|a| a == name)?;
    Some(args[at + 1..at + 1 + n].to_vec())
}

/// The last 90 days of the history: `[from, to)`.
fn window() -> (chrono::NaiveDate, chrono::NaiveDate) {
    let end: chrono::NaiveDate = END.parse().unwrap();
    let to = end + chrono::Days::new(1);
    (to - chrono::Days::new(90), to)
}

/// The pages over the window, with one service's own page.
fn pages(service: &str) -> Vec<(String, String)> {
    let (from, to) = window();
    common::pages(service, from, to)
}

/// Loads the events `write` writes into database `name` of `dir` (unless it is there
/// from an earlier run) and times every page: (page, median, max).
async fn measure(
    dir: &std::path::Path,
    name: &str,
    write: impl FnOnce(&std::path::Path),
    runs: usize,
) -> (usize, Vec<(String, Duration, Duration)>) {
    let config = common::config(dir, &format!("{name}.duckdb"));
    if !config.db.exists() {
        let ndjson = dir.join(format!("{name}.ndjson"));
        write(&ndjson);
        let started = Instant::now();
        let summary = shiplog_web::cli::import_files(&config, &[ndjson.display().to_string()])
            .await
            .unwrap();
        eprintln!(
            "imported {name} in {:.1} s: {summary}",
            started.elapsed().as_secs_f64()
        );
        std::fs::remove_file(&ndjson).unwrap();
    }
    let app = Application::build(config, Mode::Serve).await.unwrap();
    let state = app.state().clone();
    let settings = state.config.settings.clone();
    // The service page of the service with the most successful production
    // deployments in the window: the busiest timeline and "what runs where".
    let (services, busiest) = state
        .read(move |conn| {
            let (from, to) = window();
            common::busiest(
                conn,
                &settings,
                Period::new(from, to).expect("a valid window"),
            )
        })
        .await
        .unwrap();
    eprintln!("{name}: the service page is {busiest}'s");
    let mut rows = Vec::new();
    let only = flag_values("--only", 1).map(|v| v[0].clone());
    for (name, path) in pages(&busiest)
        .into_iter()
        .filter(|(name, _)| only.as_ref().is_none_or(|o| name.contains(o.as_str())))
    {
        let mut times = Vec::new();
        for run in 0..runs + 2 {
            let request = Request::get(&path).body(Body::empty()).unwrap();
            let started = Instant::now();
            let response = router(state.clone()).oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 256 << 20)
                .await
                .unwrap();
            let took = started.elapsed();
            assert_eq!(
                status,
                StatusCode::OK,
                "{path}: {}",
                String::from_utf8_lossy(&body)
            );
            if run >= 2 {
                times.push(took);
            }
        }
        times.sort();
        rows.push((name, times[times.len() / 2], *times.last().unwrap()));
    }
    (services, rows)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = flag_values("--runs", 1)
        .and_then(|v| v[0].parse().ok())
        .unwrap_or(20);
    let work = tempfile::tempdir().unwrap();
    let dir =
        flag_values("--keep", 1).map_or_else(|| work.path().to_owned(), |v| v[0].clone().into());
    std::fs::create_dir_all(&dir).unwrap();
    let end: chrono::NaiveDate = END.parse().unwrap();

    let demo = shiplog_sample::Options {
        seed: 42,
        end,
        days: 183,
    };
    let mut columns = vec![(
        "demo".to_owned(),
        measure(
            &dir,
            "demo",
            |path| {
                let events = shiplog_sample::generate(&demo);
                std::fs::write(path, shiplog_sample::to_ndjson(&events)).unwrap();
            },
            runs,
        )
        .await,
    )];

    if let Some(v) = flag_values("--scale", 2) {
        let (services, days): (u32, u32) = (v[0].parse().unwrap(), v[1].parse().unwrap());
        let write = |path: &std::path::Path| common::write_scale_history(path, services, days, end);
        columns.push((
            format!("{services} services × {days} days"),
            measure(&dir, &format!("scale-{services}x{days}"), write, runs).await,
        ));
    }

    let mut header = String::from("| page |");
    let mut rule = String::from("|---|");
    for (name, (services, _)) in &columns {
        header.push_str(&format!(
            " {name}, {services} services: median / slowest ms |"
        ));
        rule.push_str("---|");
    }
    println!("{header}\n{rule}");
    for (i, (page, _, _)) in columns[0].1.1.iter().enumerate() {
        let mut line = format!("| {page} |");
        for (_, (_, rows)) in &columns {
            line.push_str(&format!(" {} / {} |", ms(rows[i].1), ms(rows[i].2)));
        }
        println!("{line}");
    }
}
