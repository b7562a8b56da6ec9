//! `shiplog backfill github`, the real binary, against a local server on 127.0.0.1
//! that replays recorded GitHub API answers (tests/fixtures-github-api) and logs each
//! request: what lands in the tables and the metrics, a rate limit sat out, a run
//! stopped by server errors and resumed where it stopped, a re-run that stores
//! nothing new, and the refusal while a server holds the database.

mod support;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use support::{output_beside_server, shiplog, text};
use tokio::sync::oneshot;

const TOKEN: &str = "test-github-token";
const DEPLOYMENTS_1: &str = "/repos/acme/shop/deployments?per_page=100&page=1";
const DEPLOYMENTS_2: &str = "/repos/acme/shop/deployments?per_page=100&page=2";
const PULLS_1: &str =
    "/repos/acme/shop/pulls?state=closed&sort=updated&direction=desc&per_page=100&page=1";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures-github-api")
}

/// One recorded answer.
#[derive(Debug, Clone)]
struct Recorded {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn from_index(entry: &Value) -> Recorded {
        let file = entry["body"].as_str().unwrap();
        Recorded {
            status: entry["status"].as_u64().unwrap() as u16,
            headers: entry["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect(),
            body: std::fs::read_to_string(fixtures().join(file)).unwrap(),
        }
    }

    /// What GitHub answers when it fails (not a recording: a 500 has no documented body).
    fn server_error() -> Recorded {
        Recorded {
            status: 500,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: r#"{"message":"Server Error"}"#.into(),
        }
    }

    fn not_found() -> Recorded {
        Recorded {
            status: 404,
            headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
            body: r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}"#
                .into(),
        }
    }
}

/// The replay server's state: the recordings by path and query, answers to give
/// first for a path, paths that fail while listed, and the request log.
#[derive(Debug, Default)]
struct Replay {
    recorded: HashMap<String, Recorded>,
    rate_limited: Option<Recorded>,
    first: Mutex<HashMap<String, VecDeque<Recorded>>>,
    failing: Mutex<HashSet<String>>,
    log: Mutex<Vec<String>>,
    authorizations: Mutex<HashSet<Option<String>>>,
}

impl Replay {
    fn load() -> Replay {
        let index: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures().join("responses.json")).unwrap(),
        )
        .unwrap();
        Replay {
            recorded: index["responses"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(path, entry)| (path.clone(), Recorded::from_index(entry)))
                .collect(),
            rate_limited: Some(Recorded::from_index(&index["rate_limited"])),
            ..Replay::default()
        }
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|p| *p == path).count()
    }

    fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }
}

