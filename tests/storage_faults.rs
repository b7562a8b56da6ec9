//! Storage faults (issue 10, item 5), on the real binary: a full disk is `503` with a
//! live server that recovers once there is room, and nothing refused is acknowledged
//! or stored; a database file damaged on disk, or on a read-only file system, stops
//! the start with a message naming the file, exit 1, and the file untouched.
//!
//! The full disk is the file-size limit (`ulimit -S -f`, with `SIGXFSZ` ignored so that
//! a write past it fails with `EFBIG` as a write to a full disk fails with `ENOSPC`);
//! room is made by raising the limit of the running process (`prlimit`). The read-only
//! file system is a read-only bind mount in a mount namespace of the server's own
//! (`unshare -m`).

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::{INGEST_TOKEN, ServedBinary, clean_env, serve_args, shiplog, text};

const BIN: &str = env!("CARGO_BIN_EXE_shiplog");

/// Events per batch: their WAL records are about 0.2 MiB.
const EVENTS: usize = 200;

fn batch(n: usize) -> String {
    (0..EVENTS)
        .map(|i| {
            format!(
                r#"{{"type":"deployment","id":"b{n}-{i}","service":"shop","sha":"{:040x}","finished_at":"2026-03-02T11:00:00Z"}}"#,
                n * 1_000 + i
            ) + "\n"
        })
        .collect()
}

async fn post(client: &reqwest::Client, server: &ServedBinary, body: &str) -> (u16, Value) {
    let response = client
        .post(format!("{}/api/v1/events", server.base))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(client: &reqwest::Client, server: &ServedBinary, path: &str) -> (u16, Value) {
    let response = client
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// `bash -c SCRIPT` that ends by `exec`ing the binary with `args`.
fn wrapped(script: &str, args: &[std::ffi::OsString]) -> Command {
    let mut command = Command::new("bash");
    clean_env(&mut command);
    command
        .arg("-c")
        .arg(format!("{script}; exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args);
    command
}

#[tokio::test]
async fn a_full_disk_is_503_with_a_live_server_that_recovers_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shiplog.duckdb");
    // 1.2 MiB per file: the new database and its migrations take a few dozen kB, so
    // some batches fit and then the write-ahead log cannot grow.
    let command = wrapped("trap '' XFSZ; ulimit -S -f 1200", &serve_args(&db, None));
    let server = tokio::task::spawn_blocking(move || ServedBinary::spawn(command))
        .await
        .unwrap();
    let client = reqwest::Client::new();

    let mut acknowledged = 0;
    let refused = loop {
        assert!(acknowledged < 100, "the file-size limit was never reached");
        let body = batch(acknowledged);
        let (status, answer) = post(&client, &server, &body).await;
        match status {
            202 => acknowledged += 1,
            503 => break (acknowledged, body, answer),
            other => panic!("{other}: {answer}\n{}", server.log()),
        }
    };
    let (first_refused, body, answer) = refused;
    assert!(acknowledged >= 1, "a batch fits before the disk is full");
    assert_eq!(
        answer["error"],
        "storage is failing, nothing was stored (the server log says why); retry shortly"
    );
    let shown = answer.to_string();
    for internal in [
        "duckdb",
        "wal",
        "File too large",
        dir.path().to_str().unwrap(),
    ] {
        assert!(
            !shown.contains(internal),
            "{internal:?} in the answer: {shown}"
        );
    }
    assert!(
        server.log().contains("File too large"),
        "the log says why:\n{}",
        server.log()
    );
    // Still refused while there is no room; the server is alive and says why it is not
    // ready.
    assert_eq!(post(&client, &server, &body).await.0, 503);
    let (status, health) = get(&client, &server, "/healthz").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["storage"], "failing", "{health}");
    let (status, ready) = get(&client, &server, "/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(
        ready["status"],
        "storage is failing: the last batch was not stored"
    );

    // Room again: the same server takes the refused batch, and what it holds is
    // exactly what it acknowledged.
    let lifted = Command::new("prlimit")
        .args(["--pid", &server.pid().to_string(), "--fsize=unlimited:"])
        .status()
        .unwrap();
    assert!(
        lifted.success(),
        "prlimit raises the server's file-size limit"
    );
    let (status, metrics) = get(
        &client,
        &server,
        "/api/v1/metrics?from=2026-03-02&to=2026-03-03",
    )
    .await;
    assert_eq!(status, 200, "{metrics}");
    assert_eq!(
        metrics["deployment_frequency"]["deployments"],
        acknowledged * EVENTS,
        "only acknowledged batches are stored: {metrics}"
    );
    let (status, answer) = post(&client, &server, &body).await;
    assert_eq!(status, 202, "{answer}\n{}", server.log());
    assert_eq!(answer["accepted"], EVENTS);
    let (status, ready) = get(&client, &server, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["storage"], "ok");

    let exit = server.terminate().await;
    assert!(exit.success(), "{}", server.log());
    let conn = duckdb::Connection::open(&db).unwrap();
    let (stored, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT id) FROM deployments",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(stored as usize, (first_refused + 1) * EVENTS);
    assert_eq!(stored, distinct, "nothing stored twice");
}

/// A database made by `shiplog import`, for the start-up faults.
fn imported(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("shiplog.duckdb");
    let events = dir.join("events.ndjson");
    std::fs::write(&events, batch(1)).unwrap();
    let output = shiplog()
        .args([
            "import",
            "--db",
            db.to_str().unwrap(),
            events.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    db
}

fn assert_refused_to_start(output: &Output, db: &Path, what: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot open {}", db.display())) && stderr.contains(what),
        "the message names the file and what is wrong: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_damaged_database_file_stops_the_start_with_a_message_and_is_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    let good = std::fs::read(&db).unwrap();
    for (damage, what) in [
        // The file's magic bytes.
        (8..12, "not a valid DuckDB database file"),
        // The blocks after the headers: the catalog's checksum fails.
        (12_288..good.len(), "Corrupt database file"),
    ] {
        let mut bytes = good.clone();
        bytes[damage.clone()].fill(0xff);
        std::fs::write(&db, &bytes).unwrap();
        let mut serve = shiplog();
        serve.args(serve_args(&db, None));
        let output = serve.output().unwrap();
        assert_refused_to_start(&output, &db, what);
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "the damaged file ({damage:?}) is not rewritten: a backup or a copy can still be taken"
        );
    }
}

#[test]
fn a_database_on_a_read_only_file_system_stops_the_start_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    let good = std::fs::read(&db).unwrap();
    let folder = dir.path().to_str().unwrap();
    let read_only = format!("mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}");
    let serve = wrapped(&read_only, &serve_args(&db, None));
    let mut command = Command::new("unshare");
    command
        .arg("-m")
        .arg(serve.get_program())
        .args(serve.get_args());
    clean_env(&mut command);
    let output = command.output().unwrap();
    assert_refused_to_start(&output, &db, "Read-only file system");
    assert_eq!(std::fs::read(&db).unwrap(), good);
    // Outside that mount namespace the same file reads: nothing was damaged.
    let output = shiplog()
        .args([
            "metrics",
            "--db",
            db.to_str().unwrap(),
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-03",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let metrics: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(metrics["deployment_frequency"]["deployments"], EVENTS);
}
