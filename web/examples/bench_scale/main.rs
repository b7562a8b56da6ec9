//! The scale benchmark of docs/performance.md: organisation-sized histories from the
//! scale generator, Shiplog's reads beside the Four Keys method on the same DuckDB and
//! the same events (the anchor) and a bare scan of the columns each read needs (the
//! floor), in one run.
//!
//! ```sh
//! cargo run --release --example bench_scale -- [--services 50,500] [--days 730] \
//!     [--runs 10] [--http-seconds 10] [--keep DIR] [--write docs/performance.md]
//! ```
//!
//! Per size: generates the history (`shiplog_sample::generate_scale`, as `shiplog
//! generate` does), imports it through the importer (`shiplog import`), then derives
//! every service again from the stored events alone, timed apart; then times each read
//! `--runs` times after one warm-up and reports the median. Four Keys' `events_raw`
//! is loaded from Shiplog's raw log first (not timed as a read: Four Keys fills it at
//! ingest). `--keep DIR` keeps the databases and reuses them (no generating or
//! importing); `--write FILE` puts the tables between the `bench_scale` markers of
//! FILE. Then the HTTP half (`http.rs`, unless `--http-seconds 0`): `shiplog serve`
//! in its own process on a copy of the database, `wrk` (Debian package `wrk`) posting
//! single events from 64 connections for `--http-seconds` (default 10) and, as the
//! floor, getting `/healthz` the same way; one new deployment with its commits until a
//! read counts it; every dashboard page; the server's peak memory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use duckdb::Connection;
use shiplog_model::Period;
use shiplog_queries::{Deriver, Filter, metrics, weekly_report};
use shiplog_web::Config;

#[path = "../common/mod.rs"]
mod common;
mod http;

/// The last day of every generated history, so runs on different days compare.
const END: &str = "2026-06-30";
const BEGIN: &str = "<!-- bench_scale:begin -->";
const FINISH: &str = "<!-- bench_scale:end -->";

const FOUR_KEYS: &str = include_str!("fourkeys.sql");
const FOUR_KEYS_QUERIES: [(&str, &str); 4] = [
    (
        "deployment frequency",
        include_str!("fourkeys_deployment_frequency.sql"),
    ),
    ("lead time", include_str!("fourkeys_lead_time.sql")),
    (
        "change failure rate",
        include_str!("fourkeys_change_failure_rate.sql"),
    ),
    (
        "time to restore",
        include_str!("fourkeys_time_to_restore.sql"),
    ),
];
const FLOOR: &str = include_str!("floor.sql");

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The median of `runs` timed calls after one warm-up.
fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    f();
    common::median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(f());
                started.elapsed()
            })
            .collect(),
    )
}

/// What loading one size took.
struct Load {
    events: Option<u64>,
    generate: Option<Duration>,
    import: Option<Duration>,
    peak_after_import_mib: Option<f64>,
    derive: Duration,
    four_keys_load: Duration,
}

/// One read: Shiplog's time, the Four Keys method's (if it has one) and the floor's.
struct Read {
    name: String,
    shiplog: Duration,
    target_ms: f64,
    four_keys: Option<Duration>,
    floor: Duration,
}

/// Generates and imports the history unless the database is there already.
async fn load(config: &Config, services: u32, days: u32, end: NaiveDate) -> Load {
    let mut load = Load {
        events: None,
        generate: None,
        import: None,
        peak_after_import_mib: None,
        derive: Duration::ZERO,
        four_keys_load: Duration::ZERO,
    };
    if !config.db.exists() {
        let ndjson = config.db.with_extension("ndjson");
        let started = Instant::now();
        common::write_scale_history(&ndjson, services, days, end);
        load.generate = Some(started.elapsed());
        let started = Instant::now();
        let imported = shiplog_web::cli::import_files(config, &[ndjson.display().to_string()])
            .await
            .unwrap();
        load.import = Some(started.elapsed());
        load.events = Some(imported.read as u64);
        load.peak_after_import_mib = common::peak_rss_mib("self");
        eprintln!("imported: {imported}");
        std::fs::remove_file(&ndjson).unwrap();
    }
    let store = shiplog_ingest::store::Store::open(&config.db).unwrap();
    let conn = store.connection();
    if load.events.is_none() {
        load.events = conn
            .query_row("SELECT count(*) FROM raw_events", [], |r| r.get(0))
            .ok();
    }
    // Every service again from the stored events: the fingerprint no longer matches.
    conn.execute("DELETE FROM derivation_state", []).unwrap();
    let started = Instant::now();
    assert!(
        Deriver::new(config.settings.clone())
            .ensure_current(conn)
            .unwrap()
    );
    load.derive = started.elapsed();
    let started = Instant::now();
    conn.execute_batch(FOUR_KEYS).unwrap();
    load.four_keys_load = started.elapsed();
    load
}

fn four_keys(conn: &Connection, runs: usize, period: Period, service: Option<&str>) -> Duration {
    FOUR_KEYS_QUERIES
        .iter()
        .map(|(_, sql)| time_sql(conn, runs, sql, period, service))
        .sum()
}

