//! `/metrics`' DORA gauges on a real scrape of a real server: promtool's lint passes
//! on it, every service's and every team's gauges are what the metrics JSON answers
//! for the same window (and the unrounded figures of a team filter), a scrape with
//! nothing new is served from the cache, `prometheus_window_days` moves the window,
//! and the shipped alert rules pass promtool's checks, its unit tests and a test on
//! the series a scrape gave.
//!
//! promtool is Debian's `prometheus` package. Without it these tests say they are
//! skipped and pass, except under `CI`, where it is required (`.ci/run` installs it).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use shiplog_model::Period;
use shiplog_queries::figures::{Breakdown, Bucket, figures};
use shiplog_queries::scope::{Filter, Known};
use shiplog_web::{Config, config::ConfigError};
use support::{TestApp, spawn_app};

const READ_TOKEN: &str = "test-read-token";
const DAY: f64 = 86_400.0;

/// The families with a series per service and per team, and what each is in the
/// metrics JSON: a JSON pointer and the factor from the JSON's unit to the gauge's.
const FAMILIES: [(&str, &str, f64); 8] = [
    (
        "shiplog_dora_deployments",
        "/deployment_frequency/deployments",
        1.0,
    ),
    (
        "shiplog_dora_failed_deployments",
        "/change_failure_rate/failed",
        1.0,
    ),
    (
        "shiplog_dora_rework_deployments",
        "/rework_rate/rework",
        1.0,
    ),
    (
        "shiplog_dora_change_failure_ratio",
        "/change_failure_rate/rate",
        1.0,
    ),
    (
        "shiplog_dora_lead_time_median_seconds",
        "/lead_time/median_hours",
        3600.0,
    ),
    (
        "shiplog_dora_lead_time_p90_seconds",
        "/lead_time/p90_hours",
        3600.0,
    ),
    (
        "shiplog_dora_recovery_median_seconds",
        "/failed_deployment_recovery/median_hours",
        3600.0,
    ),
    (
        "shiplog_dora_restore_median_seconds",
        "/time_to_restore/median_hours",
        3600.0,
    ),
];

fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is required in CI: apt-get install prometheus"
        );
        eprintln!("skipped: apt-get install prometheus (for promtool) to run this test");
    }
    found
}

fn run_promtool(promtool: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(promtool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus")
}

/// One sample of a scrape: its series as written (`name{labels}`), its name, labels
/// and value.
#[derive(Debug, Clone)]
struct Sample {
    series: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape, parsed: every sample line (the text format without timestamps).
#[derive(Debug)]
struct Scrape {
    text: String,
    samples: Vec<Sample>,
}

/// `name{a="x",b="y\"z"}`: the name and the labels, unescaped.
fn parse_series(series: &str) -> (String, BTreeMap<String, String>) {
    let Some((name, rest)) = series.split_once('{') else {
        return (series.to_owned(), BTreeMap::new());
    };
    let mut labels = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "{series}");
        let mut value = String::new();
        loop {
            match chars.next().expect("a closed label value") {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("{series}"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key, value);
        match chars.next() {
            Some(',') => continue,
            Some('}') => break,
            other => panic!("{series}: {other:?}"),
        }
    }
    (name.to_owned(), labels)
}

impl Scrape {
    fn parse(text: String) -> Scrape {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("a value");
                let (name, labels) = parse_series(series);
                Sample {
                    series: series.to_owned(),
                    name,
                    labels,
                    value: value.parse().unwrap_or_else(|_| panic!("{line}")),
                }
            })
            .collect();
        Scrape { text, samples }
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let found: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == labels)
            .map(|s| s.value)
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} twice");
        found.first().copied()
    }

    fn counter(&self, name: &str) -> f64 {
        self.get(name, &[])
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    /// The DORA gauges' part of the text (after the counters).
    fn gauges(&self) -> &str {
        let at = self
            .text
            .find("# HELP shiplog_dora_window_seconds")
            .expect("the DORA gauges");
        &self.text[at..]
    }
}

