//! Shared by the end-to-end tests: starting the real app on a random port with a
//! fresh database file, running the `shiplog` binary, the reference data, and
//! cell-by-cell comparison.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;
use shiplog_web::app::AppState;
use shiplog_web::{Application, Config, Mode};
use tokio::sync::oneshot;

pub const INGEST_TOKEN: &str = "test-ingest-token";
pub const FROM: &str = "2026-01-05";
pub const TO: &str = "2026-02-16";

/// The `shiplog` binary with none of the runner's `SHIPLOG_*` settings, and none of
/// the CI run ids that `shiplog notify` would take as a default id.
pub fn shiplog() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shiplog"));
    clean_env(&mut command);
    command
}

/// Removes the runner's `SHIPLOG_*` settings and CI run ids from `command`'s
/// environment (for a command that runs the binary through a shell).
pub fn clean_env(command: &mut Command) {
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("SHIPLOG_")) {
        command.env_remove(name);
    }
    for ci in [
        "GITHUB_RUN_ID",
        "CI_JOB_ID",
        "BUILD_TAG",
        "CIRCLE_WORKFLOW_JOB_ID",
        "BUILDKITE_JOB_ID",
    ] {
        command.env_remove(ci);
    }
}

/// Runs the binary with `args` and waits for it.
pub fn run(args: &[&str]) -> Output {
    shiplog()
        .args(args)
        .output()
        .expect("the shiplog binary runs")
}

/// Runs `command` on a blocking thread, so that a server on this test's runtime
/// keeps answering it.
pub async fn output_beside_server(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("the shiplog binary runs"))
        .await
        .unwrap()
}

/// A running `shiplog serve`, the real binary, its standard error collected for
/// failure messages.
pub struct ServedBinary {
    pub child: Arc<Mutex<Child>>,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    log: Arc<Mutex<String>>,
    /// The thread that collects standard error, joined once the process has exited so
    /// that the log is then whole.
    reader: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

/// Bounds the waits for the binary to start and to exit, which would otherwise hang a
/// broken run (neither paces a test).
pub const PROCESS_LIMIT: Duration = Duration::from_secs(60);

impl ServedBinary {
    /// Starts the binary on `db` with the ingest token set, `config` as its config file
    /// if given, and waits (bounded) for the line naming its address.
    pub async fn start(dir: &Path, db: &Path, config: Option<&Path>) -> ServedBinary {
        let mut command = shiplog();
        command.current_dir(dir).args(serve_args(db, config));
        ServedBinary::start_command(command).await
    }

    /// [`ServedBinary::start`] for a synchronous test.
    pub fn start_blocking(dir: &Path, db: &Path, config: Option<&Path>) -> ServedBinary {
        let mut command = shiplog();
        command.current_dir(dir).args(serve_args(db, config));
        ServedBinary::spawn(command)
    }

    /// Runs `command`, a `shiplog serve` however it is wrapped (a shell that sets
    /// limits first, say), and waits for the line naming its address. Unless `command`
    /// sets them itself, the ingest token is [`INGEST_TOKEN`] and `RUST_LOG` is `warn`;
    /// the log has no colours.
    pub fn spawn(mut command: Command) -> ServedBinary {
        for (name, default) in [("SHIPLOG_INGEST_TOKEN", INGEST_TOKEN), ("RUST_LOG", "warn")] {
            if !command.get_envs().any(|(set, _)| set == name) {
                command.env(name, default);
            }
        }
        let mut child = command
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        // The line naming the address; log lines (warnings of the start) may come first.
        let mut before = String::new();
        let base = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                panic!("the server did not start:\n{before}");
            }
            match line.trim().rsplit_once(" on http://") {
                Some((serving, addr)) if serving.starts_with("Shiplog is serving") => {
                    break format!("http://{}", addr.trim_end_matches('/'));
                }
                _ => before.push_str(&line),
            }
        };
        let log = Arc::new(Mutex::new(before));
        let collected = log.clone();
        // Drained to the end, so the server never blocks on a full pipe; the thread
        // ends when the process does.
        let reader = std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let mut log = collected.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        ServedBinary {
            child: Arc::new(Mutex::new(child)),
            base,
            log,
            reader: Arc::new(Mutex::new(Some(reader))),
        }
    }

    /// [`ServedBinary::spawn`] from a test's runtime, bounded.
    pub async fn start_command(command: Command) -> ServedBinary {
        let started = tokio::task::spawn_blocking(move || ServedBinary::spawn(command));
        tokio::time::timeout(PROCESS_LIMIT, started)
            .await
            .expect("the server names its address within a minute")
            .unwrap()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap().id()
    }

    /// What the server wrote to standard error so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL: no shutdown, no checkpoint.
    pub fn kill(&self) {
        // Fails only when the process has already been reaped.
        let _ = self.child.lock().unwrap().kill();
    }

    /// Waits (bounded) for the process to exit.
    pub async fn wait(&self) -> ExitStatus {
        let (child, reader) = (self.child.clone(), self.reader.clone());
        let waited = tokio::task::spawn_blocking(move || {
            let status = child.lock().unwrap().wait().unwrap();
            if let Some(reader) = reader.lock().unwrap().take() {
                reader.join().unwrap();
            }
            status
        });
        tokio::time::timeout(PROCESS_LIMIT, waited)
            .await
            .expect("the server exits within a minute")
            .unwrap()
    }

    /// SIGTERM, as a container runtime stops it: the server drains, queued writes
    /// finish, the writer stops. Returns at once; [`ServedBinary::wait`] for the exit.
    pub fn send_terminate(&self) {
        let pid = self.child.lock().unwrap().id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
    }

    /// SIGTERM, then waits for the exit.
    pub async fn terminate(&self) -> ExitStatus {
        self.send_terminate();
        self.wait().await
    }
}