fn time_sql(
    conn: &Connection,
    runs: usize,
    sql: &str,
    period: Period,
    service: Option<&str>,
) -> Duration {
    let (from, to) = (period.from().to_string(), period.to().to_string());
    let mut stmt = conn.prepare(sql).unwrap();
    median(runs, || {
        let mut rows = stmt.query(duckdb::params![from, to, service]).unwrap();
        while rows.next().unwrap().is_some() {}
    })
}

/// The last 90 days of the history.
fn days90(end: NaiveDate) -> Period {
    let to = end + Days::new(1);
    Period::new(to - Days::new(90), to).unwrap()
}

fn reads(
    conn: &Connection,
    config: &Config,
    runs: usize,
    end: NaiveDate,
    service: &String,
) -> Vec<Read> {
    let to = end + Days::new(1);
    let days90 = days90(end);
    let years2 = Period::new(to - Days::new(730), to).unwrap();
    let weeks52 = Period::new(to - Days::new(7 * 52), to).unwrap();
    let mut reads = Vec::new();
    for (name, period, one, target_ms) in [
        (
            "metrics JSON, whole organisation, 90 days",
            days90,
            None,
            150.0,
        ),
        (
            "metrics JSON, whole organisation, 2 years",
            years2,
            None,
            150.0,
        ),
        (
            "metrics JSON, one service, 90 days",
            days90,
            Some(service),
            20.0,
        ),
        (
            "metrics JSON, one service, 2 years",
            years2,
            Some(service),
            20.0,
        ),
    ] {
        let filter = Filter {
            service: one.cloned(),
            team: None,
        };
        reads.push(Read {
            name: name.to_owned(),
            shiplog: median(runs, || {
                metrics(conn, &config.settings, period, &filter).unwrap()
            }),
            target_ms,
            four_keys: Some(four_keys(conn, runs, period, one.map(String::as_str))),
            floor: time_sql(conn, runs, FLOOR, period, one.map(String::as_str)),
        });
    }
    reads.push(Read {
        name: "weekly CSV, 52 weeks × every service".to_owned(),
        shiplog: median(runs, || {
            let rows = weekly_report(conn, &config.settings, weeks52, &Filter::default()).unwrap();
            shiplog_queries::weekly::to_csv(&rows)
        }),
        target_ms: 1000.0,
        four_keys: None,
        floor: time_sql(conn, runs, FLOOR, weeks52, None),
    });
    reads
}

fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.1}×", a.as_secs_f64() / b.as_secs_f64())
}

/// Everything measured at one size.
struct Size {
    name: String,
    load: Load,
    reads: Vec<Read>,
    /// Each Four Keys query over two years, whole organisation.
    per_metric: Vec<(String, Duration)>,
    http: Option<http::Http>,
}

fn table(sizes: &[Size]) -> String {
    let mut out = String::new();
    out.push_str("| size | events | generate | import (derived once, at its end) | events/s | peak memory after import | full derivation (target ≤ 30 s at 500) | Four Keys `events_raw` load |\n|---|---|---|---|---|---|---|---|\n");
    for Size {
        name: size, load, ..
    } in sizes
    {
        let secs = |d: Option<Duration>| {
            d.map_or("kept".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
        };
        let rate = match (load.events, load.import) {
            (Some(n), Some(d)) => format!("{:.0}", n as f64 / d.as_secs_f64()),
            _ => "kept".to_owned(),
        };
        out.push_str(&format!(
            "| {size} | {} | {} | {} | {rate} | {} | {:.1} s | {:.1} s |\n",
            load.events.map_or("?".to_owned(), |n| n.to_string()),
            secs(load.generate),
            secs(load.import),
            load.peak_after_import_mib
                .map_or("kept".to_owned(), |m| format!("{m:.0} MiB")),
            load.derive.as_secs_f64(),
            load.four_keys_load.as_secs_f64(),
        ));
    }
    out.push_str("\n| size | read | Shiplog ms | target ms | Four Keys ms (4 queries) | faster than Four Keys (target ≥ 100×) | floor ms | × the floor (target ≤ 2×) |\n|---|---|---|---|---|---|---|---|\n");
    for Size {
        name: size, reads, ..
    } in sizes
    {
        for r in reads {
            out.push_str(&format!(
                "| {size} | {} | {:.1} | {:.0} | {} | {} | {:.1} | {} |\n",
                r.name,
                ms(r.shiplog),
                r.target_ms,
                r.four_keys
                    .map_or("—".to_owned(), |d| format!("{:.1}", ms(d))),
                r.four_keys.map_or("—".to_owned(), |d| ratio(d, r.shiplog)),
                ms(r.floor),
                ratio(r.shiplog, r.floor),
            ));
        }
    }
    out.push_str("\n| size | Four Keys query, whole organisation, 2 years | ms |\n|---|---|---|\n");
    for Size {
        name: size,
        per_metric,
        ..
    } in sizes
    {
        for (name, d) in per_metric {
            out.push_str(&format!("| {size} | {name} | {:.1} |\n", ms(*d)));
        }
    }
    let served: Vec<(&str, &http::Http)> = sizes
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.http.as_ref()?)))
        .collect();
    if !served.is_empty() {
        out.push_str(&http_tables(&served));
    }
    out
}

