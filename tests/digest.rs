//! The weekly digest end to end: the reference set (plus annotations and an incident
//! with a hostile title) through `shiplog report digest` in every format, checked
//! against the metrics JSON of the same week and the previous one; `shiplog digest
//! send` to a local HTTP receiver (Slack, Teams, a generic webhook) and to a real
//! `aiosmtpd` server with STARTTLS and AUTH; retries and a target that always fails;
//! and the server's schedule on tokio's paused clock.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{reference, run, shiplog, text};

const WEEK_FROM: &str = "2026-02-09";
const WEEK_TO: &str = "2026-02-16";
const PREVIOUS_FROM: &str = "2026-02-02";

/// Annotations (one outside the week, one with markup and mentions) and an open
/// incident whose title tries to mention a Slack channel and make a link.
const EXTRA_EVENTS: &str = r#"{"type":"annotation","id":"note-org","at":"2026-02-10T09:00:00Z","text":"Moved to trunk-based development"}
{"type":"annotation","id":"note-pay","at":"2026-02-11T09:00:00Z","text":"[click](http://evil.example) <!channel> @here *now*","team":"payments"}
{"type":"annotation","id":"note-api","at":"2026-02-12T09:00:00Z","text":"storefront-api on the new cluster","service":"storefront-api"}
{"type":"annotation","id":"note-late","at":"2026-02-20T09:00:00Z","text":"after the week","team":"payments"}
{"type":"incident","id":"INC-X","service":"legacy-billing","opened_at":"2026-02-12T10:00:00Z","severity":"sev2","title":"<!channel> see [this](https://evil.example/x) @here"}
"#;

const GOALS: &str = r#"
[teams.payments.goals]
deployments_per_week = 10
lead_time_median_hours = 24
change_failure_rate = 0.10
restore_median_hours = 4

[services.checkout.goals]
rework_rate = 0.5
"#;

/// A database with the reference set and [`EXTRA_EVENTS`], imported by the binary.
fn prepared(dir: &Path) -> PathBuf {
    let db = dir.join("digest.duckdb");
    let extra = dir.join("extra.ndjson");
    std::fs::write(&extra, EXTRA_EVENTS).unwrap();
    let out = run(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        reference("events.ndjson").to_str().unwrap(),
        extra.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "import: {}", text(&out.stderr));
    db
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("shiplog.toml");
    std::fs::write(&path, format!("{GOALS}\n{body}")).unwrap();
    path
}

fn shiplog_json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// The metrics JSON of a team for `[from, to)`.
fn metrics(db: &Path, config: &Path, team: &str, from: &str, to: &str) -> Value {
    shiplog_json(&[
        "--config",
        config.to_str().unwrap(),
        "metrics",
        "--db",
        db.to_str().unwrap(),
        "--from",
        from,
        "--to",
        to,
        "--team",
        team,
    ])
}

fn close(a: &Value, b: &Value, tolerance: f64) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => (a - b).abs() <= tolerance,
        _ => a.is_null() && b.is_null(),
    }
}

/// Every figure of a digest's `figures` object against the metrics JSON.
fn assert_figures_match(what: &str, figures: &Value, m: &Value) {
    let pairs = [
        (
            "deployments",
            &m["deployment_frequency"]["deployments"],
            0.0,
        ),
        (
            "deploy_days",
            &m["deployment_frequency"]["deploy_days"],
            0.0,
        ),
        ("lead_time_samples", &m["lead_time"]["samples"], 0.0),
        (
            "lead_time_median_hours",
            &m["lead_time"]["median_hours"],
            0.01,
        ),
        ("lead_time_p90_hours", &m["lead_time"]["p90_hours"], 0.01),
        (
            "failed_deployments",
            &m["change_failure_rate"]["failed"],
            0.0,
        ),
        (
            "recovered_deployments",
            &m["failed_deployment_recovery"]["recovered"],
            0.0,
        ),
        (
            "recovery_median_hours",
            &m["failed_deployment_recovery"]["median_hours"],
            0.01,
        ),
        ("incidents", &m["time_to_restore"]["incidents"], 0.0),
        ("resolved_incidents", &m["time_to_restore"]["resolved"], 0.0),
        (
            "restore_median_hours",
            &m["time_to_restore"]["median_hours"],
            0.01,
        ),
        ("rework_deployments", &m["rework_rate"]["rework"], 0.0),
    ];
    for (field, expected, tolerance) in pairs {
        assert!(
            close(&figures[field], expected, tolerance),
            "{what}: {field} is {} but the metrics JSON says {expected}",
            figures[field]
        );
    }
}

