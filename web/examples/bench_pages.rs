//! Render time of every dashboard page, reported in docs/performance.md.
//!
//! ```sh
//! cargo run --release --example bench_pages -- [--scale SERVICES DAYS] [--runs N]
//! ```
//!
//! Builds the demo's history (five services, 183 days) and, with `--scale`, an
//! organisation from the scale generator, imports each into a fresh database through
//! the importer, then renders each page through the router in process (handler, the
//! queries, the template; no socket) `N` times after two warm-up runs, over the last
//! 90 days of the history. Prints one markdown table: median and slowest run per page.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use shiplog_web::{Application, Config, Mode, router};
use tower::ServiceExt;

const END: &str = "2026-06-30";

fn args() -> Vec<String> {
    std::env::args().collect()
}

fn flag_values(name: &str, n: usize) -> Option<Vec<String>> {
    let args = args();
    let at = args.iter().position(|a| a == name)?;
    Some(args[at + 1..at + 1 + n].to_vec())
}

fn config(dir: &std::path::Path) -> Config {
    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let mut config = Config::load(Some(empty.as_path()), |_| None).unwrap();
    config.db = dir.join("bench.duckdb");
    config.addr = "127.0.0.1:0".into();
    config
}

/// The pages, with the last 90 days of the history and one service's own page.
fn pages(service: &str) -> Vec<(String, String)> {
    let end: chrono::NaiveDate = END.parse().unwrap();
    let to = end + chrono::Days::new(1);
    let from = to - chrono::Days::new(90);
    let q = format!("from={from}&to={to}");
    let mut pages = vec![("overview".to_owned(), format!("/?{q}"))];
    for slug in [
        "deployment-frequency",
        "lead-time",
        "change-failure-rate",
        "failed-deployment-recovery",
        "time-to-restore",
        "rework-rate",
    ] {
        pages.push((format!("metric {slug}"), format!("/metrics/{slug}?{q}")));
    }
    for slug in ["deployment-frequency", "lead-time", "time-to-restore"] {
        pages.push((format!("explain {slug}"), format!("/explain/{slug}?{q}")));
    }
    pages.push(("services".into(), format!("/services?{q}")));
    pages.push((
        "service page".into(),
        format!(
            "/services/{}?{q}",
            service.replace('@', "%40").replace('/', "%2F")
        ),
    ));
    pages.push(("data health".into(), format!("/data-health?{q}")));
    pages
}

/// Loads `ndjson` into a fresh database and times every page: (page, median, max).
async fn measure(
    ndjson: &std::path::Path,
    runs: usize,
) -> (usize, Vec<(String, Duration, Duration)>) {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let started = Instant::now();
    let summary = shiplog_web::cli::import_files(&config, &[ndjson.display().to_string()])
        .await
        .unwrap();
    eprintln!(
        "imported in {:.1} s: {summary}",
        started.elapsed().as_secs_f64()
    );
    let app = Application::build(config, Mode::Serve).await.unwrap();
    let state = app.state().clone();
    let settings = state.config.settings.clone();
    let services = state
        .read(move |conn| shiplog_queries::scope::services(conn, &settings))
        .await
        .unwrap();
    let first = services
        .first()
        .map(|s| s.service.clone())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for (name, path) in pages(&first) {
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
    (services.len(), rows)
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
    let end: chrono::NaiveDate = END.parse().unwrap();

    let demo = work.path().join("demo.ndjson");
    let events = shiplog_sample::generate(&shiplog_sample::Options {
        seed: 42,
        end,
        days: 183,
    });
    std::fs::write(&demo, shiplog_sample::to_ndjson(&events)).unwrap();
    let mut columns = vec![(
        format!("demo ({} events)", events.len()),
        measure(&demo, runs).await,
    )];

    if let Some(v) = flag_values("--scale", 2) {
        let (services, days): (u32, u32) = (v[0].parse().unwrap(), v[1].parse().unwrap());
        let scale = work.path().join("scale.ndjson");
        let started = Instant::now();
        let mut out = std::io::BufWriter::new(std::fs::File::create(&scale).unwrap());
        let summary = shiplog_sample::generate_scale(
            &shiplog_sample::ScaleOptions {
                seed: 42,
                services,
                days,
                end,
            },
            &mut out,
        )
        .unwrap();
        drop(out);
        eprintln!(
            "generated {services} services × {days} days in {:.1} s: {summary:?}",
            started.elapsed().as_secs_f64()
        );
        columns.push((
            format!("{services} services × {days} days"),
            measure(&scale, runs).await,
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