fn http_tables(served: &[(&str, &http::Http)]) -> String {
    let mut out = String::new();
    out.push_str("\n| size | single-event posts, 64 connections: durable events/s (target ≥ 20,000) | p50 ms | p99 ms (target ≤ 25) | max ms | refused (503) / socket errors | `GET /healthz` requests/s | posts ÷ `/healthz` (target ≥ 0.5) | payments of derived facts during the load (total s) | first read after the load ms |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for (size, h) in served {
        let rate = h.stored as f64 / h.ingest.seconds;
        out.push_str(&format!(
            "| {size} | {rate:.0} | {:.1} | {:.1} | {:.0} | {} / {} | {:.0} | {:.2} | {} ({:.1} s) | {:.0} |\n",
            ms(h.ingest.p50),
            ms(h.ingest.p99),
            ms(h.ingest.max),
            h.ingest.refused,
            h.ingest.socket_errors,
            h.healthz.rate(),
            rate / h.healthz.rate(),
            h.settles,
            h.settle_seconds,
            ms(h.settle_after_load),
        ));
    }
    out.push_str("\n| size | new deployment + 3 commits: post to `202` ms | `202` to a read that counts it ms (target ≤ 5) | the same read, nothing owed, ms | server peak memory MiB (target ≤ 1024) |\n|---|---|---|---|---|\n");
    for (size, h) in served {
        let n = &h.new_deployment;
        out.push_str(&format!(
            "| {size} | {:.1} | {:.1} | {:.1} | {:.0} |\n",
            ms(n.ack),
            ms(n.visible),
            ms(n.read),
            h.peak_rss_mib
        ));
    }
    out.push_str("\n| dashboard page, last 90 days, over HTTP (target ≤ 100 ms) |");
    for (size, _) in served {
        out.push_str(&format!(" {size} ms |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(served.len()));
    out.push('\n');
    for (i, (page, _)) in served[0].1.pages.iter().enumerate() {
        out.push_str(&format!("| {page} |"));
        for (_, h) in served {
            out.push_str(&format!(" {:.1} |", ms(h.pages[i].1)));
        }
        out.push('\n');
    }
    out
}

/// Puts `tables` between the markers of `path`, or after its end without them.
fn write_into(path: &Path, tables: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let section = format!("{BEGIN}\n{tables}{FINISH}");
    let text = match (text.find(BEGIN), text.find(FINISH)) {
        (Some(b), Some(f)) if b < f => {
            format!("{}{section}{}", &text[..b], &text[f + FINISH.len()..])
        }
        _ => format!("{}\n{section}\n", text.trim_end()),
    };
    std::fs::write(path, text).unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some(http::AS_SHIPLOG) {
        return http::run_as_shiplog().await;
    }
    let sizes: Vec<u32> = flag("--services")
        .unwrap_or_else(|| "50".into())
        .split(',')
        .map(|s| s.parse().expect("--services 50,500"))
        .collect();
    let days: u32 = flag("--days").map_or(730, |d| d.parse().unwrap());
    let runs: usize = flag("--runs").map_or(10, |r| r.parse().unwrap());
    let http_seconds: u32 = flag("--http-seconds").map_or(10, |s| s.parse().unwrap());
    let work = tempfile::tempdir().unwrap();
    let dir: PathBuf = flag("--keep").map_or_else(|| work.path().to_owned(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    let end: NaiveDate = END.parse().unwrap();

    let mut results = Vec::new();
    for services in sizes {
        let config = common::config(&dir, &format!("scale-{services}x{days}.duckdb"));
        let load = load(&config, services, days, end).await;
        let store = shiplog_ingest::store::Store::open(&config.db).unwrap();
        let conn = store.connection();
        let (_, service) = common::busiest(conn, &config.settings, days90(end)).unwrap();
        eprintln!("one service: {service}");
        let reads = reads(conn, &config, runs, end, &service);
        let to = end + Days::new(1);
        let years2 = Period::new(to - Days::new(730), to).unwrap();
        let per_metric = FOUR_KEYS_QUERIES
            .iter()
            .map(|(name, sql)| ((*name).to_owned(), time_sql(conn, runs, sql, years2, None)))
            .collect();
        let subject = http::Subject::read(conn, &service);
        drop(store);
        let http = if http_seconds > 0 {
            Some(http::measure(&config.db, &subject, end, http_seconds, runs).await)
        } else {
            None
        };
        results.push(Size {
            name: format!("{services} × {days}"),
            load,
            reads,
            per_metric,
            http,
        });
    }
    let tables = table(&results);
    println!("{tables}");
    if let Some(path) = flag("--write") {
        write_into(Path::new(&path), &tables);
        eprintln!("written into {path}");
    }
}
