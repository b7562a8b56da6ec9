//! What the benchmarks share: a config for a database in a directory, the scale
//! history written to a file, the service a service page is measured on, the
//! dashboard pages measured, a median and a process's peak memory.

#![allow(dead_code)] // Each benchmark uses its own part.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use duckdb::Connection;
use shiplog_model::{Period, Settings};
use shiplog_queries::Filter;
use shiplog_queries::figures::{Breakdown, Bucket, figures};
use shiplog_queries::scope::Known;
use shiplog_web::Config;

/// The defaults, with the database at `dir/name` and the server on any free port.
pub fn config(dir: &Path, name: &str) -> Config {
    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let mut config = Config::load(Some(empty.as_path()), |_| None).unwrap();
    config.db = dir.join(name);
    config.addr = "127.0.0.1:0".into();
    config
}

/// Writes the scale generator's history (seed 42) to `path` as NDJSON.
pub fn write_scale_history(path: &Path, services: u32, days: u32, end: NaiveDate) {
    let started = Instant::now();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
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
}

/// The service with the most successful production deployments in `period`: the
/// busiest timeline and "what runs where".
pub fn busiest(
    conn: &Connection,
    settings: &Settings,
    period: Period,
) -> Result<(usize, String), shiplog_queries::QueryError> {
    let known = Known::read(conn, settings)?;
    let busiest = figures(
        conn,
        &known.select(&Filter::default()),
        &[Bucket::whole(period)],
        Breakdown::PerService,
    )?
    .into_iter()
    .filter(|f| f.service.is_some())
    .max_by_key(|f| f.deployments)
    .and_then(|f| f.service)
    .unwrap_or_default();
    Ok((known.services.len(), busiest))
}

/// Every dashboard page over `[from, to)`, named, with `service`'s own page.
pub fn pages(service: &str, from: NaiveDate, to: NaiveDate) -> Vec<(String, String)> {
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

/// The middle of `times`.
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A process's peak resident set (`VmHWM`), from /proc: `process` is a pid or `self`.
pub fn peak_rss_mib(process: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// A service's newest successful production deployment that names its repository:
/// `(repo, sha, finished_at in µs)`, the head new commits are chained on.
pub fn newest_deployed(conn: &Connection, service: &str) -> (String, String, i64) {
    conn.query_row(
        "SELECT repo, sha, epoch_us(finished_at) FROM deployments
         WHERE service = ? AND environment = 'production' AND repo IS NOT NULL
           AND coalesce(status, 'success') = 'success'
         ORDER BY finished_at DESC LIMIT 1",
        [service],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}
