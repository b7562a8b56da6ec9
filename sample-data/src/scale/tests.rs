//! Properties of the scale generator's output: deterministic, shaped like the target,
//! consistent as a commit graph, and streamed.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::rc::Rc;

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use super::{ScaleOptions, ScaleSummary, generate_scale, generate_scale_with_progress, run};

fn options(services: u32, days: u32) -> ScaleOptions {
    ScaleOptions {
        services,
        days,
        ..ScaleOptions::default()
    }
}

fn bytes(options: &ScaleOptions) -> (Vec<u8>, ScaleSummary) {
    let mut out = Vec::new();
    let summary = generate_scale(options, &mut out).expect("writing to a Vec cannot fail");
    (out, summary)
}

fn events(options: &ScaleOptions) -> (Vec<Value>, ScaleSummary) {
    let (out, summary) = bytes(options);
    let text = String::from_utf8(out).expect("UTF-8");
    let events = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    (events, summary)
}

fn text<'a>(event: &'a Value, key: &str) -> &'a str {
    event
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {key} in {event}"))
}

fn seconds(stamp: &str) -> i64 {
    DateTime::parse_from_rfc3339(stamp)
        .unwrap_or_else(|e| panic!("{stamp}: {e}"))
        .timestamp()
}

fn successful_production(event: &Value) -> bool {
    event["type"] == "deployment"
        && event["environment"] == "production"
        && event["status"] == "success"
}

fn service_days(options: &ScaleOptions) -> f64 {
    f64::from(options.services) * f64::from(options.days)
}

#[test]
fn scale_same_options_give_identical_bytes() {
    let ten_services = options(10, 12);
    let (first, _) = bytes(&ten_services);
    let (second, _) = bytes(&ten_services);
    assert!(first == second, "two runs differ");
    let (other_seed, _) = bytes(&ScaleOptions {
        seed: 43,
        ..ten_services
    });
    assert!(first != other_seed, "the seed changes nothing");
}

#[test]
fn scale_small_org_has_the_target_rates() {
    let small = options(3, 20);
    let (events, summary) = events(&small);
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    for event in &events {
        *by_type.entry(text(event, "type")).or_default() += 1;
    }
    let types: BTreeSet<&str> = by_type.keys().copied().collect();
    assert_eq!(
        types,
        BTreeSet::from(["build", "change", "deployment", "incident"])
    );
    assert_eq!(summary.events(), events.len() as u64);
    assert_eq!(summary.changes, by_type["change"]);
    assert_eq!(summary.deployments, by_type["deployment"]);
    assert_eq!(summary.builds, by_type["build"]);
    assert_eq!(summary.incidents + summary.resolutions, by_type["incident"]);
    let production = events.iter().filter(|e| successful_production(e)).count() as u64;
    assert_eq!(summary.production_deployments, production);

    // Targets: about 2.7 successful production deployments and 27 commits per service
    // per day; three services over 20 days vary, so the bounds are loose.
    let per_day = |n: u64| n as f64 / service_days(&small);
    let deploys = per_day(production);
    assert!(
        (1.8..=3.8).contains(&deploys),
        "{deploys} deployments a day"
    );
    let changes = per_day(summary.changes);
    assert!((18.0..=38.0).contains(&changes), "{changes} changes a day");
}

#[test]
fn scale_big_org_lands_near_the_target_rates() {
    let big = options(60, 60);
    let (_, summary) = bytes(&big);
    let per_day = |n: u64| n as f64 / service_days(&big);
    let deploys = per_day(summary.production_deployments);
    assert!(
        (2.3..=3.2).contains(&deploys),
        "{deploys} deployments a day"
    );
    let changes = per_day(summary.changes);
    assert!((23.0..=32.0).contains(&changes), "{changes} changes a day");
    let incidents = per_day(summary.incidents);
    assert!(
        (0.09..=0.19).contains(&incidents),
        "{incidents} incidents a day"
    );
    assert!(
        summary.resolutions * 10 >= summary.incidents * 9,
        "{summary}"
    );
}

