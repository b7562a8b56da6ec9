//! The HTTP half of the scale benchmark: `shiplog serve` in its own process on a copy
//! of the imported database, `wrk` in another as the load generator (single-event
//! posts, and `GET /healthz` the same way as the floor), one new deployment with its
//! commits until a read sees it, every dashboard page, and the server's peak memory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::common;

/// The token the server is started with for ingest.
const TOKEN: &str = "bench";
const REPORT: &str = include_str!("report.lua");
const EVENTS: &str = include_str!("events.lua");

/// The first argument that makes this benchmark's binary run `shiplog` instead:
/// `bench_scale --as-shiplog serve --db …` is `shiplog serve --db …`.
pub const AS_SHIPLOG: &str = "--as-shiplog";

/// Runs the `shiplog` command line from the arguments after [`AS_SHIPLOG`].
pub async fn run_as_shiplog() {
    use clap::Parser;
    let args = std::env::args().filter(|a| a != AS_SHIPLOG);
    let cli = shiplog_web::cli::Cli::parse_from(args);
    if let Err(error) = shiplog_web::cli::run(cli).await {
        eprintln!("error: {error}");
        std::process::exit(error.exit_code());
    }
}

/// A `shiplog serve` process.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the server on `db` and waits until it listens.
    fn start(db: &Path) -> Server {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg(AS_SHIPLOG)
            .arg("serve")
            .arg("--db")
            .arg(db)
            .args(["--addr", "127.0.0.1:0"])
            .env("SHIPLOG_INGEST_TOKEN", TOKEN)
            .env_remove("SHIPLOG_READ_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let base = loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "the server stopped before it listened"
            );
            eprint!("server: {line}");
            if let Some(at) = line.find("http://") {
                break line[at..].trim().trim_end_matches('/').to_owned();
            }
        };
        // Keep the pipe drained, so the server never blocks on a full one.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                eprintln!("server: {line}");
            }
        });
        Server { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's peak resident set so far.
    fn peak_rss_mib(&self) -> f64 {
        common::peak_rss_mib(&self.child.id().to_string()).expect("the server's /proc status")
    }

    /// Stops it as a container runtime would (SIGTERM), and waits.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "the server exited with {exit}");
    }
}

/// What one `wrk` run reports.
#[derive(Debug, Clone, Copy)]
pub struct Wrk {
    pub requests: u64,
    pub seconds: f64,
    /// Answers other than 2xx (a `503` from a full queue counts here).
    pub refused: u64,
    pub socket_errors: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Wrk {
    pub fn rate(&self) -> f64 {
        self.requests.saturating_sub(self.refused) as f64 / self.seconds
    }
}

/// `wrk` with two threads (the machine has two cores) and `connections` connections
/// for `seconds`, with `script` (ending in [`REPORT`]).
fn wrk(url: &str, script: &Path, seconds: u32, connections: u32) -> Wrk {
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .args(["--timeout", "10s", "-s"])
        .arg(script)
        .arg(url)
        .output()
        .expect("wrk runs the HTTP load: install it (Debian: apt-get install wrk)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {stdout}");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("wrk-result "))
        .unwrap_or_else(|| panic!("no wrk-result line in: {stdout}"));
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    Wrk {
        requests: field("requests"),
        seconds: field("duration_us") as f64 / 1e6,
        refused: field("status_errors"),
        socket_errors: field("socket_errors") + field("timeouts"),
        p50: Duration::from_micros(field("p50_us")),
        p99: Duration::from_micros(field("p99_us")),
        max: Duration::from_micros(field("max_us")),
    }
}

/// What the HTTP half measured at one size.
pub struct Http {
    pub healthz: Wrk,
    pub ingest: Wrk,
    /// Events the server stored while `wrk` posted (from its `/metrics`).
    pub stored: u64,
    /// Recomputations of derived facts while `wrk` posted, and their total time.
    pub settles: u64,
    pub settle_seconds: f64,
    /// The read after the load, which pays what the load left owed.
    pub settle_after_load: Duration,
    pub new_deployment: NewDeployment,
    /// Each dashboard page: (name, median).
    pub pages: Vec<(String, Duration)>,
    pub peak_rss_mib: f64,
}

