//! The `shiplog` binary as a user runs it: import with bad lines, refusal when a
//! server holds the file, Parquet reports, and durability of a `202` across `kill -9`.

mod support;

use std::path::Path;

use support::{FROM, INGEST_TOKEN, ServedBinary, TO, reference, run, spawn_app, text};

/// `shiplog import --db DB FILE…`.
fn import(db: &Path, files: &[&Path]) -> std::process::Output {
    let mut args = vec!["import", "--db", db.to_str().unwrap()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    run(&args)
}

/// `shiplog metrics` over 2026-03-01..08 of the file at `db`.
fn first_week_of_march(db: &Path) -> serde_json::Value {
    let out = run(&[
        "metrics",
        "--db",
        db.to_str().unwrap(),
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-08",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn import_reports_bad_lines_by_number_and_keeps_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.ndjson");
    std::fs::write(
        &file,
        [
            r#"{"type":"deployment","id":"d1","service":"shop","sha":"a1","finished_at":"2026-03-02T11:00:00Z"}"#,
            r#"{"type":"deployment","id":"d2","service":"shop","finished_at":"2026-03-03T11:00:00Z"}"#,
            "",
            r#"{"type":"deployment","id":"d3","service":"shop","sha":"a3","finished_at":"2026-03-04T11:00:00Z"}"#,
            r#"{"type":"build","id":"b1"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let db = dir.path().join("x.duckdb");
    let out = import(&db, &[&file]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad lines make the exit code 1: {stderr}"
    );
    assert!(
        stderr.contains(&format!("{}:2: `sha` is required", file.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}:5:", file.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("4 event(s) read, 2 stored, 0 already stored, 2 bad line(s) skipped"),
        "{stderr}"
    );

    let metrics = first_week_of_march(&db);
    assert_eq!(
        metrics["deployment_frequency"]["deployments"], 2,
        "{metrics}"
    );
    assert_eq!(metrics["deployment_frequency"]["deploy_days"], 2);
}

#[test]
fn a_file_that_cannot_be_opened_stops_the_import_and_keeps_the_files_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ndjson");
    std::fs::write(
        &good,
        [
            r#"{"type":"deployment","id":"d1","service":"shop","sha":"a1","finished_at":"2026-03-02T11:00:00Z"}"#,
            r#"{"type":"deployment","id":"d2","service":"shop","sha":"a2","finished_at":"2026-03-03T11:00:00Z"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let missing = dir.path().join("missing.ndjson");
    let db = dir.path().join("x.duckdb");
    let out = import(&db, &[&good, &missing]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot open {}", missing.display())),
        "{stderr}"
    );

    let metrics = first_week_of_march(&db);
    assert_eq!(
        metrics["deployment_frequency"]["deployments"], 2,
        "{metrics}"
    );
}

/// The importer stores one chunk while it parses the next; the later of two values for
/// one field must still win when they fall in different chunks (SPEC §8: file order).
#[test]
fn an_update_in_a_later_chunk_of_the_file_wins_over_the_earlier_value() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.ndjson");
    let incident = |resolved: &str| {
        format!(
            r#"{{"type":"incident","id":"PD-1","service":"shop","opened_at":"2026-03-02T10:00:00Z","resolved_at":"{resolved}"}}"#
        )
    };
    let mut lines = vec![incident("2026-03-02T11:00:00Z")];
    // More lines than one chunk of the importer holds, so the update lands in another.
    lines.extend((0..12_000).map(|n| {
        format!(
            r#"{{"type":"build","id":"b{n}","repo":"acme/shop","sha":"s{n}","status":"success","finished_at":"2026-03-03T10:00:00Z"}}"#
        )
    }));
    lines.push(incident("2026-03-02T14:00:00Z"));
    std::fs::write(&file, lines.join("\n")).unwrap();
    let db = dir.path().join("x.duckdb");
    let out = import(&db, &[&file]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let metrics = first_week_of_march(&db);
    assert_eq!(metrics["time_to_restore"]["resolved"], 1, "{metrics}");
    assert_eq!(
        metrics["time_to_restore"]["median_hours"], 4.0,
        "the later resolution wins: {metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_refuse_a_database_held_by_a_server_with_exit_code_2() {
    let app = spawn_app(|_| {}).await;
    let db = app.db.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        run(&["metrics", "--db", &db, "--from", FROM, "--to", TO])
    })
    .await
    .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("GET /api/v1/metrics"), "{stderr}");
    let db = app.db.to_str().unwrap().to_owned();
    let events = reference("events.ndjson").display().to_string();
    let out = tokio::task::spawn_blocking(move || run(&["import", "--db", &db, &events]))
        .await
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("POST /api/v1/events"), "{stderr}");
    let db = app.db.to_str().unwrap().to_owned();
    let out =
        tokio::task::spawn_blocking(move || run(&["serve", "--db", &db, "--addr", "127.0.0.1:0"]))
            .await
            .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a second server refuses: {stderr}"
    );
    assert!(stderr.contains("running `shiplog serve`"), "{stderr}");
    app.stop().await;
}

#[test]
fn weekly_report_as_parquet_keeps_types_and_unguarded_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.duckdb");
    let imported = import(&db, &[&reference("events.ndjson")]);
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let db = db.to_str().unwrap();
    let parquet = dir.path().join("weekly.parquet");
    let out = run(&[
        "report",
        "weekly",
        "--db",
        db,
        "--from",
        FROM,
        "--to",
        TO,
        "--format",
        "parquet",
        "--out",
        parquet.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = run(&["report", "weekly", "--db", db, "--from", FROM, "--to", TO]);
    let csv_rows = text(&csv.stdout).lines().count() - 1;

    let conn = duckdb::Connection::open_in_memory().unwrap();
    let path = parquet.to_str().unwrap().replace('\'', "''");
    let (rows, web_rows, deployments): (i64, i64, i64) = conn
        .query_row(
            &format!("SELECT count(*), count(*) FILTER (WHERE service = '@storefront/web'), sum(deployments) FILTER (WHERE service = 'ALL') FROM '{path}'"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(rows as usize, csv_rows);
    assert_eq!(
        web_rows, 6,
        "the Parquet service name carries no formula guard"
    );
    assert_eq!(deployments, 75);
    let types: Vec<String> = conn
        .prepare(&format!("SELECT column_type FROM (DESCRIBE SELECT week_start, deployments, lead_time_median_hours FROM '{path}')"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(types, ["DATE", "BIGINT", "DOUBLE"]);
}

#[test]
fn accepted_event_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.duckdb");
    let server = ServedBinary::start_blocking(dir.path(), &db, None);

    let response = post_deployment(&format!("{}/api/v1/events", server.base));
    assert_eq!(response, 202, "{}", server.log());
    server.kill(); // SIGKILL: no shutdown, no checkpoint.
    server.child.lock().unwrap().wait().unwrap();

    let conn = duckdb::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM deployments WHERE id = 'crash-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        n, 1,
        "an event answered 202 is in the database after kill -9"
    );
    drop(conn);

    // Whether or not the server had derived it before the kill, the next start does:
    // the deployment is in the figures.
    let metrics = first_week_of_march(&db);
    assert_eq!(
        metrics["deployment_frequency"]["deployments"], 1,
        "{metrics}"
    );
}

/// One POST from a throwaway runtime (the test itself is synchronous).
fn post_deployment(url: &str) -> u16 {
    let body = r#"{"type":"deployment","id":"crash-1","service":"shop","sha":"a1","finished_at":"2026-03-02T11:00:00Z"}"#;
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(INGEST_TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}