async fn answer(State(replay): State<Arc<Replay>>, uri: Uri, headers: HeaderMap) -> Response {
    let key = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    replay.log.lock().unwrap().push(key.clone());
    replay.authorizations.lock().unwrap().insert(
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    let scripted = replay
        .first
        .lock()
        .unwrap()
        .get_mut(&key)
        .and_then(VecDeque::pop_front);
    let recorded = match scripted {
        Some(r) => r,
        None if replay.failing.lock().unwrap().contains(&key) => Recorded::server_error(),
        None => replay
            .recorded
            .get(&key)
            .cloned()
            .unwrap_or_else(Recorded::not_found),
    };
    let mut response = (
        StatusCode::from_u16(recorded.status).unwrap(),
        recorded.body,
    )
        .into_response();
    for (name, value) in recorded.headers {
        response.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    response
}

/// The replay server on a random port, and a fresh database beside it.
struct World {
    url: String,
    replay: Arc<Replay>,
    db: PathBuf,
    config: PathBuf,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let replay = Arc::new(Replay::load());
    let app = Router::new().fallback(answer).with_state(replay.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("empty.toml");
    std::fs::write(&config, "").unwrap();
    World {
        url: format!("http://{addr}"),
        replay,
        db: dir.path().join("shiplog.duckdb"),
        config,
        _stop: stop,
        _dir: dir,
    }
}

impl World {
    /// Runs the binary on a blocking thread while the server answers on the runtime.
    async fn run(&self, args: Vec<String>) -> Output {
        let mut command = shiplog();
        command.arg("--config").arg(&self.config).args(args);
        output_beside_server(command).await
    }

    async fn backfill(&self, extra: &[&str]) -> Output {
        let mut args: Vec<String> = [
            "backfill",
            "github",
            "--repo",
            "acme/shop",
            "--since",
            "2026-03-01",
            "--token",
            TOKEN,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(["--api-url".to_owned(), self.url.clone()]);
        args.extend(["--db".to_owned(), self.db.display().to_string()]);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        self.run(args).await
    }

    async fn metrics(&self) -> Value {
        let args = [
            "metrics",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-15",
            "--db",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([self.db.display().to_string()])
        .collect();
        let out = self.run(args).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn query<T: duckdb::types::FromSql>(&self, sql: &str) -> Vec<Vec<T>> {
        let conn = duckdb::Connection::open(&self.db).unwrap();
        let mut statement = conn.prepare(sql).unwrap();
        let mut rows = statement.query([]).unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            let width = row.as_ref().column_count();
            out.push((0..width).map(|i| row.get::<_, T>(i).unwrap()).collect());
        }
        out
    }

    fn count(&self, sql: &str) -> i64 {
        let conn = duckdb::Connection::open(&self.db).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn raw_pages(&self) -> i64 {
        self.count("SELECT count(*) FROM raw_events WHERE source = 'github-backfill'")
    }
}

fn assert_ran(out: &Output) -> String {
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "the backfill fails: {stderr}");
    stderr
}

fn statuses(id: u32) -> String {
    format!("/repos/acme/shop/deployments/{id}/statuses?per_page=100")
}

fn commits(number: u32) -> String {
    format!("/repos/acme/shop/pulls/{number}/commits?per_page=100&page=1")
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_lands_deployments_merged_pull_requests_and_their_commits() {
    let w = world().await;
    let stderr = assert_ran(&w.backfill(&[]).await);
    assert!(
        stderr.contains(
            "acme/shop since 2026-03-01 00:00:00 UTC: deployments: 2 page(s) read, 2 new, 5 taken, 4 event(s) stored, 1 skipped; \
             pull requests: 1 page(s) read, 1 new, 2 taken, 6 event(s) stored, 0 skipped; 11 request(s), 0 wait(s)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped: deployment 103: not finished (latest status in_progress)"),
        "{stderr}"
    );

    let mut expected: Vec<String> = vec!["/repos/acme/shop".into(), DEPLOYMENTS_1.into()];
    expected.extend([106, 105, 104, 103].map(statuses));
    expected.extend([
        DEPLOYMENTS_2.to_owned(),
        statuses(102),
        PULLS_1.to_owned(),
        commits(12),
        commits(11),
    ]);
    assert_eq!(
        w.replay.requests(),
        expected,
        "the deployment before --since and unmerged pull requests are not asked about"
    );
    assert_eq!(
        *w.replay.authorizations.lock().unwrap(),
        HashSet::from([Some(format!("Bearer {TOKEN}"))])
    );

    let deployments: Vec<Vec<String>> = w.query(
        "SELECT id, service, environment, status, sha, strftime(started_at, '%Y-%m-%dT%H:%M:%SZ'), \
                strftime(finished_at, '%Y-%m-%dT%H:%M:%SZ') FROM deployments ORDER BY id",
    );
    let row = |items: [&str; 7]| items.map(str::to_owned).to_vec();
    assert_eq!(
        deployments,
        [
            row([
                "github:acme/shop:102",
                "shop",
                "production",
                "success",
                "a2583cf386ef113d138bc18eb132457eb1872ecf",
                "2026-03-05T12:00:00Z",
                "2026-03-05T12:10:00Z"
            ]),
            row([
                "github:acme/shop:104",
                "shop",
                "production",
                "failure",
                "79bb043f7ba96f3de3739fb7171f6887b7039637",
                "2026-03-09T09:00:00Z",
                "2026-03-09T09:07:00Z"
            ]),
            row([
                "github:acme/shop:105",
                "shop",
                "production",
                "success",
                "d3d5417af24b22e6af1486a4da976b026be9da8c",
                "2026-03-10T10:00:00Z",
                "2026-03-10T10:05:00Z"
            ]),
            row([
                "github:acme/shop:106",
                "shop",
                "staging",
                "success",
                "d3d5417af24b22e6af1486a4da976b026be9da8c",
                "2026-03-11T09:00:00Z",
                "2026-03-11T09:04:00Z"
            ]),
        ]
    );

    let changes: Vec<Vec<String>> = w.query(
        "SELECT sha, coalesce(array_to_string(parents, ','), '-'), strftime(committed_at, '%Y-%m-%dT%H:%M:%SZ') \
         FROM changes WHERE repo = 'acme/shop' ORDER BY committed_at",
    );
    let change = |items: [&str; 3]| items.map(str::to_owned).to_vec();
    assert_eq!(
        changes,
        [
            change([
                "8093d995f066734046dbf5f2224400418733d521",
                "36f200e782ada414d0fe16040f418088d9516972",
                "2026-03-02T09:00:00Z"
            ]),
            change([
                "e18e0521aed5762b30e5fa1f65cd1fefd85a41de",
                "8093d995f066734046dbf5f2224400418733d521",
                "2026-03-04T10:00:00Z"
            ]),
            change([
                "a2583cf386ef113d138bc18eb132457eb1872ecf",
                "-",
                "2026-03-05T11:00:00Z"
            ]),
            change([
                "11d2bfc1014008053febd018f2897078c87860e4",
                "a2583cf386ef113d138bc18eb132457eb1872ecf",
                "2026-03-06T15:00:00Z"
            ]),
            change([
                "79bb043f7ba96f3de3739fb7171f6887b7039637",
                "11d2bfc1014008053febd018f2897078c87860e4",
                "2026-03-08T11:30:00Z"
            ]),
            change([
                "d3d5417af24b22e6af1486a4da976b026be9da8c",
                "-",
                "2026-03-09T08:00:00Z"
            ]),
        ]
    );

    let pull_requests: Vec<Vec<String>> = w.query(
        "SELECT number::VARCHAR, sha, strftime(first_commit_at, '%Y-%m-%dT%H:%M:%SZ'), \
                strftime(opened_at, '%Y-%m-%dT%H:%M:%SZ'), strftime(merged_at, '%Y-%m-%dT%H:%M:%SZ') \
         FROM pull_requests ORDER BY number",
    );
    let pr = |items: [&str; 5]| items.map(str::to_owned).to_vec();
    assert_eq!(
        pull_requests,
        [
            pr([
                "11",
                "a2583cf386ef113d138bc18eb132457eb1872ecf",
                "2026-03-02T09:00:00Z",
                "2026-03-03T08:00:00Z",
                "2026-03-05T11:00:00Z"
            ]),
            pr([
                "12",
                "d3d5417af24b22e6af1486a4da976b026be9da8c",
                "2026-03-06T15:00:00Z",
                "2026-03-07T10:00:00Z",
                "2026-03-09T08:00:00Z"
            ]),
        ]
    );

    // The raw log holds GitHub's pages, so a replay maps them again.
    let replay = w
        .run(
            ["replay", "--source", "github-backfill", "--db"]
                .iter()
                .map(|s| (*s).to_owned())
                .chain([w.db.display().to_string()])
                .collect(),
        )
        .await;
    let replayed = text(&replay.stderr);
    assert!(replay.status.success(), "{replayed}");
    assert!(
        replayed.contains("replayed 3 deliveries: 10 typed event(s) merged, 0 not mappable"),
        "{replayed}"
    );
    assert_eq!(w.count("SELECT count(*) FROM deployments"), 4);

    // Two successful production deployments: 102 (merge of #11, first commit 03-02
    // 09:00, finished 03-05 12:10: 75h10m) and 105 (squash of #12, first commit 03-06
    // 15:00, finished 03-10 10:05: 91h05m). From the merge times alone they would be
    // 1h10m and 26h05m.
    let metrics = w.metrics().await;
    assert_eq!(
        metrics["deployment_frequency"]["deployments"], 2,
        "{metrics}"
    );
    assert_eq!(metrics["lead_time"]["samples"], 2, "{metrics}");
    let median = metrics["lead_time"]["median_hours"].as_f64().unwrap();
    assert!((median - 83.125).abs() <= 0.01, "{metrics}");
    assert_eq!(metrics["change_failure_rate"]["failed"], 0, "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_request_is_asked_again_after_the_reset_and_the_run_completes() {
    let w = world().await;
    let limited = w.replay.rate_limited.clone().unwrap();
    w.replay
        .first
        .lock()
        .unwrap()
        .insert(DEPLOYMENTS_1.to_owned(), VecDeque::from([limited]));
    let stderr = assert_ran(&w.backfill(&[]).await);
    assert_eq!(
        w.replay.count(DEPLOYMENTS_1),
        2,
        "asked again once the (past) reset time came"
    );
    assert!(stderr.contains("12 request(s), 1 wait(s)"), "{stderr}");
    assert_eq!(w.count("SELECT count(*) FROM deployments"), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_stopped_by_server_errors_resumes_at_the_page_it_stopped_on() {
    let w = world().await;
    w.replay
        .failing
        .lock()
        .unwrap()
        .insert(DEPLOYMENTS_2.to_owned());
    let out = w.backfill(&["--retries", "0"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: stopped at deployments page 2: GET {DEPLOYMENTS_2} answered 500: Server Error; \
             run the same command again to resume"
        )),
        "{stderr}"
    );
    assert_eq!(w.raw_pages(), 1, "page 1 is stored");
    assert_eq!(w.count("SELECT count(*) FROM deployments"), 3);

    w.replay.failing.lock().unwrap().clear();
    w.replay.clear_log();
    let stderr = assert_ran(&w.backfill(&[]).await);
    let asked = w.replay.requests();
    assert!(!asked.contains(&DEPLOYMENTS_1.to_owned()), "{asked:?}");
    assert!(!asked.contains(&statuses(106)), "{asked:?}");
    assert_eq!(w.replay.count(DEPLOYMENTS_2), 1);
    assert_eq!(w.replay.count(PULLS_1), 1);
    assert!(
        stderr.contains("deployments from page 2: 1 page(s) read, 1 new"),
        "{stderr}"
    );
    assert_eq!(w.count("SELECT count(*) FROM deployments"), 4);
    assert_eq!(w.count("SELECT count(*) FROM pull_requests"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn rerunning_a_finished_backfill_reads_the_newest_page_and_stores_nothing_new() {
    let w = world().await;
    assert_ran(&w.backfill(&[]).await);
    let (raw, changes) = (w.raw_pages(), w.count("SELECT count(*) FROM changes"));
    w.replay.clear_log();
    let stderr = assert_ran(&w.backfill(&[]).await);
    assert_eq!(w.raw_pages(), raw);
    assert_eq!(w.count("SELECT count(*) FROM raw_events"), raw);
    assert_eq!(w.count("SELECT count(*) FROM changes"), changes);
    assert_eq!(w.replay.count(DEPLOYMENTS_1), 1);
    assert_eq!(
        w.replay.count(DEPLOYMENTS_2),
        0,
        "page 2 holds nothing newer"
    );
    assert!(
        stderr.contains("deployments (newest only): 1 page(s) read, 0 new"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_refuses_a_database_held_by_a_server_with_exit_code_2() {
    let w = world().await;
    let app = support::spawn_app(|_| {}).await;
    let out = shiplog()
        .args([
            "backfill",
            "github",
            "--repo",
            "acme/shop",
            "--since",
            "2026-03-01",
        ])
        .args(["--token", TOKEN, "--api-url", &w.url, "--db"])
        .arg(&app.db)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("stop the server, or run the backfill against a copy of the database"),
        "{stderr}"
    );
    assert!(w.replay.requests().is_empty(), "nothing is asked of GitHub");
    app.stop().await;
}
