//! `shiplog backup` and `shiplog restore`, the real binary: a backup through a running
//! server while ingest goes on holds whole requests only, and its restore reports
//! byte for byte what a database of exactly those events reports; a backup of a file
//! no server holds; and the refusals (a directory that holds anything, a restore over
//! a file or a file a server holds, a damaged backup, a missing or wrong admin token).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use support::{
    FROM, INGEST_TOKEN, ServedBinary, TO, output_beside_server, reference, reference_text, run,
    shiplog, text,
};

const ADMIN_TOKEN: &str = "test-admin-token";
/// Events in each body the load sends: a body is stored whole or not at all.
const PER_BODY: usize = 5;

/// A config file that sets the admin token (the ingest token comes from the
/// environment, `ServedBinary::start`).
fn admin_config(dir: &Path) -> PathBuf {
    let path = dir.join("shiplog.toml");
    std::fs::write(&path, format!("[tokens]\nadmin = \"{ADMIN_TOKEN}\"\n")).unwrap();
    path
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status.code(),
        text(&out.stderr)
    );
}

/// The `n`-th event of the load: a production deployment of its own service inside
/// the reference period, so that every one of them shows in the reports.
fn load_event(n: usize) -> String {
    let finished = chrono::DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z").unwrap()
        + chrono::Duration::minutes((n * 37 % (40 * 24 * 60)) as i64);
    format!(
        r#"{{"type":"deployment","id":"backup-load-{n:05}","service":"load","environment":"production","sha":"{:040x}","finished_at":"{}"}}"#,
        n + 1,
        finished.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn raw_events(manifest: &Value) -> usize {
    manifest["tables"]["raw_events"].as_u64().unwrap() as usize
}

/// `shiplog import --db DB` of `lines`, written to a file beside it.
fn import_lines(db: &Path, lines: &[String]) {
    let file = db.with_extension("ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = run(&["import", "--db", arg(db), arg(&file)]);
    assert_success("import", &out);
}

/// The weekly CSV and the metrics JSON (whole, and for the load's service) as the CLI
/// prints them for `db`.
fn reports(db: &Path) -> Vec<(String, Vec<u8>)> {
    let period = ["--from", FROM, "--to", TO];
    let reads: [Vec<&str>; 3] = [
        vec!["report", "weekly"],
        vec!["metrics"],
        vec!["metrics", "--service", "load"],
    ];
    reads
        .into_iter()
        .map(|mut args| {
            let name = args.join(" ");
            args.extend(["--db", arg(db)]);
            args.extend(period);
            let out = run(&args);
            assert_success(&name, &out);
            (name, out.stdout)
        })
        .collect()
}

fn assert_same_reports(actual: &Path, expected: &Path) {
    for ((name, a), (_, e)) in reports(actual).into_iter().zip(reports(expected)) {
        assert!(
            a == e,
            "`{name}` of {} differs from {}:\n{}\n---\n{}",
            actual.display(),
            expected.display(),
            text(&a),
            text(&e)
        );
    }
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

fn reference_lines() -> Vec<String> {
    reference_text("events.ndjson")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `shiplog backup --server BASE --out OUT` with the admin token in the environment
/// (and the server's URL too, as a CI job would set them), beside the server.
async fn backup_through(server: &ServedBinary, out: &Path, token: &str) -> Output {
    let mut command = shiplog();
    command
        .args(["backup", "--out", arg(out)])
        .env("SHIPLOG_URL", &server.base)
        .env("SHIPLOG_ADMIN_TOKEN", token);
    output_beside_server(command).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_during_ingest_restores_to_the_reports_of_the_events_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.duckdb");
    let config = admin_config(dir.path());
    let server = ServedBinary::start(dir.path(), &db, Some(config.as_path())).await;
    let client = reqwest::Client::new();
    let events = format!("{}/api/v1/events", server.base);
    let post = |body: String| {
        client
            .post(&events)
            .bearer_auth(INGEST_TOKEN)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
    };
    let reference = reference_lines();
    for chunk in reference.chunks(100) {
        let response = post(chunk.join("\n")).await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }

    // With nothing in flight: the reference events exactly.
    let quiet = dir.path().join("backup-quiet");
    let out = backup_through(&server, &quiet, ADMIN_TOKEN).await;
    assert_success("backup", &out);
    assert!(
        text(&out.stderr).contains("backed up"),
        "{}",
        text(&out.stderr)
    );
    let stored = raw_events(&manifest(&quiet));

    // Now with one client sending bodies of PER_BODY events one after the other,
    // before, during and after the backup: the events a backup holds are then the
    // first n the client sent, n a whole number of bodies.
    let sent = Arc::new(AtomicUsize::new(0));
    let (acked_tx, mut acked) = tokio::sync::watch::channel(0usize);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let load = {
        let (client, events, sent) = (client.clone(), events.clone(), sent.clone());
        tokio::spawn(async move {
            let mut next = 0;
            while !*stop.borrow() {
                let body: Vec<String> = (next..next + PER_BODY).map(load_event).collect();
                sent.store(next + PER_BODY, Ordering::SeqCst);
                let response = client
                    .post(&events)
                    .bearer_auth(INGEST_TOKEN)
                    .header("content-type", "application/x-ndjson")
                    .body(body.join("\n"))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                assert_eq!(status, 202, "{}", response.text().await.unwrap());
                next += PER_BODY;
                acked_tx.send_replace(next);
            }
            next
        })
    };
    acked.wait_for(|&n| n >= 10 * PER_BODY).await.unwrap();
    let acked_before = *acked.borrow();
    let during = dir.path().join("backup-during");
    let out = backup_through(&server, &during, ADMIN_TOKEN).await;
    let sent_by_end = sent.load(Ordering::SeqCst);
    let acked_by_end = *acked.borrow();
    assert_success("backup during ingest", &out);
    // The server goes on storing after the backup, as it did while it ran.
    acked
        .wait_for(|&n| n >= acked_by_end + 5 * PER_BODY)
        .await
        .unwrap();
    stop_tx.send_replace(true);
    let total = load.await.unwrap();
    assert!(
        acked_by_end > acked_before,
        "no request was answered while the backup ran ({acked_before} before, {acked_by_end} after)"
    );

    let held = raw_events(&manifest(&during)) - stored;
    assert_eq!(held % PER_BODY, 0, "{held} events: part of a request");
    assert!(
        (acked_before..=sent_by_end).contains(&held),
        "the backup holds {held} load events; {acked_before} were answered before it began \
         and {sent_by_end} sent before it ended"
    );
    assert!(server.terminate().await.success(), "{}", server.log());
    assert!(total > held);

    for (backup, load) in [(&quiet, 0), (&during, held)] {
        let restored = dir.path().join(format!("restored-{load}.duckdb"));
        let out = run(&["restore", "--from", arg(backup), "--db", arg(&restored)]);
        assert_success("restore", &out);
        assert!(
            text(&out.stderr).contains("match its manifest"),
            "{}",
            text(&out.stderr)
        );
        let expected = dir.path().join(format!("expected-{load}.duckdb"));
        let mut lines = reference.clone();
        lines.extend((0..load).map(load_event));
        import_lines(&expected, &lines);
        assert_same_reports(&restored, &expected);
    }
}

#[test]
fn a_backup_of_a_file_restores_to_the_same_reports_and_nothing_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shiplog.duckdb");
    let events = reference("events.ndjson");
    assert_success("import", &run(&["import", "--db", arg(&db), arg(&events)]));

    let backup = dir.path().join("backups/first");
    let out = run(&["backup", "--db", arg(&db), "--out", arg(&backup)]);
    assert_success("backup", &out);
    let written = manifest(&backup);
    assert!(
        written["schema_version"].as_i64().unwrap() >= 8,
        "{written}"
    );
    for table in [
        "raw_events",
        "deployments",
        "deploy_facts",
        "schema_migrations",
    ] {
        assert!(
            written["tables"][table].as_u64().unwrap() > 0,
            "{table}: {written}"
        );
    }
    assert_eq!(
        written["database"]["bytes"].as_u64().unwrap(),
        std::fs::metadata(backup.join("shiplog.duckdb"))
            .unwrap()
            .len()
    );

    // Into the same directory again, or one that holds anything: refused, untouched.
    let before = files(&backup);
    let out = run(&["backup", "--db", arg(&db), "--out", arg(&backup)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is not empty"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(files(&backup), before);
    let notes = dir.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("todo.txt"), "keep me").unwrap();
    let out = run(&["backup", "--db", arg(&db), "--out", arg(&notes)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(files(&notes).len(), 1);

    let restored = dir.path().join("restored.duckdb");
    let out = run(&["restore", "--from", arg(&backup), "--db", arg(&restored)]);
    assert_success("restore", &out);
    assert_same_reports(&restored, &db);

    // Over an existing file: refused without --force, which replaces it.
    let kept = std::fs::read(&restored).unwrap();
    let out = run(&["restore", "--from", arg(&backup), "--db", arg(&restored)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&restored).unwrap(), kept);
    let damaged_db = dir.path().join("damaged.duckdb");
    std::fs::write(&damaged_db, "not a database any more").unwrap();
    let out = run(&[
        "restore",
        "--from",
        arg(&backup),
        "--db",
        arg(&damaged_db),
        "--force",
    ]);
    assert_success("restore --force", &out);
    assert_same_reports(&damaged_db, &db);
}

#[test]
fn a_damaged_or_unfinished_backup_is_refused_and_nothing_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shiplog.duckdb");
    let events = reference("events.ndjson");
    assert_success("import", &run(&["import", "--db", arg(&db), arg(&events)]));
    let backup = dir.path().join("backup");
    assert_success(
        "backup",
        &run(&["backup", "--db", arg(&db), "--out", arg(&backup)]),
    );
    let target = dir.path().join("restored.duckdb");
    let refused = |from: &Path, says: &str| {
        let out = run(&["restore", "--from", arg(from), "--db", arg(&target)]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
        assert!(
            !target.exists(),
            "nothing is restored from {}",
            from.display()
        );
    };

    refused(&dir.path().join("no-such-backup"), "no such directory");

    let flipped = dir.path().join("flipped");
    std::fs::create_dir(&flipped).unwrap();
    for (path, mut bytes) in files(&backup) {
        if path.ends_with("shiplog.duckdb") {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x5a;
        }
        std::fs::write(flipped.join(path.file_name().unwrap()), bytes).unwrap();
    }
    refused(&flipped, "is damaged");

    let unfinished = dir.path().join("unfinished");
    std::fs::create_dir(&unfinished).unwrap();
    std::fs::copy(
        backup.join("shiplog.duckdb"),
        unfinished.join("shiplog.duckdb"),
    )
    .unwrap();
    std::fs::write(unfinished.join("manifest.json"), "").unwrap();
    refused(&unfinished, "did not finish");
    std::fs::remove_file(unfinished.join("manifest.json")).unwrap();
    refused(&unfinished, "has no manifest.json");

    let staged: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(staged.is_empty(), "left behind: {staged:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backup_route_asks_for_the_admin_token_and_a_new_absolute_directory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.duckdb");
    let config = admin_config(dir.path());
    let server = ServedBinary::start(dir.path(), &db, Some(config.as_path())).await;
    let client = reqwest::Client::new();
    let route = format!("{}/api/v1/admin/backup", server.base);
    let out = dir.path().join("backup");
    let ask = |token: Option<&str>, out: &str| {
        let mut request = client.post(&route).query(&[("out", out)]);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    };

    for token in [None, Some("not-the-admin-token"), Some(INGEST_TOKEN)] {
        let (status, body) = ask(token, arg(&out)).await;
        assert_eq!(status, 401, "{token:?}: {body}");
        assert!(body["error"].is_string(), "{body}");
        assert!(!out.exists(), "{token:?}: nothing is written");
    }
    let cli = backup_through(&server, &out, "not-the-admin-token").await;
    assert_eq!(cli.status.code(), Some(1), "{}", text(&cli.stderr));
    assert!(text(&cli.stderr).contains("401"), "{}", text(&cli.stderr));
    assert!(!out.exists());

    let (status, body) = ask(Some(ADMIN_TOKEN), "relative/backup").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("absolute"),
        "{body}"
    );

    let (status, body) = ask(Some(ADMIN_TOKEN), arg(&out)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["out"], arg(&out));
    assert_eq!(body["manifest"], manifest(&out));
    let before = files(&out);
    let (status, body) = ask(Some(ADMIN_TOKEN), arg(&out)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not empty"),
        "{body}"
    );
    let cli = backup_through(&server, &out, ADMIN_TOKEN).await;
    assert_eq!(cli.status.code(), Some(2), "{}", text(&cli.stderr));
    assert_eq!(files(&out), before);

    // The file the server holds: neither backed up directly nor restored over.
    let direct = dir.path().join("direct");
    let mut command = shiplog();
    command.args(["backup", "--db", arg(&db), "--out", arg(&direct)]);
    let cli = output_beside_server(command).await;
    assert_eq!(cli.status.code(), Some(2), "{}", text(&cli.stderr));
    assert!(
        text(&cli.stderr).contains("--server"),
        "{}",
        text(&cli.stderr)
    );
    assert!(!direct.exists());
    let mut command = shiplog();
    command.args(["restore", "--from", arg(&out), "--db", arg(&db), "--force"]);
    let cli = output_beside_server(command).await;
    assert_eq!(cli.status.code(), Some(2), "{}", text(&cli.stderr));
    assert!(
        text(&cli.stderr).contains("held by another process"),
        "{}",
        text(&cli.stderr)
    );
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(server.terminate().await.success(), "{}", server.log());
}
