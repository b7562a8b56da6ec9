//! `shiplog export` and `POST /api/v1/admin/export`, the real binary: the reference
//! set exported and read back with DuckDB holds every row of every table as the
//! database does, and gives the metrics JSON's figures; a second export rewrites only
//! the month that changed (the other files keep their inode and mtime), removes a
//! month left without rows, and equals a fresh export; the admin route needs the admin
//! token and writes into `export_dir`; a directory of other files is refused untouched;
//! docs/export.md lists every exported column with its type.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use duckdb::Connection;
use serde_json::Value;
use shiplog_queries::export::{MANIFEST, NOT_EXPORTED, TABLES};
use support::{FROM, ServedBinary, TO, output_beside_server, reference, run, shiplog, text};

const ADMIN_TOKEN: &str = "test-admin-token";

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

/// `shiplog import --db DB` of `lines`, written to a file beside it.
fn import_lines(db: &Path, name: &str, lines: &[&str]) {
    let file = db.with_file_name(format!("{name}.ndjson"));
    std::fs::write(&file, lines.join("\n")).unwrap();
    assert_success("import", &run(&["import", "--db", arg(db), arg(&file)]));
}

/// Annotations in two months: the reference set has none, and every exported table
/// should hold rows.
const ANNOTATIONS: [&str; 2] = [
    r#"{"type":"annotation","id":"note-1","at":"2026-01-12T09:00:00Z","text":"moved to trunk-based development","team":"web"}"#,
    r#"{"type":"annotation","id":"note-2","at":"2026-02-02T09:00:00Z","text":"new on-call rota"}"#,
];

/// A database of the reference set (and [`ANNOTATIONS`]) in `dir`.
fn reference_db(dir: &Path) -> PathBuf {
    let db = dir.join("ref.duckdb");
    let events = reference("events.ndjson");
    assert_success("import", &run(&["import", "--db", arg(&db), arg(&events)]));
    import_lines(&db, "annotations", &ANNOTATIONS);
    db
}