/// The incidents of `services` open at the end of the week, newest first, read from
/// the events themselves (SPEC §8: an update's null `resolved_at` keeps a stored one).
fn open_at_week_end(services: &[&str]) -> Vec<String> {
    let mut incidents: BTreeMap<String, (String, String, Option<String>)> = BTreeMap::new();
    let all = std::fs::read_to_string(reference("events.ndjson")).unwrap() + EXTRA_EVENTS;
    for line in all.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        if e["type"] != "incident" {
            continue;
        }
        let id = e["id"].as_str().unwrap().to_owned();
        let entry = incidents.entry(id).or_insert_with(|| {
            (
                e["service"].as_str().unwrap().to_owned(),
                e["opened_at"].as_str().unwrap().to_owned(),
                None,
            )
        });
        if let Some(resolved) = e["resolved_at"].as_str() {
            entry.2 = Some(resolved.to_owned());
        }
    }
    let end: chrono::DateTime<chrono::Utc> = "2026-02-16T00:00:00Z".parse().unwrap();
    let at = |t: &str| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let mut open: Vec<(chrono::DateTime<chrono::Utc>, String)> = incidents
        .into_iter()
        .filter(|(_, (service, opened, resolved))| {
            services.contains(&service.as_str())
                && at(opened) < end
                && resolved.as_deref().is_none_or(|r| at(r) >= end)
        })
        .map(|(id, (_, opened, _))| (at(&opened), id))
        .collect();
    open.sort_by(|a, b| b.cmp(a));
    open.into_iter().map(|(_, id)| id).collect()
}

fn team<'a>(digest: &'a Value, name: Option<&str>) -> &'a Value {
    digest["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team"].as_str() == name)
        .unwrap_or_else(|| panic!("no team {name:?} in {digest}"))
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_str().unwrap().to_owned())
        .collect()
}

/// How the dashboard writes hours (`web/src/format.rs`): days past 48 h.
fn hours(h: f64) -> String {
    if h.abs() < 48.0 {
        format!("{h:.1} h")
    } else {
        format!("{:.1} d", h / 24.0)
    }
}

fn per_day(m: &Value) -> String {
    let deployments = m["deployment_frequency"]["deployments"].as_f64().unwrap();
    format!("{:.2} / day", deployments / 7.0)
}