/// `[--config FILE] serve --db DB --addr 127.0.0.1:0`: a server on a free port.
pub fn serve_args(db: &Path, config: Option<&Path>) -> Vec<std::ffi::OsString> {
    let mut args = Vec::new();
    if let Some(config) = config {
        args.extend(["--config".into(), config.as_os_str().to_owned()]);
    }
    args.extend(
        [
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ]
        .map(Into::into),
    );
    args
}

/// A test that fails before it stops its server does not leave the process behind.
impl Drop for ServedBinary {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running app with its own database in a temporary directory.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub db: PathBuf,
    pub state: AppState,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// A config with defaults only (no file, no environment), a database in `dir`.
pub fn test_config(dir: &Path) -> Config {
    let mut config =
        Config::load(Some(empty_config_file(dir).as_path()), |_| None).expect("defaults load");
    config.db = dir.join("shiplog.duckdb");
    config.addr = "127.0.0.1:0".into();
    config
}

fn empty_config_file(dir: &Path) -> PathBuf {
    let path = dir.join("empty.toml");
    std::fs::write(&path, "").unwrap();
    path
}

/// Starts the app with an ingest token set, after `configure` adjusts the config.
pub async fn spawn_app(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.tokens.ingest = Some(SecretString::from(INGEST_TOKEN));
    configure(&mut config);
    let db = config.db.clone();
    let app = Application::build(config, Mode::Serve)
        .await
        .expect("the app starts");
    let addr = app.local_addr();
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        db,
        state,
        client: reqwest::Client::new(),
        stop: Some(stop),
        served: Some(served),
        _dir: dir,
    }
}