/// `shiplog export --db DB --out OUT`, and the summary it prints on standard output.
fn export(db: &Path, out: &Path) -> Value {
    let output = run(&["export", "--db", arg(db), "--out", arg(out)]);
    assert_success("export", &output);
    assert!(
        text(&output.stderr).contains("exported"),
        "{}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// An in-memory DuckDB with `db` attached read-only as `store` (no attachment: for
/// reading the files alone). Dropped before the binary opens `db` again.
fn duckdb(db: Option<&Path>) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    if let Some(db) = db {
        conn.execute_batch(&format!("ATTACH '{}' AS store (READ_ONLY)", arg(db)))
            .unwrap();
    }
    conn
}

fn files_of(out: &Path, table: &str) -> String {
    format!(
        "read_parquet('{}/{table}/**/*.parquet', hive_partitioning = true)",
        arg(out)
    )
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn strings(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut statement = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let columns = statement.column_count();
    let rows = statement
        .query_map([], |r| {
            (0..columns)
                .map(|i| r.get::<_, Option<String>>(i).map(Option::unwrap_or_default))
                .collect()
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// The stored table's columns with their types, in order.
fn stored_columns(conn: &Connection, table: &str) -> Vec<(String, String)> {
    strings(
        conn,
        &format!(
            "SELECT column_name, data_type FROM information_schema.columns \
             WHERE table_catalog = 'store' AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect()
}

/// The exported columns as DuckDB reads them back (the month included).
fn exported_columns(conn: &Connection, source: &str) -> Vec<(String, String)> {
    strings(
        conn,
        &format!("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})"),
    )
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect()
}

/// Rows of `a` that `b` lacks and rows of `b` that `a` lacks, duplicates counted.
fn differences(conn: &Connection, a: &str, b: &str) -> (i64, i64) {
    (
        count(conn, &format!("SELECT count(*) FROM ({a} EXCEPT ALL {b})")),
        count(conn, &format!("SELECT count(*) FROM ({b} EXCEPT ALL {a})")),
    )
}

/// The exported table's rows in the stored table's columns and types: instants
/// are exported as TIMESTAMPTZ and read back here as the stored UTC TIMESTAMP.
fn exported_as_stored(columns: &[(String, String)], source: &str) -> String {
    let select: Vec<String> = columns
        .iter()
        .map(|(name, kind)| format!("CAST(\"{name}\" AS {kind}) AS \"{name}\""))
        .collect();
    format!("SELECT {} FROM {source}", select.join(", "))
}

#[test]
fn an_export_reads_back_as_the_database_holds_it_and_gives_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let db = reference_db(dir.path());
    let out = dir.path().join("warehouse");
    let summary = export(&db, &out);
    assert_eq!(summary["tables"], TABLES.len());
    assert_eq!(summary["months_unchanged"], 0);
    assert_eq!(summary["months_removed"], 0);
    assert_eq!(summary["whole_tables_written"], 1, "{summary:#}");
    assert!(out.join(MANIFEST).is_file());

    let conn = duckdb(Some(&db));
    // Every stored table is exported or named as left out, so that a table a later
    // migration adds is not forgotten.
    let stored: BTreeSet<String> = strings(
        &conn,
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'store'",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    let named: BTreeSet<String> = TABLES
        .iter()
        .map(|t| t.name)
        .chain(NOT_EXPORTED.iter().map(|(name, _)| *name))
        .map(str::to_owned)
        .collect();
    assert_eq!(stored, named);

    let mut rows = 0;
    for table in TABLES {
        let source = files_of(&out, table.name);
        let columns = stored_columns(&conn, table.name);
        let stored_rows = count(&conn, &format!("SELECT count(*) FROM store.{}", table.name));
        assert!(stored_rows > 0, "{}: the test needs rows", table.name);
        let exported_rows = count(&conn, &format!("SELECT count(*) FROM {source}"));
        assert_eq!(exported_rows, stored_rows, "{} rows", table.name);
        rows += exported_rows;
        let stored_sql = format!(
            "SELECT {} FROM store.{}",
            columns
                .iter()
                .map(|(n, _)| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", "),
            table.name
        );
        let exported_sql = exported_as_stored(&columns, &source);
        assert_eq!(
            differences(&conn, &stored_sql, &exported_sql),
            (0, 0),
            "{}: rows that differ (stored only, exported only)",
            table.name
        );
        // The files' types: instants as TIMESTAMPTZ, everything else as stored, and
        // the month for a partitioned table.
        let mut expected: Vec<(String, String)> = columns
            .iter()
            .map(|(n, k)| {
                let k = if k == "TIMESTAMP" {
                    "TIMESTAMP WITH TIME ZONE"
                } else {
                    k
                };
                (n.clone(), k.to_owned())
            })
            .collect();
        if table.partitioned {
            expected.push(("month".into(), "VARCHAR".into()));
        }
        assert_eq!(exported_columns(&conn, &source), expected, "{}", table.name);
    }
    assert_eq!(summary["rows"], rows);

    // Each row is in the month of the instant docs/export.md names for its table.
    let of = |table: &str| files_of(&out, table);
    let month = |column: &str| format!("strftime(CAST(\"{column}\" AS TIMESTAMP), '%Y-%m')");
    let checks = [
        (
            "changes",
            format!(
                "SELECT month = {} FROM {}",
                month("committed_at"),
                of("changes")
            ),
        ),
        (
            "deployments",
            format!(
                "SELECT month = {} FROM {}",
                month("finished_at"),
                of("deployments")
            ),
        ),
        (
            "incidents",
            format!(
                "SELECT month = {} FROM {}",
                month("opened_at"),
                of("incidents")
            ),
        ),
        (
            "builds",
            format!(
                "SELECT month = {} FROM {}",
                month("finished_at"),
                of("builds")
            ),
        ),
        (
            "annotations",
            format!(
                "SELECT month = {} FROM {}",
                month("noted_at"),
                of("annotations")
            ),
        ),
        (
            "deploy_facts",
            format!(
                "SELECT month = {} FROM {}",
                month("finished_at"),
                of("deploy_facts")
            ),
        ),
        (
            "lead_time_samples",
            format!(
                "SELECT month = {} FROM {}",
                month("finished_at"),
                of("lead_time_samples")
            ),
        ),
        (
            "deployment_outcomes",
            format!(
                "SELECT month = {} FROM {}",
                month("finished_at"),
                of("deployment_outcomes")
            ),
        ),
        (
            "pull_requests",
            format!(
                "SELECT p.month = c.month FROM {} p LEFT JOIN {} c USING (repo, sha)",
                of("pull_requests"),
                of("changes")
            ),
        ),
        (
            "deployment_commits",
            format!(
                "SELECT c.month = d.month FROM {} c LEFT JOIN {} d ON d.id = c.deployment_id",
                of("deployment_commits"),
                of("deployments")
            ),
        ),
        (
            "change_set_members",
            format!(
                "SELECT m.month = f.month FROM {} m LEFT JOIN {} f USING (deployment_id)",
                of("change_set_members"),
                of("deploy_facts")
            ),
        ),
        (
            "incident_attribution",
            format!(
                "SELECT a.month = i.month FROM {} a LEFT JOIN {} i ON i.id = a.incident_id",
                of("incident_attribution"),
                of("incidents")
            ),
        ),
    ];
    for (table, sql) in checks {
        let wrong = count(
            &conn,
            &format!("SELECT count(*) FROM ({sql}) t(ok) WHERE ok IS NOT TRUE"),
        );
        assert_eq!(wrong, 0, "{table}: rows outside their month");
    }
    let months: BTreeSet<String> = strings(
        &conn,
        &format!("SELECT DISTINCT month FROM {}", of("deployments")),
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(months, BTreeSet::from(["2026-01".into(), "2026-02".into()]));
    drop(conn);

    // The metrics JSON's figures, computed from the files alone.
    let files = duckdb(None);
    let in_period = |table: &str, column: &str| {
        format!(
            "FROM {} WHERE CAST({column} AS TIMESTAMP) >= TIMESTAMP '{FROM}' \
             AND CAST({column} AS TIMESTAMP) < TIMESTAMP '{TO}'",
            of(table)
        )
    };
    let figures = strings(
        &files,
        &format!(
            "SELECT count(*)::VARCHAR, count(DISTINCT CAST(CAST(finished_at AS TIMESTAMP) AS DATE))::VARCHAR, \
                    count(*) FILTER (WHERE failed)::VARCHAR, count(*) FILTER (WHERE rework)::VARCHAR, \
                    (count(*) FILTER (WHERE failed) / count(*))::VARCHAR {}",
            in_period("deployment_outcomes", "finished_at")
        ),
    )
    .remove(0);
    let samples = strings(
        &files,
        &format!(
            "SELECT count(*)::VARCHAR, quantile_cont(hours, 0.5)::VARCHAR {}",
            in_period("lead_time_samples", "finished_at")
        ),
    )
    .remove(0);
    let incidents = strings(
        &files,
        &format!(
            "SELECT count(*)::VARCHAR, count(resolved_at)::VARCHAR {}",
            in_period("incidents", "opened_at")
        ),
    )
    .remove(0);
    let facts = count(
        &files,
        &format!(
            "SELECT count(*) {}",
            in_period("deploy_facts", "finished_at")
        ),
    );
    let metrics = run(&["metrics", "--db", arg(&db), "--from", FROM, "--to", TO]);
    assert_success("metrics", &metrics);
    let metrics: Value = serde_json::from_slice(&metrics.stdout).unwrap();
    let number = |s: &str| s.parse::<f64>().unwrap();
    assert_eq!(
        number(&figures[0]),
        metrics["deployment_frequency"]["deployments"]
            .as_f64()
            .unwrap()
    );
    assert_eq!(
        facts as f64,
        number(&figures[0]),
        "deploy_facts and outcomes"
    );
    assert_eq!(
        number(&figures[1]),
        metrics["deployment_frequency"]["deploy_days"]
            .as_f64()
            .unwrap()
    );
    assert_eq!(
        number(&figures[2]),
        metrics["change_failure_rate"]["failed"].as_f64().unwrap()
    );
    assert_eq!(
        number(&figures[3]),
        metrics["rework_rate"]["rework"].as_f64().unwrap()
    );
    let rate = metrics["change_failure_rate"]["rate"].as_f64().unwrap();
    assert!(
        (number(&figures[4]) - rate).abs() < 1e-4,
        "{figures:?} {rate}"
    );
    assert_eq!(
        number(&samples[0]),
        metrics["lead_time"]["samples"].as_f64().unwrap()
    );
    let median = metrics["lead_time"]["median_hours"].as_f64().unwrap();
    assert!(
        (number(&samples[1]) - median).abs() < 0.01,
        "{samples:?} {median}"
    );
    assert_eq!(
        number(&incidents[0]),
        metrics["time_to_restore"]["incidents"].as_f64().unwrap()
    );
    assert_eq!(
        number(&incidents[1]),
        metrics["time_to_restore"]["resolved"].as_f64().unwrap()
    );

    // Deployments per month: each month's file of deploy_facts against the metrics of
    // that calendar month.
    for (month, from, to) in [
        ("2026-01", "2026-01-01", "2026-02-01"),
        ("2026-02", "2026-02-01", "2026-03-01"),
    ] {
        let file = format!("{}/deploy_facts/month={month}/data_0.parquet", arg(&out));
        let in_file = count(
            &files,
            &format!("SELECT count(*) FROM read_parquet('{file}')"),
        );
        let metrics = run(&["metrics", "--db", arg(&db), "--from", from, "--to", to]);
        assert_success("metrics", &metrics);
        let metrics: Value = serde_json::from_slice(&metrics.stdout).unwrap();
        assert_eq!(
            in_file as f64,
            metrics["deployment_frequency"]["deployments"]
                .as_f64()
                .unwrap(),
            "{month}"
        );
    }
}

/// Every file under `dir` (the manifest aside), by its path under `dir`, with its
/// inode and modification time.
fn file_identities(dir: &Path) -> BTreeMap<String, (u64, i64, i64)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, i64, i64)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                out.insert(name, (meta.ino(), meta.mtime(), meta.mtime_nsec()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out.remove(MANIFEST);
    out
}

/// The files an export's summary says it wrote and removed, as paths under the
/// export's directory.
fn written_and_removed(summary: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut written = BTreeSet::new();
    let mut removed = BTreeSet::new();
    for table in summary["details"].as_array().unwrap() {
        let name = table["table"].as_str().unwrap();
        for (key, set) in [("written", &mut written), ("removed", &mut removed)] {
            for file in table[key].as_array().unwrap() {
                set.insert(format!("{name}/{}", file.as_str().unwrap()));
            }
        }
    }
    (written, removed)
}

fn set(files: &[&str]) -> BTreeSet<String> {
    files.iter().map(|f| (*f).to_owned()).collect()
}

/// Both exports hold the same rows in the same files, with the same fingerprints.
fn assert_same_exports(a: &Path, b: &Path) {
    let (ids_a, ids_b) = (file_identities(a), file_identities(b));
    assert_eq!(
        ids_a.keys().collect::<Vec<_>>(),
        ids_b.keys().collect::<Vec<_>>()
    );
    let conn = duckdb(None);
    for table in TABLES {
        let read = |dir: &Path| format!("SELECT * FROM {}", files_of(dir, table.name));
        assert_eq!(
            differences(&conn, &read(a), &read(b)),
            (0, 0),
            "{}",
            table.name
        );
    }
    // Rows and fingerprints, not bytes: rows need not be in the same order in a file.
    let manifest = |dir: &Path| -> Value {
        let text = std::fs::read_to_string(dir.join(MANIFEST)).unwrap();
        let mut tables = serde_json::from_str::<Value>(&text).unwrap()["tables"].clone();
        for table in tables.as_object_mut().unwrap().values_mut() {
            for file in table["files"].as_object_mut().unwrap().values_mut() {
                file.as_object_mut().unwrap().remove("bytes");
            }
        }
        tables
    };
    assert_eq!(manifest(a), manifest(b));
}

#[test]
fn a_second_export_rewrites_only_the_month_that_changed_and_equals_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = reference_db(dir.path());
    let out = dir.path().join("warehouse");
    export(&db, &out);
    let first = file_identities(&out);

    // Nothing changed: nothing is written.
    let again = export(&db, &out);
    assert_eq!(again["months_written"], 0, "{again:#}");
    assert_eq!(again["whole_tables_written"], 0, "{again:#}");
    assert_eq!(
        again["months_unchanged"].as_u64().unwrap() as usize + 1,
        first.len()
    );
    assert_eq!(file_identities(&out), first);

    // A deployment and an incident of a new service in January, and a deployment of
    // another in November, a month that had none.
    import_lines(
        &db,
        "january",
        &[
            r#"{"type":"deployment","id":"probe-1","service":"export-probe","environment":"production","sha":"0123456789abcdef0123456789abcdef01234567","finished_at":"2026-01-20T12:00:00Z"}"#,
            r#"{"type":"incident","id":"probe-incident-1","service":"export-probe","opened_at":"2026-01-20T13:00:00Z","resolved_at":"2026-01-20T15:00:00Z"}"#,
            r#"{"type":"deployment","id":"probe-2","service":"export-november","environment":"production","sha":"89abcdef0123456789abcdef0123456789abcdef","finished_at":"2025-11-10T12:00:00Z"}"#,
        ],
    );
    let second = export(&db, &out);
    let (written, removed) = written_and_removed(&second);
    assert_eq!(
        written,
        set(&[
            "deployments/month=2025-11/data_0.parquet",
            "deployments/month=2026-01/data_0.parquet",
            "incidents/month=2026-01/data_0.parquet",
            "deploy_facts/month=2025-11/data_0.parquet",
            "deploy_facts/month=2026-01/data_0.parquet",
            // A service's first deployment ships its own sha (SPEC §3.1).
            "change_set_members/month=2025-11/data_0.parquet",
            "change_set_members/month=2026-01/data_0.parquet",
            "incident_attribution/month=2026-01/data_0.parquet",
            "deployment_outcomes/month=2025-11/data_0.parquet",
            "deployment_outcomes/month=2026-01/data_0.parquet",
            "environment_heads/data_0.parquet",
        ]),
        "{second:#}"
    );
    assert!(removed.is_empty(), "{second:#}");
    assert_eq!(second["whole_tables_written"], 1);
    assert_eq!(second["months_written"], 10);
    let now = file_identities(&out);
    for (file, identity) in &first {
        if written.contains(file) {
            assert_ne!(now[file].0, identity.0, "{file} was written anew");
        } else {
            assert_eq!(&now[file], identity, "{file} was left as it was");
        }
    }

    // The November deployment moves to March (a later event for the same id): its
    // November months are removed, March's written.
    import_lines(
        &db,
        "moved",
        &[
            r#"{"type":"deployment","id":"probe-2","service":"export-november","environment":"production","sha":"89abcdef0123456789abcdef0123456789abcdef","finished_at":"2026-03-03T12:00:00Z"}"#,
        ],
    );
    let third = export(&db, &out);
    let (written, removed) = written_and_removed(&third);
    let november = [
        "deployments/month=2025-11/data_0.parquet",
        "deploy_facts/month=2025-11/data_0.parquet",
        "change_set_members/month=2025-11/data_0.parquet",
        "deployment_outcomes/month=2025-11/data_0.parquet",
    ];
    assert_eq!(removed, set(&november), "{third:#}");
    assert_eq!(
        written,
        set(&[
            "deployments/month=2026-03/data_0.parquet",
            "deploy_facts/month=2026-03/data_0.parquet",
            "change_set_members/month=2026-03/data_0.parquet",
            "deployment_outcomes/month=2026-03/data_0.parquet",
            "environment_heads/data_0.parquet",
        ]),
        "{third:#}"
    );
    for file in november {
        assert!(!out.join(file).exists(), "{file}");
        assert!(!out.join(file).parent().unwrap().exists(), "{file}'s month");
    }

    let fresh = dir.path().join("fresh");
    export(&db, &fresh);
    assert_same_exports(&out, &fresh);
}

/// A config file with the admin token and `export_dir`.
fn admin_config(dir: &Path, export_dir: &Path) -> PathBuf {
    let path = dir.join("shiplog.toml");
    std::fs::write(
        &path,
        format!(
            "export_dir = \"{}\"\n[tokens]\nadmin = \"{ADMIN_TOKEN}\"\n",
            arg(export_dir)
        ),
    )
    .unwrap();
    path
}

async fn post_export(server: &ServedBinary, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{}/api/v1/admin/export", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_route_exports_into_export_dir_with_the_admin_token_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = reference_db(dir.path());
    let export_dir = dir.path().join("warehouse");
    let config = admin_config(dir.path(), &export_dir);
    let server = ServedBinary::start(dir.path(), &db, Some(config.as_path())).await;

    for token in [None, Some("not-the-admin-token")] {
        let (status, body) = post_export(&server, token).await;
        assert_eq!(status, 401, "{body}");
        assert!(body["error"].as_str().unwrap().contains("token"), "{body}");
        assert!(!export_dir.exists(), "nothing is written without the token");
    }

    let (status, summary) = post_export(&server, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["out"], arg(&export_dir));
    assert_eq!(summary["tables"], TABLES.len());
    assert!(export_dir.join(MANIFEST).is_file());
    let files = duckdb(None);
    let mut rows = 0;
    for table in TABLES {
        let detail = summary["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["table"] == table.name)
            .unwrap();
        let exported = count(
            &files,
            &format!("SELECT count(*) FROM {}", files_of(&export_dir, table.name)),
        );
        assert_eq!(detail["rows"], exported, "{}", table.name);
        rows += exported;
    }
    assert_eq!(summary["rows"], rows);

    let (status, again) = post_export(&server, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["months_written"], 0, "{again:#}");
    assert_eq!(again["months_unchanged"], summary["months_written"]);

    // The command refuses while the server holds the file, and names the route.
    let mut command = shiplog();
    command.args([
        "export",
        "--db",
        arg(&db),
        "--out",
        arg(&dir.path().join("cli")),
    ]);
    let refused = output_beside_server(command).await;
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("POST /api/v1/admin/export"),
        "{}",
        text(&refused.stderr)
    );
    server.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_of_other_files_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = reference_db(dir.path());
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "keep me").unwrap();

    let refused = run(&["export", "--db", arg(&db), "--out", arg(&theirs)]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let message = text(&refused.stderr);
    for needle in [
        arg(&theirs),
        "notes.txt",
        "not a Shiplog export",
        "nothing was written",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let left: Vec<_> = std::fs::read_dir(&theirs)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(theirs.join("notes.txt")).unwrap(),
        "keep me"
    );

    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let refused = run(&["export", "--db", arg(&db), "--out", arg(&file)]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("not a directory"),
        "{}",
        text(&refused.stderr)
    );

    // The admin route, with such a directory as its export_dir: 400 naming it.
    let config = admin_config(dir.path(), &theirs);
    let server = ServedBinary::start(dir.path(), &db, Some(config.as_path())).await;
    let (status, body) = post_export(&server, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("notes.txt") && error.contains("export_dir"),
        "{error}"
    );
    server.terminate().await;
    let left: Vec<_> = std::fs::read_dir(&theirs)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["notes.txt"]);
}

/// docs/export.md's schema: under `### <table>`, a row `| `column` | TYPE | … |` for
/// each column, in order.
fn documented_columns(doc: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut tables = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            current = heading
                .trim()
                .strip_prefix('`')
                .and_then(|h| h.split('`').next())
                .map(str::to_owned);
            continue;
        }
        let (Some(table), Some(row)) = (&current, line.strip_prefix("| `")) else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let column = cells[0].trim_end_matches('`').to_owned();
        tables
            .entry(table.clone())
            .or_insert_with(Vec::new)
            .push((column, cells[1].to_owned()));
    }
    tables
}

#[test]
fn the_schema_page_lists_every_exported_column_with_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let db = reference_db(dir.path());
    let out = dir.path().join("warehouse");
    export(&db, &out);
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/export.md"))
            .unwrap();
    let documented = documented_columns(&doc);
    let conn = duckdb(None);
    let mut expected = BTreeMap::new();
    for table in TABLES {
        expected.insert(
            table.name.to_owned(),
            exported_columns(&conn, &files_of(&out, table.name)),
        );
    }
    let generated: String = TABLES
        .iter()
        .map(|t| {
            let rows: String = expected[t.name]
                .iter()
                .map(|(n, k)| format!("| `{n}` | {k} | |\n"))
                .collect();
            format!("### `{}`\n\n{rows}\n", t.name)
        })
        .collect();
    assert!(
        documented == expected,
        "docs/export.md's schema differs from the export's; its columns should read:\n\n{generated}"
    );
    for (name, _) in NOT_EXPORTED {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/export.md names {name}"
        );
    }
}