#[test]
fn scale_graph_refers_only_to_earlier_changes_of_the_same_repo() {
    let (events, _) = events(&options(12, 20));
    let mut posted: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut roots: BTreeMap<&str, u32> = BTreeMap::new();
    let (mut merges, mut squashes, mut shipped) = (0, 0, 0);
    for event in &events {
        match text(event, "type") {
            "change" => {
                let (repo, sha) = (text(event, "repo"), text(event, "sha"));
                if let Some(parents) = event.get("parents") {
                    let parents = parents.as_array().expect("parents is a list");
                    if parents.is_empty() {
                        *roots.entry(repo).or_default() += 1;
                    }
                    for parent in parents {
                        let parent = parent.as_str().expect("a parent is a sha");
                        assert!(posted.contains(&(repo, parent)), "{parent} not yet posted");
                    }
                    if let Some(pr) = event.get("pr") {
                        for key in ["first_commit_at", "opened_at", "merged_at"] {
                            assert!(pr[key].is_string(), "no {key} in {event}");
                        }
                        match parents.len() {
                            2 => merges += 1,
                            _ => squashes += 1,
                        }
                    }
                } else {
                    // A `pr` update of a merge commit posted before it.
                    assert!(posted.contains(&(repo, sha)), "{event}");
                }
                posted.insert((repo, sha));
            }
            "deployment" => {
                let key = (text(event, "repo"), text(event, "sha"));
                assert!(posted.contains(&key), "{event} ships an unposted commit");
                assert!(text(event, "team").starts_with("team-"), "{event}");
                shipped += 1;
            }
            "build" => {
                let key = (text(event, "repo"), text(event, "sha"));
                assert!(posted.contains(&key), "{event} builds an unposted commit");
                assert_eq!(text(event, "branch"), "main");
            }
            _ => {}
        }
    }
    // Twelve services: a full team of ten with one monorepo, and two more.
    assert_eq!(roots.len(), 11, "{roots:?}");
    assert!(roots.values().all(|&n| n == 1), "{roots:?}");
    assert!(roots.contains_key("org/team-01-platform"));
    assert!(
        merges > 50 && squashes > 50,
        "{merges} merges, {squashes} squashes"
    );
    assert!(shipped > 300, "{shipped} deployments");
}

#[test]
fn scale_incidents_resolve_after_they_open_and_name_all_kinds_of_cause() {
    let (events, _) = events(&options(40, 30));
    let mut opened: BTreeMap<&str, i64> = BTreeMap::new();
    let (mut by_deployment, mut by_sha, mut by_nothing, mut resolved) = (0, 0, 0, 0);
    for event in events.iter().filter(|e| e["type"] == "incident") {
        let id = text(event, "id");
        let at = seconds(text(event, "opened_at"));
        if event["resolved_at"].is_null() {
            opened.insert(id, at);
            match (event.get("deployment_id"), event.get("sha")) {
                (Some(_), None) => by_deployment += 1,
                (None, Some(_)) => by_sha += 1,
                (None, None) => by_nothing += 1,
                _ => panic!("{event} names two causes"),
            }
        } else {
            assert_eq!(
                opened.get(id),
                Some(&at),
                "{event} resolves an unopened incident"
            );
            assert!(seconds(text(event, "resolved_at")) >= at, "{event}");
            resolved += 1;
        }
    }
    assert!(
        by_deployment > 5 && by_sha > 5 && by_nothing > 5,
        "{by_deployment} by deployment, {by_sha} by sha, {by_nothing} by nothing"
    );
    assert!(
        resolved * 10 >= opened.len() * 8,
        "{resolved} of {}",
        opened.len()
    );
}