fn report(db: &Path, config: &Path, format: &str) -> String {
    let out = run(&[
        "--config",
        config.to_str().unwrap(),
        "report",
        "digest",
        "--db",
        db.to_str().unwrap(),
        "--from",
        WEEK_FROM,
        "--to",
        WEEK_TO,
        "--format",
        format,
    ]);
    assert!(out.status.success(), "{format}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn the_digest_of_a_week_matches_the_metrics_json_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = prepared(dir.path());
    let config = write_config(
        dir.path(),
        "[digest]\ndashboard_url = \"https://shiplog.example.com/\"\n",
    );
    let digest: Value = serde_json::from_str(&report(&db, &config, "json")).unwrap();
    assert_eq!(digest["schema"], "shiplog.digest.v1");
    assert_eq!(
        (&digest["from"], &digest["to"], &digest["previous_from"]),
        (
            &Value::from(WEEK_FROM),
            &Value::from(WEEK_TO),
            &Value::from(PREVIOUS_FROM)
        )
    );
    let names: Vec<Option<&str>> = digest["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team"].as_str())
        .collect();
    assert_eq!(names, [Some("payments"), Some("web"), None]);

    for name in ["payments", "web"] {
        let t = team(&digest, Some(name));
        let now = metrics(&db, &config, name, WEEK_FROM, WEEK_TO);
        let before = metrics(&db, &config, name, PREVIOUS_FROM, WEEK_FROM);
        assert_figures_match(&format!("{name} this week"), &t["figures"], &now);
        assert_figures_match(
            &format!("{name} the week before"),
            &t["previous_figures"],
            &before,
        );
        let cfr = t["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["metric"] == "change-failure-rate")
            .unwrap();
        assert!(
            close(&cfr["value"], &now["change_failure_rate"]["rate"], 0.0001),
            "{cfr}"
        );
        assert!(
            close(
                &cfr["previous"],
                &before["change_failure_rate"]["rate"],
                0.0001
            ),
            "{cfr}"
        );

        // Every failed deployment of the week, each with what failed it.
        let failed = &t["failed_deployments"];
        assert_eq!(
            failed["total"], now["change_failure_rate"]["failed"],
            "{name}: {failed}"
        );
        for row in failed["rows"].as_array().unwrap() {
            let cause = row["cause"].as_str().unwrap();
            if cause.contains("incident") {
                assert!(!row["incidents"].as_array().unwrap().is_empty(), "{row}");
            }
            if cause.contains("rollback") {
                assert!(row["rolled_back_by"].is_string(), "{row}");
            }
        }

        // The longest lead times: the first five of the week's samples, longest first.
        let lead = &t["longest_lead_times"];
        assert_eq!(lead["total"], now["lead_time"]["samples"], "{name}");
        let listed: Vec<f64> = lead["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["hours"].as_f64().unwrap())
            .collect();
        let samples = now["lead_time"]["samples"].as_u64().unwrap() as usize;
        assert_eq!(listed.len(), samples.min(5), "{name}");
        assert!(listed.windows(2).all(|w| w[0] >= w[1]), "{listed:?}");
        // The longest sample is at least the 90th percentile of them all.
        assert!(listed[0] + 0.01 >= now["lead_time"]["p90_hours"].as_f64().unwrap());
    }

    // payments: checkout's deployment failed by PD-1005 (its `deployment_id`), and
    // PD-1015 still open at the week's end.
    let payments = team(&digest, Some("payments"));
    assert_eq!(payments["services"], serde_json::json!(["checkout"]));
    let failed = &payments["failed_deployments"]["rows"][0];
    assert_eq!(failed["deployment_id"], "gha-7700154");
    // Rolled back as well (SPEC §3.3), so both causes.
    assert_eq!(failed["cause"], "incident+rollback");
    assert!(failed["rolled_back_by"].is_string(), "{failed}");
    assert_eq!(failed["incidents"][0]["id"], "PD-1005");
    assert_eq!(failed["incidents"][0]["title"], "latency degraded");
    assert_eq!(
        ids(&payments["open_incidents"], "id"),
        open_at_week_end(&["checkout"])
    );
    let unowned = team(&digest, None);
    let expected = open_at_week_end(&["legacy-billing", "mobile-bff"]);
    assert!(expected.contains(&"INC-X".to_owned()), "{expected:?}");
    assert_eq!(ids(&unowned["open_incidents"], "id"), expected);

    // Goals as the config sets them, judged on the team's figures of the week.
    let now = metrics(&db, &config, "payments", WEEK_FROM, WEEK_TO);
    let deployments = now["deployment_frequency"]["deployments"].as_f64().unwrap();
    let judged: Vec<(Value, String, Value)> = payments["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["service"].clone(),
                g["goal"].as_str().unwrap().to_owned(),
                g["met"].clone(),
            )
        })
        .collect();
    let team_goals: Vec<(String, Value)> = judged
        .iter()
        .filter(|(s, _, _)| s.is_null())
        .map(|(_, g, m)| (g.clone(), m.clone()))
        .collect();
    let expect = |met: bool| Value::Bool(met);
    assert_eq!(
        team_goals,
        [
            (
                "deployments_per_week".to_owned(),
                expect(deployments >= 10.0)
            ),
            (
                "lead_time_median_hours".to_owned(),
                expect(now["lead_time"]["median_hours"].as_f64().unwrap() <= 24.0)
            ),
            (
                "change_failure_rate".to_owned(),
                expect(now["change_failure_rate"]["rate"].as_f64().unwrap() <= 0.10)
            ),
            (
                "restore_median_hours".to_owned(),
                expect(now["time_to_restore"]["median_hours"].as_f64().unwrap() <= 4.0)
            ),
        ]
    );
    let rework = judged
        .iter()
        .find(|(s, g, _)| s == "checkout" && g == "rework_rate")
        .expect("checkout's own goal");
    assert_eq!(
        rework.2,
        expect(now["rework_rate"]["rate"].as_f64().unwrap() <= 0.5)
    );
    // The team's goals apply to checkout too, where it sets none of its own.
    assert!(
        judged
            .iter()
            .any(|(s, g, _)| s == "checkout" && g == "lead_time_median_hours")
    );

    // Annotations: the organisation's everywhere, the team's and the service's on
    // their team, none from outside the week.
    assert_eq!(
        ids(&payments["annotations"], "id"),
        ["note-org", "note-pay"]
    );
    assert_eq!(
        ids(&team(&digest, Some("web"))["annotations"], "id"),
        ["note-org", "note-api"]
    );
    assert_eq!(ids(&unowned["annotations"], "id"), ["note-org"]);

    let dashboard = "https://shiplog.example.com/?from=2026-02-09&to=2026-02-16&team=payments";
    assert_eq!(payments["links"][0]["url"], dashboard);

    let before = metrics(&db, &config, "payments", PREVIOUS_FROM, WEEK_FROM);
    let median = |m: &Value| hours(m["lead_time"]["median_hours"].as_f64().unwrap());

    // Markdown: the same figures as the dashboard writes them; user text stays text.
    let md = report(&db, &config, "markdown");
    assert!(md.contains("## Team payments"), "{md}");
    let row = format!(
        "| Deployment frequency | {} | {} |",
        per_day(&now),
        per_day(&before)
    );
    assert!(md.contains(&row), "{row} not in:\n{md}");
    let row = format!(
        "| Lead time for changes | {} | {} |",
        median(&now),
        median(&before)
    );
    assert!(md.contains(&row), "{row} not in:\n{md}");
    assert!(md.contains("missed — Change failure rate ≤ 10.0 %"), "{md}");
    assert!(md.contains("incident PD\\-1005 “latency degraded”"), "{md}");
    assert!(md.contains(&format!("[Dashboard]({dashboard})")), "{md}");
    for hostile in [
        "[click](",
        "http://evil",
        "https://evil",
        "<!channel>",
        "@here",
        "[this](",
    ] {
        assert!(!md.contains(hostile), "{hostile} in the Markdown:\n{md}");
    }
    assert!(md.contains("\\[click\\]"), "{md}");

    // HTML: escaped by the template.
    let html = report(&db, &config, "html");
    assert!(
        html.contains("<h2") && html.contains("Team payments</h2>"),
        "{html}"
    );
    // askama writes `<` as `&#60;` and `&` as `&#38;`; either entity form is escaped.
    let escaped = |raw: &str| {
        [("&", "&#38;"), ("<", "&#60;"), (">", "&#62;")]
            .iter()
            .fold(raw.to_owned(), |s, (c, e)| s.replace(c, e))
    };
    assert!(
        html.contains(&escaped("<!channel> see [this]")) && !html.contains("<!channel>"),
        "{html}"
    );
    assert!(
        html.contains(&format!("<b>{}</b>", per_day(&now))),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"{}\"", escaped(dashboard))),
        "{html}"
    );

    let plain = report(&db, &config, "text");
    let line = format!(
        "Deployment frequency: {} (previous {}",
        per_day(&now),
        per_day(&before)
    );
    assert!(plain.contains(&line), "{line} not in:\n{plain}");
    assert!(
        plain.contains(&format!(
            "Open incidents ({})",
            open_at_week_end(&["checkout"]).len()
        )) && plain.contains("PD-1015"),
        "{plain}"
    );

    // One team only.
    let out = run(&[
        "--config",
        config.to_str().unwrap(),
        "report",
        "digest",
        "--db",
        db.to_str().unwrap(),
        "--from",
        WEEK_FROM,
        "--to",
        WEEK_TO,
        "--team",
        "web",
        "--format",
        "json",
    ]);
    let only: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(only["teams"].as_array().unwrap().len(), 1);
    assert_eq!(only["teams"][0]["team"], "web");
}