/// One deployment with its commits posted at full scale, the median of the runs.
pub struct NewDeployment {
    /// Post to `202`.
    pub ack: Duration,
    /// From the `202` to a read (the one service's metrics JSON) that counts it.
    pub visible: Duration,
    /// The same read again, with nothing owed.
    pub read: Duration,
}

/// What the HTTP half needs from the imported database.
pub struct Subject {
    /// Every service with the repository its deployments name and its newest
    /// deployed commit.
    pub services: Vec<(String, String, String)>,
    /// The service whose page and new deployment are measured.
    pub service: String,
    /// That service's repository and newest deployed commit.
    pub repo: String,
    pub head: String,
}

impl Subject {
    pub fn read(conn: &duckdb::Connection, service: &str) -> Subject {
        let mut stmt = conn
            .prepare(
                "SELECT service, repo, sha FROM (
                     SELECT service, repo, sha, row_number() OVER (
                         PARTITION BY service ORDER BY finished_at DESC, id DESC) AS n
                     FROM deployments
                     WHERE environment = 'production' AND repo IS NOT NULL
                       AND coalesce(status, 'success') = 'success')
                 WHERE n = 1 ORDER BY service",
            )
            .unwrap();
        let services: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let (repo, head, _) = common::newest_deployed(conn, service);
        Subject {
            services,
            service: service.to_owned(),
            repo,
            head,
        }
    }
}

/// Writes the events script for this run: the services, a fresh nonce and the first
/// timestamp above [`EVENTS`].
fn events_script(path: &Path, services: &[(String, String, String)], start: DateTime<Utc>) {
    let nonce = format!("{:08x}", Utc::now().timestamp() as u32);
    let mut text = format!(
        "token = {TOKEN:?}\nnonce = {nonce:?}\nstart = {}\nservices = {{\n",
        start.timestamp()
    );
    for (service, repo, head) in services {
        text.push_str(&format!("  {{{service:?}, {repo:?}, {head:?}}},\n"));
    }
    text.push_str("}\n");
    text.push_str(EVENTS);
    text.push_str(REPORT);
    std::fs::write(path, text).unwrap();
}

/// Counters of one scrape of the server's `/metrics` (as the scrape found them: it
/// then waits for owed derived facts, for its DORA gauges).
async fn counters<const N: usize>(
    client: &reqwest::Client,
    server: &Server,
    names: [&str; N],
) -> [f64; N] {
    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    names.map(|name| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics"))
    })
}