#[test]
fn scale_deployments_include_failures_staging_redeploys_and_rollbacks() {
    let (events, _) = events(&options(20, 40));
    let deployments: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "deployment")
        .collect();
    assert!(deployments.iter().any(|d| d["status"] == "failure"));
    assert!(deployments.iter().any(|d| d["environment"] == "staging"));
    let mut history: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in deployments.iter().filter(|d| successful_production(d)) {
        history
            .entry(text(d, "service"))
            .or_default()
            .push(text(d, "sha"));
    }
    let (mut redeploys, mut rollbacks) = (0, 0);
    for shas in history.values() {
        for i in 1..shas.len() {
            if shas[i] == shas[i - 1] {
                redeploys += 1;
            } else if shas[..i - 1].contains(&shas[i]) {
                rollbacks += 1;
            }
        }
    }
    assert!(
        redeploys >= 3 && rollbacks >= 3,
        "{redeploys} redeploys, {rollbacks} rollbacks"
    );
}

#[test]
fn scale_timestamps_stay_inside_a_window_ending_on_a_weekend() {
    let saturday = NaiveDate::from_ymd_opt(2026, 1, 3).expect("a date");
    for days in [0, 1, 3, 9] {
        let options = ScaleOptions {
            seed: 7,
            services: 4,
            days,
            end: saturday,
        };
        let first = saturday
            .checked_sub_days(chrono::Days::new(u64::from(days.max(1) - 1)))
            .expect("a date");
        let start = first
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp();
        let end = saturday
            .and_hms_opt(23, 59, 59)
            .expect("a second")
            .and_utc()
            .timestamp();
        let (events, _) = events(&options);
        for event in &events {
            let pr = event
                .get("pr")
                .into_iter()
                .flat_map(|p| ["first_commit_at", "opened_at", "merged_at"].map(|k| &p[k]));
            let keys = ["committed_at", "authored_at", "started_at", "finished_at"];
            let own = keys
                .into_iter()
                .chain(["opened_at", "resolved_at"])
                .filter_map(|k| event.get(k));
            for stamp in own.chain(pr).filter_map(Value::as_str) {
                let t = seconds(stamp);
                assert!((start..=end).contains(&t), "{stamp} outside in {event}");
            }
        }
    }
}

/// Counts the calls and bytes it receives, sharing the byte count with the test.
struct CountingWriter {
    writes: usize,
    largest: usize,
    bytes: Rc<Cell<usize>>,
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        self.largest = self.largest.max(buf.len());
        self.bytes.set(self.bytes.get() + buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn scale_output_is_written_while_it_is_generated() {
    let seen = Rc::new(Cell::new(0));
    let mut out = CountingWriter {
        writes: 0,
        largest: 0,
        bytes: Rc::clone(&seen),
    };
    let mut written_by_day = Vec::new();
    let summary = generate_scale_with_progress(&options(3, 30), &mut out, |_, _| {
        written_by_day.push(seen.get());
    })
    .expect("counting cannot fail");
    assert_eq!(written_by_day.len(), 30);
    assert!(written_by_day[10] > 0, "nothing written after ten days");
    assert!(written_by_day[10] < written_by_day[29]);
    assert!(out.writes > 10, "{} writes", out.writes);
    assert!(
        out.largest <= super::WRITE_CHUNK,
        "a write of {} bytes",
        out.largest
    );
    assert!(summary.events() > 1_000);
}

#[test]
fn scale_state_does_not_grow_with_history_length() {
    let largest_after_a_month = |days: u32| {
        let mut largest = 0;
        run(&options(5, days), io::sink(), |day, world| {
            if day > 30 {
                largest = largest.max(world.footprint());
            }
        })
        .expect("a sink cannot fail");
        largest
    };
    let two_months = largest_after_a_month(60);
    let a_year = largest_after_a_month(365);
    assert!(two_months > 0);
    assert!(
        a_year <= two_months * 2,
        "{a_year} held over a year, {two_months} over two months"
    );
}

#[test]
fn scale_write_errors_stop_the_generation() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut days = 0;
    let result = generate_scale_with_progress(&options(50, 30), &mut Broken, |d, _| days = d);
    assert_eq!(
        result.map_err(|e| e.kind()).err(),
        Some(io::ErrorKind::BrokenPipe)
    );
    assert!(days < 30, "went on for {days} days");
}