#[test]
fn a_bad_digest_config_is_refused_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = prepared(dir.path());
    for (section, key) in [
        (
            "[digest]\nweekday = \"monday\"\ntime = \"8am\"\n",
            "digest.time",
        ),
        (
            "[digest]\nweekday = \"monday\"\ntime = \"08:00\"\ntimezone = \"Europe/Atlantis\"\n",
            "digest.timezone",
        ),
        (
            "[[digest.targets]]\nkind = \"slack\"\n",
            "digest.targets[1]",
        ),
    ] {
        let config = write_config(dir.path(), section);
        let out = run(&[
            "--config",
            config.to_str().unwrap(),
            "report",
            "digest",
            "--db",
            db.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{section}");
        assert!(
            text(&out.stderr).contains(key),
            "{section}: {}",
            text(&out.stderr)
        );
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
    /// The test runtime's clock when it arrived (tokio's, paused or not).
    at: Option<tokio::time::Instant>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A local HTTP receiver on a real socket: records every request; `/flaky…` answers
/// `503` twice then `200`, `/down…` always `500`, anything else `200`.
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    tx: Option<tokio::sync::mpsc::UnboundedSender<Received>>,
    /// The test's runtime, whose clock stamps each request.
    runtime: Option<tokio::runtime::Handle>,
}

impl Receiver {
    fn bind(tx: Option<tokio::sync::mpsc::UnboundedSender<Received>>) -> (Receiver, TcpListener) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let receiver = Receiver {
            addr: listener.local_addr().unwrap(),
            got: Arc::default(),
            stop: Arc::default(),
            tx,
            runtime: tokio::runtime::Handle::try_current().ok(),
        };
        (receiver, listener)
    }

    /// On its own thread, for the CLI's sends.
    fn start() -> Receiver {
        let (receiver, listener) = Receiver::bind(None);
        let serving = receiver.clone();
        std::thread::spawn(move || serving.accept(listener));
        receiver
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn accept(self, listener: TcpListener) {
        for stream in listener.incoming() {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let Ok(stream) = stream else { continue };
            let this = self.clone();
            std::thread::spawn(move || this.answer(stream));
        }
    }

    fn answer(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_lowercase(), v.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let received = Received {
            path: path.clone(),
            headers,
            body: String::from_utf8(body).unwrap(),
            at: self.runtime.as_ref().map(|runtime| {
                let _inside = runtime.enter();
                tokio::time::Instant::now()
            }),
        };
        let seen = {
            let mut got = self.got.lock().unwrap();
            got.push(received.clone());
            got.iter().filter(|r| r.path == path).count()
        };
        if let Some(tx) = &self.tx {
            let _ = tx.send(received);
        }
        let status = if path.starts_with("/down") {
            "500 Internal Server Error"
        } else if path.starts_with("/flaky") && seen <= 2 {
            "503 Service Unavailable"
        } else {
            "200 OK"
        };
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        );
    }

    fn requests(&self, path_start: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.starts_with(path_start))
            .cloned()
            .collect()
    }

    fn shut(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Shuts a receiver whose accept loop runs on the test runtime's blocking pool when
/// the test ends, by a failed assertion too: the runtime waits for that loop on drop.
struct ShutOnDrop(Receiver);

impl Drop for ShutOnDrop {
    fn drop(&mut self) {
        self.0.shut();
    }
}

/// A real SMTP server (`tests/support/smtp_server.py`, aiosmtpd) with STARTTLS on a
/// certificate of a CA made here by `openssl req`, AUTH checked against a password.
struct Smtp {
    child: Child,
    port: u16,
    ca: PathBuf,
    out: PathBuf,
}

const SMTP_USER: &str = "shiplog";
const SMTP_PASSWORD: &str = "correct horse battery staple";

impl Smtp {
    /// `None` (the test is skipped) when python3 with aiosmtpd or openssl is missing,
    /// except in CI, where that fails.
    fn start(dir: &Path) -> Option<Smtp> {
        let have = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !have("python3", &["-c", "import aiosmtpd"]) || !have("openssl", &["version"]) {
            assert!(
                std::env::var_os("CI").is_none(),
                "python3 with aiosmtpd and openssl are required in CI: pip install aiosmtpd"
            );
            eprintln!("skipped: pip install aiosmtpd (and install openssl) to run this test");
            return None;
        }
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .current_dir(dir)
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                text(&out.stderr)
            );
        };
        // A CA (self-signed, by `openssl req`) and the server's certificate it signs:
        // rustls refuses a CA certificate as a server's own.
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Shiplog test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "smtp.key",
            "-out",
            "smtp.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            dir.join("smtp.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "smtp.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "smtp.pem",
            "-days",
            "2",
            "-extfile",
            "smtp.ext",
        ]);
        let out = dir.join("mail");
        std::fs::create_dir_all(&out).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/support/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([
                "--cert", "smtp.pem", "--key", "smtp.key", "--user", SMTP_USER,
            ])
            .args(["--password", SMTP_PASSWORD, "--out", out.to_str().unwrap()])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // Its readiness line: the server has answered a connection of its own.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?}"))
            .parse()
            .unwrap();
        Some(Smtp {
            child,
            port,
            ca: dir.join("ca.pem"),
            out,
        })
    }

    /// The messages delivered so far, in order.
    fn messages(&self) -> Vec<Value> {
        let mut n = 1;
        let mut out = Vec::new();
        while let Ok(text) = std::fs::read_to_string(self.out.join(format!("{n}.json"))) {
            out.push(serde_json::from_str(&text).unwrap());
            n += 1;
        }
        out
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        // Closing its standard input stops it.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn send(config: &Path, db: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = shiplog();
    command.args([
        "--config",
        config.to_str().unwrap(),
        "digest",
        "send",
        "--db",
        db.to_str().unwrap(),
        "--from",
        WEEK_FROM,
        "--to",
        WEEK_TO,
    ]);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

#[test]
fn the_digest_is_sent_to_slack_teams_a_webhook_and_by_smtp() {
    let dir = tempfile::tempdir().unwrap();
    let Some(smtp) = Smtp::start(dir.path()) else {
        return;
    };
    let db = prepared(dir.path());
    let receiver = Receiver::start();
    let config = write_config(
        dir.path(),
        &format!(
            r#"[digest]
dashboard_url = "https://shiplog.example.com"

[[digest.targets]]
kind = "slack"
team = "payments"
url_env = "DIGEST_SLACK_URL"

[[digest.targets]]
kind = "teams"
url = "{teams}"

[[digest.targets]]
kind = "webhook"
name = "warehouse"
url = "{hook}"

[[digest.targets]]
kind = "email"
team = "payments"
to = ["Payments <payments@example.com>"]

[digest.smtp]
host = "localhost"
port = {port}
username = "{SMTP_USER}"
from = "Shiplog <digest@example.com>"
ca_file = "{ca}"
"#,
            teams = receiver.url("/teams"),
            hook = receiver.url("/hook"),
            port = smtp.port,
            ca = smtp.ca.display(),
        ),
    );
    let out = send(
        &config,
        &db,
        &[
            ("DIGEST_SLACK_URL", &receiver.url("/slack")),
            ("SHIPLOG_SMTP_PASSWORD", SMTP_PASSWORD),
        ],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for name in ["slack #1", "teams #2", "warehouse", "email #4"] {
        assert!(
            stderr.contains(&format!("{name}: delivered (1 attempt(s))")),
            "{stderr}"
        );
    }
    let now = metrics(&db, &config, "payments", WEEK_FROM, WEEK_TO);
    let before = metrics(&db, &config, "payments", PREVIOUS_FROM, WEEK_FROM);

    // Slack: mrkdwn text and blocks, for payments only; no mention gets through.
    let slack = receiver.requests("/slack");
    assert_eq!(slack.len(), 1);
    assert!(slack[0].headers["content-type"].starts_with("application/json"));
    let body = slack[0].json();
    let text_ = body["text"].as_str().unwrap();
    assert!(text_.contains("*Team payments*"), "{text_}");
    assert!(!text_.contains("Team web"), "{text_}");
    assert!(
        text_.contains(&format!(
            "• Deployment frequency: *{}* (previous {}",
            per_day(&now),
            per_day(&before)
        )),
        "{text_}"
    );
    assert!(
        text_.contains("&lt;!channel&gt;") && !text_.contains("<!channel>"),
        "{text_}"
    );
    assert!(!text_.contains("@here"), "{text_}");
    assert!(
        text_.contains(
            "<https://shiplog.example.com/?from=2026-02-09&to=2026-02-16&team=payments|Dashboard>"
        ),
        "{text_}"
    );
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(body["blocks"][1]["text"]["type"], "mrkdwn");

    // Teams: an Adaptive Card in a message, every team, a fact per figure.
    let teams = receiver.requests("/teams");
    assert_eq!(teams.len(), 1);
    let card = teams[0].json();
    assert_eq!(card["type"], "message");
    let attachment = &card["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(attachment["content"]["type"], "AdaptiveCard");
    let blocks = attachment["content"]["body"].as_array().unwrap();
    let headings: Vec<&str> = blocks
        .iter()
        .filter(|b| b["size"] == "Medium")
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        headings,
        ["Team payments", "Team web", "Services without a team"]
    );
    let facts = &blocks.iter().find(|b| b["type"] == "FactSet").unwrap()["facts"];
    assert_eq!(facts[0]["title"], "Deployment frequency");
    assert!(
        facts[0]["value"].as_str().unwrap().starts_with(&format!(
            "{} (previous {}",
            per_day(&now),
            per_day(&before)
        )),
        "{facts}"
    );
    assert!(!teams[0].body.contains("[this](https"), "{}", teams[0].body);

    // The generic webhook: the digest's data, figures as the metrics JSON gives them.
    let hook = receiver.requests("/hook");
    assert_eq!(hook.len(), 1);
    let data = hook[0].json();
    assert_eq!(data["schema"], "shiplog.digest.v1");
    assert_figures_match(
        "webhook payments",
        &team(&data, Some("payments"))["figures"],
        &now,
    );
    assert_figures_match(
        "webhook payments before",
        &team(&data, Some("payments"))["previous_figures"],
        &before,
    );
    // Stored strings as they are: a consumer escapes for its own output.
    assert_eq!(
        team(&data, None)["open_incidents"]["rows"][0]["title"],
        "<!channel> see [this](https://evil.example/x) @here"
    );

    // Email: one message over STARTTLS after AUTH, text and HTML, headers set.
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    let m = &mail[0];
    assert_eq!(m["tls"], true);
    assert_eq!(m["authenticated_as"], SMTP_USER);
    assert_eq!(m["rcpt_tos"], serde_json::json!(["payments@example.com"]));
    assert_eq!(
        m["headers"]["subject"],
        "Shiplog digest for team payments: 2026-02-09 to 2026-02-15"
    );
    assert!(
        m["headers"]["from"]
            .as_str()
            .unwrap()
            .contains("digest@example.com"),
        "{m}"
    );
    assert!(
        m["headers"]["to"]
            .as_str()
            .unwrap()
            .contains("payments@example.com"),
        "{m}"
    );
    assert!(m["headers"].get("date").is_some(), "{m}");
    assert_eq!(m["content_type"], "multipart/alternative");
    let plain = m["text"].as_str().unwrap();
    assert!(
        plain.contains(&format!(
            "Deployment frequency: {} (previous {}",
            per_day(&now),
            per_day(&before)
        )),
        "{plain}"
    );
    assert!(
        plain.contains("Team payments") && !plain.contains("Team web"),
        "{plain}"
    );
    let html = m["html"].as_str().unwrap();
    assert!(
        html.contains("Team payments</h2>") && html.contains(&format!("<b>{}</b>", per_day(&now))),
        "{html}"
    );

    // A wrong password is refused by the server and reported; nothing is retried
    // into an account lockout.
    let out = send(
        &config,
        &db,
        &[
            ("DIGEST_SLACK_URL", &receiver.url("/slack")),
            ("SHIPLOG_SMTP_PASSWORD", "wrong-password-xyz"),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("email #4: NOT delivered after 1 attempt(s)"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-password-xyz"), "{stderr}");
    assert_eq!(smtp.messages().len(), 1);
    receiver.shut();
}

#[test]
fn a_failing_target_is_retried_with_backoff_reported_and_holds_up_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let db = prepared(dir.path());
    let receiver = Receiver::start();
    let config = write_config(
        dir.path(),
        &format!(
            "[digest]\nretry_attempts = 3\nretry_delay_ms = 20\n\
             [[digest.targets]]\nkind = \"webhook\"\nurl = \"{flaky}\"\n\
             [[digest.targets]]\nkind = \"webhook\"\nurl_env = \"DOWN_URL\"\n\
             [[digest.targets]]\nkind = \"slack\"\nurl = \"{slack}\"\n",
            flaky = receiver.url("/flaky"),
            slack = receiver.url("/slack"),
        ),
    );
    let secret = receiver.url("/down/T000-secret-token-123");
    let out = send(&config, &db, &[("DOWN_URL", &secret)]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("webhook #1: delivered (3 attempt(s))"),
        "{stderr}"
    );
    assert!(
        stderr.contains("webhook #2: NOT delivered after 3 attempt(s): answered 500"),
        "{stderr}"
    );
    assert!(
        stderr.contains("slack #3: delivered (1 attempt(s))"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the digest was not delivered to webhook #2"),
        "{stderr}"
    );
    // The log names the target, never its URL (a secret).
    assert!(!stderr.contains("secret-token-123"), "{stderr}");
    assert!(stderr.contains("digest send failed; retrying"), "{stderr}");

    let flaky = receiver.requests("/flaky");
    assert_eq!(flaky.len(), 3);
    // Each attempt carries the same digest.
    assert!(flaky.iter().all(|r| r.body == flaky[0].body));
    assert_eq!(flaky[2].json()["schema"], "shiplog.digest.v1");
    assert_eq!(receiver.requests("/down").len(), 3);
    assert_eq!(receiver.requests("/slack").len(), 1);
    receiver.shut();
}

/// The schedule's clock for the test: a fixed instant plus the time tokio's paused
/// clock has advanced since the start.
#[derive(Debug)]
struct PausedClock {
    origin: chrono::DateTime<chrono::Utc>,
    start: tokio::time::Instant,
}

impl shiplog_web::digest::schedule::Clock for PausedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.origin + chrono::Duration::from_std(self.start.elapsed()).unwrap()
    }
}

/// Advances the paused clock by `by` in steps no longer than the schedule's longest
/// sleep, letting the woken task run after each.
async fn advance(by: Duration) {
    let step = Duration::from_secs(600);
    let mut left = by;
    while !left.is_zero() {
        let d = left.min(step);
        tokio::time::advance(d).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        left -= d;
    }
}

#[tokio::test(start_paused = true)]
async fn the_schedule_sends_at_the_configured_local_time_and_not_before() {
    use shiplog_web::app::AppState;
    use shiplog_web::digest::schedule::{Clock, next_digest};
    use shiplog_web::{Config, Mode};

    let dir = tempfile::tempdir().unwrap();
    let db = prepared(dir.path());
    let metrics_config = write_config(dir.path(), "");
    // Read before the state below holds the file (a CLI read is refused then).
    let expected = metrics(&db, &metrics_config, "payments", WEEK_FROM, WEEK_TO);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (receiver, listener) = Receiver::bind(Some(tx));
    // The accept loop on a blocking thread: while it runs, tokio does not advance the
    // paused clock by itself, so time moves only by `advance` below.
    let accepting = receiver.clone();
    let accept = tokio::task::spawn_blocking(move || accepting.accept(listener));
    let _shut = ShutOnDrop(receiver.clone());
    let config_path = write_config(
        dir.path(),
        &format!(
            "[digest]\nweekday = \"monday\"\ntime = \"08:00\"\ntimezone = \"Europe/Oslo\"\n\
             [[digest.targets]]\nkind = \"webhook\"\nurl = \"{hook}\"\n",
            hook = receiver.url("/hook"),
        ),
    );
    let mut config = Config::load(Some(config_path.as_path()), |_| None).unwrap();
    config.db = db.clone();
    let schedule = config
        .digest
        .schedule
        .expect("the config schedules the digest");
    let (path, settings) = (config.db.clone(), config.settings.clone());
    let database = tokio::task::spawn_blocking(move || {
        shiplog_web::store::open(&path, &settings, Default::default())
    })
    .await
    .unwrap()
    .unwrap();
    let state = AppState::new(database, config, Mode::Serve);

    // Sunday 2026-02-15 22:00 UTC is 23:00 in Oslo; Monday 08:00 there (CET) is 07:00
    // UTC, nine hours on.
    let start = tokio::time::Instant::now();
    let clock = PausedClock {
        origin: "2026-02-15T22:00:00Z".parse().unwrap(),
        start,
    };
    let clock: Arc<dyn Clock> = Arc::new(clock);
    let next = |state: &AppState| {
        let (state, clock) = (state.clone(), clock.clone());
        tokio::spawn(async move { next_digest(&state, &schedule, &*clock).await })
    };

    let first = next(&state);
    advance(Duration::from_secs(8 * 3600 + 59 * 60)).await;
    assert!(rx.try_recv().is_err(), "sent before 08:00 local");
    assert!(receiver.requests("/").is_empty());
    assert!(!first.is_finished());

    advance(Duration::from_secs(60)).await;
    let hook = rx.recv().await.expect("the digest is sent at 08:00");
    assert_eq!(hook.path, "/hook");
    assert_eq!(hook.at.unwrap() - start, Duration::from_secs(9 * 3600));
    let body = hook.json();
    // The last whole week before Monday 2026-02-16.
    assert_eq!(
        (&body["from"], &body["to"]),
        (&Value::from(WEEK_FROM), &Value::from(WEEK_TO))
    );
    assert_figures_match(
        "scheduled payments",
        &team(&body, Some("payments"))["figures"],
        &expected,
    );
    let (week, deliveries) = first.await.unwrap();
    assert_eq!(week.from().to_string(), WEEK_FROM);
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].delivered(), "{deliveries:?}");
    assert_eq!(deliveries[0].attempts, 1);

    // The run after it is the next Monday's, for the week after.
    let second = next(&state);
    advance(Duration::from_secs(6 * 24 * 3600 + 23 * 3600)).await;
    assert!(rx.try_recv().is_err(), "a second digest within the week");
    assert!(!second.is_finished());
    advance(Duration::from_secs(3600)).await;
    let hook = rx.recv().await.expect("the next Monday's digest");
    assert_eq!(
        hook.at.unwrap() - start,
        Duration::from_secs((7 * 24 + 9) * 3600)
    );
    assert_eq!(hook.json()["from"], Value::from(WEEK_TO));
    let (week, deliveries) = second.await.unwrap();
    assert_eq!(week.from().to_string(), WEEK_TO);
    assert!(deliveries[0].delivered(), "{deliveries:?}");

    receiver.shut();
    accept.await.unwrap();
    let writer = state.db.writer.clone();
    tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .unwrap();
}
