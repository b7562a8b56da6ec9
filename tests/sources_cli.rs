//! The source commands as a user runs them: `shiplog git import` on a real
//! repository (then only new commits), `shiplog notify` against a running server,
//! and `shiplog replay` on a database file.

mod support;

use std::path::Path;
use std::process::Command;

use support::{INGEST_TOKEN, output_beside_server, run, shiplog, spawn_app, text};

/// Runs git in `dir` with fixed identities and times, so shas are stable.
fn git(dir: &Path, args: &[&str], when: &str) {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_AUTHOR_NAME", "Ana")
        .env("GIT_AUTHOR_EMAIL", "ana@example.com")
        .env("GIT_COMMITTER_NAME", "Ana")
        .env("GIT_COMMITTER_EMAIL", "ana@example.com")
        .env("GIT_AUTHOR_DATE", when)
        .env("GIT_COMMITTER_DATE", when)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

fn commit(dir: &Path, message: &str, when: &str) {
    std::fs::write(dir.join("file.txt"), message).unwrap();
    git(dir, &["add", "file.txt"], when);
    git(dir, &["commit", "-q", "-m", message], when);
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = duckdb::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn git_import_reads_a_clone_and_then_only_its_new_commits() {
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("shop");
    std::fs::create_dir(&clone).unwrap();
    git(&clone, &["init", "-q"], "2026-03-01T09:00:00Z");
    commit(&clone, "first", "2026-03-01T09:00:00Z");
    commit(&clone, "second", "2026-03-01T10:00:00Z");
    git(
        &clone,
        &["remote", "add", "origin", "git@github.com:acme/shop.git"],
        "2026-03-01T10:00:00Z",
    );
    let db = dir.path().join("x.duckdb");
    let (db_arg, path_arg) = (db.to_str().unwrap(), clone.to_str().unwrap());

    let out = run(&["git", "import", "--db", db_arg, "--path", path_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("acme/shop: 2 new commit(s)"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM changes WHERE repo = 'acme/shop' AND parents IS NOT NULL"
        ),
        2
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM changes WHERE len(parents) = 1"),
        1,
        "the second commit's parent is the first"
    );

    commit(&clone, "third", "2026-03-02T10:00:00Z");
    let out = run(&["git", "import", "--db", db_arg, "--path", path_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("acme/shop: 1 new commit(s)"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM changes"), 3);

    let out = run(&[
        "git",
        "import",
        "--db",
        db_arg,
        "--path",
        dir.path().to_str().unwrap(),
        "--repo",
        "acme/shop",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(dir.path().to_str().unwrap()),
        "the error names the path: {}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn notify_posts_a_deployment_and_an_incident_to_a_running_server() {
    let app = spawn_app(|_| {}).await;
    let mut command = shiplog();
    command.args([
        "notify",
        "deployment",
        "--server",
        &app.base,
        "--token",
        INGEST_TOKEN,
        "--service",
        "checkout",
        "--sha",
        "9f2c",
        "--environment",
        "production",
        "--finished-at",
        "2026-03-02T11:00:00Z",
        "--id",
        "ci-1",
    ]);
    let deploy = output_beside_server(command).await;
    assert!(deploy.status.success(), "{}", text(&deploy.stderr));
    assert!(
        text(&deploy.stderr).starts_with("202"),
        "{}",
        text(&deploy.stderr)
    );

    let mut command = shiplog();
    command
        .env("SHIPLOG_URL", &app.base)
        .env("SHIPLOG_INGEST_TOKEN", INGEST_TOKEN)
        .args([
            "notify",
            "incident",
            "--id",
            "INC-1",
            "--service",
            "checkout",
            "--opened-at",
            "2026-03-02T12:00:00Z",
            "--resolved-at",
            "2026-03-02T13:30:00Z",
        ]);
    let incident = output_beside_server(command).await;
    assert!(incident.status.success(), "{}", text(&incident.stderr));

    let (_, body) = app
        .get_text("/api/v1/metrics?from=2026-03-02&to=2026-03-03")
        .await;
    let m: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    assert_eq!(m["change_failure_rate"]["failed"], 1, "{m}");
    assert_eq!(m["time_to_restore"]["median_hours"], 1.5, "{m}");

    let mut command = shiplog();
    command.args([
        "notify",
        "deployment",
        "--server",
        &app.base,
        "--token",
        "wrong",
        "--service",
        "s",
        "--sha",
        "a",
    ]);
    let refused = output_beside_server(command).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("401"),
        "{}",
        text(&refused.stderr)
    );
    app.stop().await;
}
