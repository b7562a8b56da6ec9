//! Times the payment of derived facts for one appended deployment (three commits and
//! a production deployment, chained on the service's deployed head), twelve times in a
//! row, on a copy of an imported history:
//! `cargo run --release --example bench_pay -- DB SERVICE` (DB is changed: use a copy).

use std::time::Instant;

use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::store::{Staging, Store};
use shiplog_ingest::typed_delivery;
use shiplog_model::Settings;
use shiplog_queries::Deriver;
use shiplog_web::store::owed;

#[path = "common/mod.rs"]
mod common;

fn main() {
    let path = std::env::args().nth(1).unwrap();
    let service = std::env::args().nth(2).unwrap();
    let store = Store::open(std::path::Path::new(&path)).unwrap();
    let mut conn = store.into_connection();
    let mut deriver = Deriver::new(Settings::default());
    assert!(!deriver.ensure_current(&conn).unwrap());
    let mut staging = Staging::for_sole_writer(&conn).unwrap();
    let (repo, mut head, last) = common::newest_deployed(&conn, &service);
    let mut seq: i64 = conn
        .query_row("SELECT max(seq) + 1 FROM raw_events", [], |r| r.get(0))
        .unwrap();
    for run in 0..12 {
        let at = chrono::DateTime::from_timestamp_micros(last + (run + 1) * 3_600_000_000).unwrap();
        let stamp = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut lines = Vec::new();
        for c in 0..3 {
            let sha = format!("feedface{run:016x}{c:016x}");
            lines.push(
                serde_json::json!({"type": "change", "repo": repo, "sha": sha,
                    "parents": [head], "committed_at": stamp})
                .to_string(),
            );
            head = sha;
        }
        lines.push(
            serde_json::json!({"type": "deployment", "id": format!("probe-{run}"),
                "service": service, "environment": "production", "repo": repo,
                "sha": head, "status": "success", "finished_at": stamp})
            .to_string(),
        );
        let deliveries: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| typed_delivery("api", parse_event_text(i + 1, l).unwrap(), at))
            .collect();
        let tx = conn.transaction().unwrap();
        let result = staging.write(&tx, &deliveries, seq).unwrap();
        tx.commit().unwrap();
        seq += deliveries.len() as i64;
        let touched = result.touched;
        let started = Instant::now();
        let tx = conn.transaction().unwrap();
        let paid = deriver.pay(&tx, owed(&touched)).unwrap();
        let paid_in = started.elapsed();
        tx.commit().unwrap();
        eprintln!(
            "run {run}: paid {:.1} ms (+commit {:.1} ms) {paid:?}",
            paid_in.as_secs_f64() * 1e3,
            (started.elapsed() - paid_in).as_secs_f64() * 1e3
        );
    }
}