async fn scrape(app: &TestApp) -> Scrape {
    let response = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth(READ_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(kind, "text/plain; version=0.0.4; charset=utf-8");
    Scrape::parse(response.text().await.unwrap())
}

async fn metrics_json(app: &TestApp, window: Period, filter: (&str, &str)) -> Value {
    let response = app
        .client
        .get(format!("{}/api/v1/metrics", app.base))
        .bearer_auth(READ_TOKEN)
        .query(&[
            ("from", window.from().to_string()),
            ("to", window.to().to_string()),
            (filter.0, filter.1.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The demo's history ending today, posted in bodies of 2,000 events.
async fn post_demo(app: &TestApp) -> Vec<Value> {
    let events = shiplog_sample::generate(&shiplog_sample::Options {
        end: Utc::now().date_naive(),
        ..shiplog_sample::Options::default()
    });
    for chunk in events.chunks(2_000) {
        let (status, body) = app
            .post_events(shiplog_sample::to_ndjson(chunk), "application/x-ndjson")
            .await;
        assert!(status == 202 || status == 200, "{status} {body}");
    }
    events
}

fn window(days: u64) -> Period {
    Period::last_days_until(Utc::now().date_naive(), days)
}

async fn app_with(window_days: u32) -> TestApp {
    spawn_app(|config| {
        config.tokens.read = Some(SecretString::from(READ_TOKEN));
        config.prometheus_window_days = window_days;
    })
    .await
}

/// When each service last deployed before `end`, from the events as sent: the last
/// stored version of each deployment id, successful and in production.
fn last_deployments(events: &[Value], end: NaiveDate) -> BTreeMap<String, f64> {
    let mut by_id: BTreeMap<&str, &Value> = BTreeMap::new();
    for e in events.iter().filter(|e| e["type"] == "deployment") {
        by_id.insert(e["id"].as_str().unwrap(), e);
    }
    let end = end.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let mut last: BTreeMap<String, f64> = BTreeMap::new();
    for d in by_id.values() {
        let production = d["environment"]
            .as_str()
            .is_none_or(|e| e.eq_ignore_ascii_case("production") || e.eq_ignore_ascii_case("prod"));
        let success = d["status"].as_str().is_none_or(|s| s == "success");
        let at: DateTime<Utc> = d["finished_at"].as_str().unwrap().parse().unwrap();
        if production && success && at < end {
            let at = at.timestamp_micros() as f64 / 1e6;
            let entry = last
                .entry(d["service"].as_str().unwrap().to_owned())
                .or_insert(at);
            *entry = entry.max(at);
        }
    }
    last
}

/// A gauge against the JSON's figure: both absent, or equal at the JSON's precision
/// (counts exact, hours to 2 decimals, rates to 4).
fn agrees(gauge: Option<f64>, json: &Value, factor: f64) -> bool {
    match (gauge, json.as_f64()) {
        (None, None) => true,
        (Some(g), Some(j)) if factor == 1.0 && json.is_i64() => g == j,
        (Some(g), Some(j)) if factor == 1.0 => (g - j).abs() <= 0.00005 + 1e-12,
        (Some(g), Some(j)) => (g / factor - j).abs() <= 0.005 + 1e-9,
        _ => false,
    }
}

/// Every service's and every team's gauges in `scrape` are the metrics JSON's for
/// `window`, and the figures of the same filter read unrounded; the services and
/// teams are those that count; every service's and team's last deployment is what
/// the events say. Returns the number of services and teams.
async fn check_against_json(
    app: &TestApp,
    scrape: &Scrape,
    window: Period,
    events: &[Value],
) -> (usize, usize) {
    assert_eq!(
        scrape.get("shiplog_dora_window_seconds", &[]),
        Some(window.days() as f64 * DAY)
    );
    let settings = app.state.config.settings.clone();
    let known = app
        .state
        .db
        .readers
        .with(move |conn| Known::read(conn, &settings))
        .unwrap()
        .unwrap();
    let teams: BTreeSet<String> = known
        .services
        .iter()
        .filter_map(|s| s.team.clone())
        .collect();
    let last = last_deployments(events, window.to());
    let mut differences = Vec::new();
    let mut checked = 0;
    let mut targets: Vec<(Filter, Vec<(&str, String)>)> = Vec::new();
    for s in &known.services {
        let mut labels = vec![("service", s.service.clone())];
        if let Some(team) = &s.team {
            labels.push(("team", team.clone()));
        }
        let filter = Filter {
            service: Some(s.service.clone()),
            team: None,
        };
        targets.push((filter, labels));
    }
    for team in &teams {
        let filter = Filter {
            service: None,
            team: Some(team.clone()),
        };
        targets.push((filter, vec![("team", team.clone())]));
    }
    for (filter, labels) in &targets {
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (key, name) = match (&filter.service, &filter.team) {
            (Some(service), _) => ("service", service.as_str()),
            (None, Some(team)) => ("team", team.as_str()),
            (None, None) => unreachable!(),
        };
        let json = metrics_json(app, window, (key, name)).await;
        let selection = known.select(filter);
        let unrounded = app
            .state
            .db
            .readers
            .with(move |conn| {
                figures(
                    conn,
                    &selection,
                    &[Bucket::whole(window)],
                    Breakdown::TotalOnly,
                )
            })
            .unwrap()
            .unwrap()
            .remove(0);
        let exact = [
            Some(unrounded.deployments as f64),
            Some(unrounded.failed as f64),
            Some(unrounded.rework as f64),
            unrounded.change_failure_rate(),
            unrounded.lead_time_median_hours.map(|h| h * 3600.0),
            unrounded.lead_time_p90_hours.map(|h| h * 3600.0),
            unrounded.recovery_median_hours.map(|h| h * 3600.0),
            unrounded.restore_median_hours.map(|h| h * 3600.0),
        ];
        for ((family, pointer, factor), exact) in FAMILIES.iter().zip(exact) {
            let gauge = scrape.get(family, &labels);
            let from_json = json.pointer(pointer).unwrap();
            if !agrees(gauge, from_json, *factor) {
                differences.push(format!("{family}{labels:?}: {gauge:?}, JSON {from_json}"));
            }
            let close = match (gauge, exact) {
                (None, None) => true,
                (Some(g), Some(e)) => (g - e).abs() <= 1e-6 * e.abs().max(1.0),
                _ => false,
            };
            if !close {
                differences.push(format!(
                    "{family}{labels:?}: {gauge:?}, unrounded {exact:?}"
                ));
            }
            checked += 1;
        }
        let expected_last = match (&filter.service, &filter.team) {
            (Some(service), _) => last.get(service).copied(),
            (None, team) => known
                .services
                .iter()
                .filter(|s| s.team == *team)
                .filter_map(|s| last.get(&s.service).copied())
                .reduce(f64::max),
        };
        let gauge = scrape.get("shiplog_dora_last_deployment_timestamp_seconds", &labels);
        if gauge != expected_last {
            differences.push(format!(
                "last deployment {labels:?}: {gauge:?} != {expected_last:?}"
            ));
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    // No other series: one per service and team at most in each family.
    for (family, _, _) in FAMILIES {
        let series = scrape.samples.iter().filter(|s| s.name == family).count();
        assert!(series <= targets.len(), "{family}: {series} series");
    }
    let deployments = scrape
        .samples
        .iter()
        .filter(|s| s.name == "shiplog_dora_deployments")
        .count();
    assert_eq!(deployments, targets.len(), "a deployments series for each");
    assert_eq!(checked, targets.len() * FAMILIES.len());
    (known.services.len(), teams.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauges_pass_promtool_equal_the_metrics_json_and_are_cached_between_scrapes() {
    let Some(promtool) = promtool() else { return };
    let app = app_with(30).await;
    let events = post_demo(&app).await;

    let first = scrape(&app).await;
    let lint = run_promtool(&promtool, &["check", "metrics"], Some(&first.text));
    assert!(lint.status.success(), "{}\n{}", said(&lint), first.text);
    assert_eq!(said(&lint), "", "promtool's lint has no problems to report");
    assert_eq!(first.counter("shiplog_dora_computations_total"), 1.0);
    let (services, teams) = check_against_json(&app, &first, window(30), &events).await;
    // The demo's five deployed services (and those only paged) of three teams.
    assert!(
        services >= 5 && teams == 3,
        "{services} services, {teams} teams"
    );
    assert!(
        first
            .samples
            .iter()
            .any(|s| s.name == "shiplog_dora_lead_time_median_seconds"
                && !s.labels.contains_key("service")),
        "team series have medians"
    );

    // Nothing new: the same gauges, not computed again.
    let second = scrape(&app).await;
    assert_eq!(second.counter("shiplog_dora_computations_total"), 1.0);
    assert_eq!(second.gauges(), first.gauges());

    // A new deployment of a service of a team: computed again, and counted.
    let (service, team) = {
        let s = first
            .samples
            .iter()
            .find(|s| s.name == "shiplog_dora_deployments" && s.labels.len() == 2)
            .expect("a service with a team");
        (s.labels["service"].clone(), s.labels["team"].clone())
    };
    let finished =
        (Utc::now() - chrono::Duration::seconds(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let deployment = json!({
        "type": "deployment", "id": "prometheus-test-1", "service": service,
        "environment": "production", "sha": "0badc0ffee0badc0ffee0badc0ffee0badc0ffee",
        "finished_at": finished,
    });
    let (status, body) = app
        .post_events(deployment.to_string(), "application/json")
        .await;
    assert_eq!(status, 202, "{body}");
    let third = scrape(&app).await;
    assert_eq!(third.counter("shiplog_dora_computations_total"), 2.0);
    let count =
        |s: &Scrape, labels: &[(&str, &str)]| s.get("shiplog_dora_deployments", labels).unwrap();
    let of_service = [("service", service.as_str()), ("team", team.as_str())];
    let of_team = [("team", team.as_str())];
    assert_eq!(count(&third, &of_service), count(&first, &of_service) + 1.0);
    assert_eq!(count(&third, &of_team), count(&first, &of_team) + 1.0);
    // The demo's history runs to the end of today, so the new one is the last
    // deployment only if nothing of the demo's came later.
    let at: DateTime<Utc> = finished.parse().unwrap();
    let last = |s: &Scrape| {
        s.get(
            "shiplog_dora_last_deployment_timestamp_seconds",
            &of_service,
        )
    };
    assert_eq!(
        last(&third),
        Some(last(&first).unwrap().max(at.timestamp() as f64))
    );
    let mut events = events;
    events.push(deployment);
    check_against_json(&app, &third, window(30), &events).await;

    // Without the read token, no gauges.
    let (status, _) = app.get_text("/metrics").await;
    assert_eq!(status, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_window_days_sets_the_window() {
    let app = app_with(7).await;
    let events = post_demo(&app).await;
    let week = scrape(&app).await;
    check_against_json(&app, &week, window(7), &events).await;
    let total = |s: &Scrape| -> f64 {
        s.samples
            .iter()
            .filter(|s| s.name == "shiplog_dora_deployments" && s.labels.contains_key("service"))
            .map(|s| s.value)
            .sum()
    };
    app.stop().await;
    let app = app_with(30).await;
    post_demo(&app).await;
    let month = scrape(&app).await;
    assert!(
        total(&week) < total(&month),
        "7 days: {}, 30 days: {}",
        total(&week),
        total(&month)
    );
    app.stop().await;
}

#[test]
fn prometheus_window_days_is_at_least_one_day() {
    let dir = tempfile::tempdir().unwrap();
    let load = |text: &str| -> Result<Config, ConfigError> {
        let path = dir.path().join("shiplog.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path), |_| None)
    };
    assert_eq!(load("").unwrap().prometheus_window_days, 30);
    assert_eq!(
        load("prometheus_window_days = 7\n")
            .unwrap()
            .prometheus_window_days,
        7
    );
    for bad in ["0", "-3", "36501"] {
        let e = load(&format!("prometheus_window_days = {bad}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("prometheus_window_days") && e.contains(bad),
            "{e}"
        );
    }
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let Some(promtool) = promtool() else { return };
    let rules = rules_dir().join("shiplog-rules.yml");
    let checked = run_promtool(
        &promtool,
        &["check", "rules", rules.to_str().unwrap()],
        None,
    );
    assert!(checked.status.success(), "{}", said(&checked));
    assert!(
        said(&checked).contains("SUCCESS: 3 rules found"),
        "{}",
        said(&checked)
    );
    let tests = rules_dir().join("shiplog-rules.test.yml");
    let tested = run_promtool(&promtool, &["test", "rules", tests.to_str().unwrap()], None);
    assert!(tested.status.success(), "{}", said(&tested));
}

/// The alerts the rules give on constant series of a real scrape's values, held for
/// 25 hours: those the values call for, and no others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alert_rules_fire_on_a_real_scrape_where_its_values_say() {
    let Some(promtool) = promtool() else { return };
    let app = app_with(30).await;
    post_demo(&app).await;
    let scraped = scrape(&app).await;
    app.stop().await;
    let dora: Vec<&Sample> = scraped
        .samples
        .iter()
        .filter(|s| s.name.starts_with("shiplog_dora_") && !s.name.ends_with("_total"))
        .filter(|s| s.name != "shiplog_dora_last_deployment_timestamp_seconds")
        .collect();
    let input: Vec<Value> = dora
        .iter()
        .map(|s| json!({"series": s.series, "values": format!("{}x1500", s.value)}))
        .collect();
    let alerts = |name: &str, fires: &dyn Fn(&Sample) -> bool, summary: &str| -> Value {
        let expected: Vec<Value> = dora
            .iter()
            .filter(|s| s.name == name && s.labels.contains_key("service") && fires(s))
            .map(|s| {
                let mut labels: serde_json::Map<String, Value> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                labels.insert("severity".into(), json!("warning"));
                json!({
                    "exp_labels": labels,
                    "exp_annotations": {
                        "summary": format!("{}: {summary}", s.labels["service"]),
                    },
                })
            })
            .collect();
        expected.into()
    };
    let deployments = |s: &Sample| {
        let labels: Vec<(&str, &str)> = s
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        scraped.get("shiplog_dora_deployments", &labels).unwrap()
    };
    let failing = alerts(
        "shiplog_dora_change_failure_ratio",
        &|s| s.value > 0.15 && deployments(s) >= 5.0,
        "change failure rate over 15 % for a day",
    );
    let slow = alerts(
        "shiplog_dora_lead_time_median_seconds",
        &|s| s.value > 7.0 * DAY,
        "median lead time over a week for a day",
    );
    eprintln!("expected: {failing} {slow}");
    let rules = rules_dir().join("shiplog-rules.yml");
    let test = json!({
        "rule_files": [rules.to_str().unwrap()],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": input,
            "alert_rule_test": [
                {"eval_time": "1d1m", "alertname": "ShiplogChangeFailureRateHigh", "exp_alerts": failing},
                {"eval_time": "1d1m", "alertname": "ShiplogLeadTimeMedianHigh", "exp_alerts": slow},
            ],
        }],
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scrape.test.yml");
    std::fs::write(&file, test.to_string()).unwrap();
    let tested = run_promtool(&promtool, &["test", "rules", file.to_str().unwrap()], None);
    assert!(tested.status.success(), "{}", said(&tested));
}