async fn get_ok(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

/// The counts a new deployment with `commits` commits must raise by one and by
/// `commits`: (deployments, lead-time samples).
fn counts(body: &str) -> (u64, u64) {
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    let count = |metric: &str, field: &str| json[metric][field].as_u64().unwrap();
    (
        count("deployment_frequency", "deployments"),
        count("lead_time", "samples"),
    )
}

/// Posts `runs` deployments of three new commits each, chained on the service's
/// newest deployed commit, and reads the service's metrics JSON after each.
async fn new_deployments(
    client: &reqwest::Client,
    server: &Server,
    subject: &Subject,
    after: NaiveDate,
    runs: usize,
) -> NewDeployment {
    const COMMITS: u64 = 3;
    let from = after + Days::new(30);
    let to = from + Days::new(30);
    let read = server.url(&format!(
        "/api/v1/metrics?service={}&from={from}&to={to}",
        subject.service
    ));
    let nonce = Utc::now().timestamp_micros();
    let mut parent = subject.head.clone();
    let (mut acks, mut visible, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    let mut before = counts(&get_ok(client, &read).await);
    for run in 0..=runs {
        let at =
            from.and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::minutes(run as i64);
        let stamp = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut body = String::new();
        for c in 0..COMMITS {
            let sha = format!("{:024x}{:08x}{c:08x}", nonce, run);
            body.push_str(
                &serde_json::json!({"type": "change", "repo": subject.repo, "sha": sha,
                "parents": [parent], "committed_at": stamp})
                .to_string(),
            );
            body.push('\n');
            parent = sha;
        }
        body.push_str(
            &serde_json::json!({"type": "deployment", "id": format!("new-{nonce}-{run}"),
            "service": subject.service, "environment": "production", "repo": subject.repo,
            "sha": parent, "status": "success", "finished_at": stamp})
            .to_string(),
        );
        let started = Instant::now();
        let response = client
            .post(server.url("/api/v1/events"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            202,
            "{}",
            response.text().await.unwrap()
        );
        let acked = Instant::now();
        let seen = counts(&get_ok(client, &read).await);
        let shown = acked.elapsed();
        assert_eq!(
            seen,
            (before.0 + 1, before.1 + COMMITS),
            "the read missed the deployment"
        );
        let again = Instant::now();
        assert_eq!(counts(&get_ok(client, &read).await), seen);
        // The first run warms up.
        if run > 0 {
            acks.push(acked - started);
            visible.push(shown);
            reads.push(again.elapsed());
        }
        before = seen;
    }
    NewDeployment {
        ack: common::median(acks),
        visible: common::median(visible),
        read: common::median(reads),
    }
}

/// Every dashboard page over the history's last 90 days: the median of `runs`.
async fn pages(
    client: &reqwest::Client,
    server: &Server,
    service: &str,
    end: NaiveDate,
    runs: usize,
) -> Vec<(String, Duration)> {
    let to = end + Days::new(1);
    let mut out = Vec::new();
    for (name, path) in common::pages(service, to - Days::new(90), to) {
        let url = server.url(&path);
        get_ok(client, &url).await;
        let mut times = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            get_ok(client, &url).await;
            times.push(started.elapsed());
        }
        out.push((name, common::median(times)));
    }
    out
}

/// Serves a copy of `db` (the original stays as imported) and measures it.
pub async fn measure(
    db: &Path,
    subject: &Subject,
    end: NaiveDate,
    seconds: u32,
    runs: usize,
) -> Http {
    let dir = tempfile::tempdir_in(db.parent().unwrap()).unwrap();
    let copy = dir.path().join("served.duckdb");
    std::fs::copy(db, &copy).unwrap();
    let server = Server::start(&copy);
    let client = reqwest::Client::new();

    let pages = pages(&client, &server, &subject.service, end, runs).await;
    // On the history as imported: after the load, the service's newest deployed commit
    // is one the load posted.
    let new_deployment = new_deployments(&client, &server, subject, end, runs).await;

    let healthz_script = dir.path().join("healthz.lua");
    std::fs::write(&healthz_script, REPORT).unwrap();
    let healthz = wrk(&server.url("/healthz"), &healthz_script, seconds, 64);

    // After the new deployments' (30 days after the history), so the load's come last.
    let start = (end + Days::new(60))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    // Beside the database, for trying the load by hand.
    let script = db.with_extension("events.lua");
    events_script(&script, &subject.services, start);
    let names = [
        "shiplog_events_accepted_total",
        "shiplog_writer_settles_total",
        "shiplog_writer_settle_seconds_total",
    ];
    let before = counters(&client, &server, names).await;
    let ingest = wrk(&server.url("/api/v1/events"), &script, seconds, 64);
    // The first read after the load is this scrape: its counters are those of the
    // load, then it waits for the payment the load left owed.
    let started = Instant::now();
    let after = counters(&client, &server, names).await;
    let settle_after_load = started.elapsed();
    let [stored, settles, settle_seconds] = [0, 1, 2].map(|i| after[i] - before[i]);
    let peak_rss_mib = server.peak_rss_mib();
    server.stop();
    Http {
        healthz,
        ingest,
        stored: stored as u64,
        settles: settles as u64,
        settle_seconds,
        settle_after_load,
        new_deployment,
        pages,
        peak_rss_mib,
    }
}
