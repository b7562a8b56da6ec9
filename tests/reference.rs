//! The reference set (`tests/reference/`, a copy of the product's shared reference
//! data): imported through the CLI and through the HTTP API, the weekly CSV and the
//! metrics JSON must match the expected files cell for cell; shuffled arrival orders
//! must give identical output.

mod support;

use serde_json::Value;
use shiplog_queries::{Filter, metrics, weekly};
use support::{
    FROM, TO, csv_differences, json_differences, reference, reference_text, run, shuffled,
    spawn_app, test_config,
};

fn assert_no_differences(what: &str, differences: Vec<String>) {
    assert!(
        differences.is_empty(),
        "{what} differs from the reference:\n{}",
        differences.join("\n")
    );
}

#[test]
fn cli_import_matches_the_reference_cell_for_cell() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ref.duckdb");
    let db = db.to_str().unwrap();
    let events = reference("events.ndjson");
    let import = run(&["import", "--db", db, events.to_str().unwrap()]);
    assert!(
        import.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    let summary = String::from_utf8_lossy(&import.stderr);
    assert!(summary.contains("612 event(s) read"), "{summary}");
    assert!(summary.contains("0 bad line(s)"), "{summary}");

    let report = run(&["report", "weekly", "--db", db, "--from", FROM, "--to", TO]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let csv = String::from_utf8(report.stdout).unwrap();
    assert_no_differences(
        "weekly CSV",
        csv_differences(&csv, &reference_text("expected_weekly.csv")),
    );

    for (file, extra) in [
        ("expected_metrics.json", vec![]),
        (
            "expected_metrics_checkout.json",
            vec!["--service", "checkout"],
        ),
    ] {
        let mut args = vec!["metrics", "--db", db, "--from", FROM, "--to", TO];
        args.extend(extra);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let actual: Value = serde_json::from_slice(&out.stdout).unwrap();
        let expected: Value = serde_json::from_str(&reference_text(file)).unwrap();
        assert_no_differences(file, json_differences(&actual, &expected));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_ingest_matches_the_reference_cell_for_cell() {
    let app = spawn_app(|_| {}).await;
    // In chunks of 100 lines, so that the events arrive over several transactions.
    let lines: Vec<String> = reference_text("events.ndjson")
        .lines()
        .map(str::to_owned)
        .collect();
    let mut accepted = 0;
    for chunk in lines.chunks(100) {
        let (status, body) = app
            .post_events(chunk.join("\n"), "application/x-ndjson")
            .await;
        assert!(status == 202 || status == 200, "{status} {body}");
        accepted += body["accepted"].as_u64().unwrap();
    }
    assert!(
        accepted > 500 && accepted < 612,
        "the reference holds repeats: {accepted} accepted"
    );

    let (status, csv) = app
        .get_text(&format!("/reports/weekly.csv?from={FROM}&to={TO}"))
        .await;
    assert_eq!(status, 200, "{csv}");
    assert_no_differences(
        "weekly CSV",
        csv_differences(&csv, &reference_text("expected_weekly.csv")),
    );

    for (file, query) in [
        ("expected_metrics.json", ""),
        ("expected_metrics_checkout.json", "&service=checkout"),
    ] {
        let (status, body) = app
            .get_text(&format!("/api/v1/metrics?from={FROM}&to={TO}{query}"))
            .await;
        assert_eq!(status, 200, "{body}");
        let actual: Value = serde_json::from_str(&body).unwrap();
        let expected: Value = serde_json::from_str(&reference_text(file)).unwrap();
        assert_no_differences(file, json_differences(&actual, &expected));
    }
    app.stop().await;
}

/// Imports `lines` as separate files of `per_file` lines (one transaction each) and
/// returns the weekly CSV and the metrics JSON.
async fn import_and_report(lines: &[String], per_file: usize) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let mut files = Vec::new();
    for (n, chunk) in lines.chunks(per_file).enumerate() {
        let path = dir.path().join(format!("part-{n:03}.ndjson"));
        std::fs::write(&path, chunk.join("\n")).unwrap();
        files.push(path.display().to_string());
    }
    let summary = shiplog_web::cli::import_files(&config, &files)
        .await
        .unwrap();
    assert_eq!(summary.bad, 0);
    let store = shiplog_ingest::store::Store::open(&config.db).unwrap();
    let period = shiplog_model::Period::new(FROM.parse().unwrap(), TO.parse().unwrap()).unwrap();
    let conn = store.connection();
    let rows = weekly::weekly_report(conn, &config.settings, period, &Filter::default()).unwrap();
    let json = metrics(conn, &config.settings, period, &Filter::default()).unwrap();
    (weekly::to_csv(&rows), serde_json::to_string(&json).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_arrival_orders_give_identical_output() {
    let lines: Vec<String> = reference_text("events.ndjson")
        .lines()
        .map(str::to_owned)
        .collect();
    let (csv, json) = import_and_report(&lines, lines.len()).await;
    assert_no_differences(
        "weekly CSV",
        csv_differences(&csv, &reference_text("expected_weekly.csv")),
    );
    for seed in [1, 2, 3, 4, 5] {
        let (shuffled_csv, shuffled_json) =
            import_and_report(&shuffled(lines.clone(), seed), 37).await;
        assert_eq!(
            shuffled_csv, csv,
            "weekly CSV differs for shuffle seed {seed}"
        );
        assert_eq!(
            shuffled_json, json,
            "metrics JSON differs for shuffle seed {seed}"
        );
    }
}