impl TestApp {
    pub async fn post_events(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/events", self.base))
            .bearer_auth(INGEST_TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts `body` to `/webhooks/{route}` (`route` may carry a query: `jira?token=…`)
    /// with `headers`, as a sender would; the status and the JSON answer (`null` when
    /// it is not JSON).
    pub async fn webhook(
        &self,
        route: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/webhooks/{route}", self.base))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The metrics JSON for `query` (`from=…&to=…`, a filter), which must be `200`.
    pub async fn metrics(&self, query: &str) -> Value {
        let (status, text) = self.get_text(&format!("/api/v1/metrics?{query}")).await;
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    pub async fn get_text(&self, path_and_query: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// The overview's tile of the figure `slug` for `query` (`from=…&to=…`, a filter):
    /// the unrounded value the page carries (`data-value`, `None` when undefined) and
    /// how many samples it is made of (`data-samples`).
    pub async fn tile(&self, query: &str, slug: &str) -> (Option<f64>, i64) {
        let (status, page) = self.get_text(&format!("/?{query}")).await;
        assert_eq!(status, 200, "{page}");
        let attribute = |after: &str, name: &str| -> String {
            let start = after
                .find(&format!("{name}=\""))
                .unwrap_or_else(|| panic!("no {name} after the {slug} tile"))
                + name.len()
                + 2;
            let end = after[start..].find('"').unwrap() + start;
            after[start..end].to_owned()
        };
        let at = page
            .find(&format!("data-metric=\"{slug}\""))
            .unwrap_or_else(|| panic!("no {slug} tile on /?{query}"));
        let tile = &page[at..];
        let value = attribute(tile, "data-value");
        let samples = attribute(tile, "data-samples").parse().unwrap();
        (value.parse().ok(), samples)
    }

    /// The overview's build-health tile titled `title` for `query`: its value as shown.
    pub async fn build_tile(&self, query: &str, title: &str) -> String {
        let (status, page) = self.get_text(&format!("/?{query}")).await;
        assert_eq!(status, 200, "{page}");
        let at = page
            .find(&format!("data-figure=\"{title}\""))
            .unwrap_or_else(|| panic!("no {title} tile on /?{query}"));
        let tile = &page[at..];
        let start = tile.find("<span class=\"value\">").unwrap() + "<span class=\"value\">".len();
        let end = tile[start..].find("</span>").unwrap() + start;
        tile[start..end].to_owned()
    }

    /// Rows in the raw log, read through the app's own read pool.
    pub fn raw_events(&self) -> i64 {
        self.state
            .db
            .readers
            .with(|c| {
                c.query_row("SELECT count(*) FROM raw_events", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap()
            .unwrap()
    }

    /// Stops the server and waits for the writer to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.unwrap().unwrap();
        }
    }
}

/// A JSON file of `tests/fixtures/` (`github/…/release/published.json`).
pub fn fixture(path: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(path);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

pub fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/reference")
        .join(name)
}

pub fn reference_text(name: &str) -> String {
    std::fs::read_to_string(reference(name)).unwrap()
}

/// Tolerance for a column or JSON field, by its name (the reference README).
fn tolerance(name: &str) -> f64 {
    if name.contains("hours") {
        0.01
    } else if name == "per_day" {
        0.001
    } else if name.contains("rate") {
        0.0001
    } else {
        0.0
    }
}

fn cells_match(name: &str, actual: &str, expected: &str) -> bool {
    if actual == expected {
        return true;
    }
    match (actual.parse::<f64>(), expected.parse::<f64>()) {
        (Ok(a), Ok(e)) => (a - e).abs() <= tolerance(name) + 1e-9,
        _ => false,
    }
}

/// Every cell that differs, as `row N, column: actual != expected`.
pub fn csv_differences(actual: &str, expected: &str) -> Vec<String> {
    let actual: Vec<&str> = actual.lines().collect();
    let expected: Vec<&str> = expected.lines().collect();
    let mut out = Vec::new();
    if actual.len() != expected.len() {
        out.push(format!(
            "{} lines, expected {}",
            actual.len(),
            expected.len()
        ));
    }
    let header: Vec<&str> = expected[0].split(',').collect();
    for (n, (a, e)) in actual.iter().zip(&expected).enumerate() {
        let (a, e): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), e.split(',').collect());
        if a.len() != e.len() {
            out.push(format!(
                "line {}: {} cells, expected {}",
                n + 1,
                a.len(),
                e.len()
            ));
            continue;
        }
        for (i, (ac, ec)) in a.iter().zip(&e).enumerate() {
            if !cells_match(header[i], ac, ec) {
                out.push(format!(
                    "line {} ({} {}), {}: {ac} != {ec}",
                    n + 1,
                    e[0],
                    e[1],
                    header[i]
                ));
            }
        }
    }
    out
}

/// Every leaf of `expected` that `actual` does not match.
pub fn json_differences(actual: &Value, expected: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", actual, expected, &mut out);
    out
}

fn walk(path: &str, actual: &Value, expected: &Value, out: &mut Vec<String>) {
    match expected {
        Value::Object(fields) => {
            for (key, e) in fields {
                let a = actual.get(key).unwrap_or(&Value::Null);
                walk(&format!("{path}.{key}"), a, e, out);
            }
        }
        Value::Number(e) => {
            let name = path.rsplit('.').next().unwrap_or("");
            let ok = actual
                .as_f64()
                .is_some_and(|a| cells_match(name, &a.to_string(), &e.to_string()));
            if !ok {
                out.push(format!("{path}: {actual} != {expected}"));
            }
        }
        _ if actual != expected => out.push(format!("{path}: {actual} != {expected}")),
        _ => {}
    }
}

/// A deterministic shuffle (splitmix64), so a failing seed can be rerun.
pub fn shuffled<T>(mut items: Vec<T>, seed: u64) -> Vec<T> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
    items
}
