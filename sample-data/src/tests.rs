//! Properties of the generated history that the demo and the product rely on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{DateTime, Days, NaiveDate};
use serde_json::Value;

use crate::{Options, generate, to_ndjson};

const TIME_KEYS: &[&str] = &[
    "committed_at",
    "authored_at",
    "started_at",
    "finished_at",
    "opened_at",
    "resolved_at",
];
const PR_TIME_KEYS: &[&str] = &["first_commit_at", "opened_at", "merged_at"];

/// The default history, generated once for all tests.
fn history() -> &'static [Value] {
    static HISTORY: OnceLock<Vec<Value>> = OnceLock::new();
    HISTORY.get_or_init(|| generate(&Options::default()))
}

fn text<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    event.get(key).and_then(Value::as_str)
}

fn of_type<'a>(events: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    events.iter().filter(move |e| text(e, "type") == Some(kind))
}

fn seconds(stamp: &str) -> i64 {
    DateTime::parse_from_rfc3339(stamp)
        .unwrap_or_else(|e| panic!("{stamp}: {e}"))
        .timestamp()
}

/// First and last second of the options' window, computed with chrono rather than the
/// crate's own calendar.
fn window(options: &Options) -> (i64, i64) {
    let first = options
        .end
        .checked_sub_days(Days::new(u64::from(options.days.max(1) - 1)))
        .expect("date in range");
    let start = first
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp();
    let end = options
        .end
        .and_hms_opt(23, 59, 59)
        .expect("last second")
        .and_utc()
        .timestamp();
    (start, end)
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

fn successful_production(event: &Value) -> bool {
    text(event, "type") == Some("deployment")
        && text(event, "environment") == Some("production")
        && text(event, "status") == Some("success")
}

fn assert_inside_window(events: &[Value], options: &Options) {
    let (start, end) = window(options);
    for event in events {
        let pr = event.get("pr");
        let stamps = TIME_KEYS.iter().filter_map(|k| event.get(*k)).chain(
            PR_TIME_KEYS
                .iter()
                .filter_map(|k| pr.and_then(|p| p.get(*k))),
        );
        for stamp in stamps.filter(|v| !v.is_null()) {
            let stamp = stamp
                .as_str()
                .unwrap_or_else(|| panic!("timestamp is not a string in {event}"));
            assert!(stamp.ends_with('Z'), "{stamp} is not UTC with Z");
            let t = seconds(stamp);
            assert!(
                (start..=end).contains(&t),
                "{stamp} outside the window in {event}"
            );
        }
    }
}

#[test]
fn same_seed_gives_byte_identical_output() {
    let again = generate(&Options::default());
    assert_eq!(to_ndjson(history()), to_ndjson(&again));
}

#[test]
fn another_seed_gives_another_history() {
    let other = generate(&Options {
        seed: 43,
        ..Options::default()
    });
    assert_ne!(to_ndjson(history()), to_ndjson(&other));
}

#[test]
fn ndjson_has_one_event_per_line() {
    let text = to_ndjson(history());
    assert_eq!(text.lines().count(), history().len());
    assert!(text.ends_with('\n'));
}

#[test]
fn size_suits_a_demo() {
    let n = history().len();
    assert!((4_000..=12_000).contains(&n), "{n} events");
}

#[test]
fn every_timestamp_is_rfc3339_utc_inside_the_window() {
    assert_inside_window(history(), &Options::default());
}

#[test]
fn short_windows_ending_on_a_weekend_stay_inside_their_days() {
    let saturday = NaiveDate::from_ymd_opt(2026, 1, 3).expect("valid date");
    for days in [0, 1, 2, 7, 30] {
        let options = Options {
            seed: 7,
            end: saturday,
            days,
        };
        assert_inside_window(&generate(&options), &options);
    }
}

#[test]
fn every_event_has_the_fields_its_type_requires() {
    for event in history() {
        let required: &[&str] = match text(event, "type") {
            Some("change") => &["repo", "sha", "committed_at"],
            Some("deployment") => &["id", "service", "sha", "finished_at"],
            Some("incident") => &["id", "service", "opened_at"],
            Some("build") => &["id", "repo", "sha", "status", "finished_at"],
            other => panic!("unknown type {other:?} in {event}"),
        };
        for key in required {
            assert!(
                text(event, key).is_some_and(|v| !v.is_empty()),
                "{key} missing in {event}"
            );
        }
        if let Some(service) = text(event, "service") {
            assert_ne!(service, "ALL");
            assert!(!service.chars().any(char::is_control), "{service:?}");
        }
        if let Some(sha) = text(event, "sha") {
            assert!(is_sha(sha), "{sha}");
        }
    }
}

#[test]
fn parents_are_generated_changes_except_for_each_repos_first_commit() {
    let changes: Vec<&Value> = of_type(history(), "change").collect();
    let stored: BTreeSet<(&str, &str)> = changes
        .iter()
        .filter_map(|c| Some((text(c, "repo")?, text(c, "sha")?)))
        .collect();
    let mut first: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for c in &changes {
        let (Some(repo), Some(sha), Some(at)) =
            (text(c, "repo"), text(c, "sha"), text(c, "committed_at"))
        else {
            continue;
        };
        let entry = first.entry(repo).or_insert((seconds(at), sha));
        if seconds(at) < entry.0 {
            *entry = (seconds(at), sha);
        }
    }
    assert_eq!(first.len(), 4, "one commit graph per repository");
    let mut merges = 0;
    for c in changes.iter().filter(|c| c.get("parents").is_some()) {
        let (Some(repo), Some(sha)) = (text(c, "repo"), text(c, "sha")) else {
            continue;
        };
        let parents = c["parents"].as_array().expect("parents is a list");
        assert!(!parents.is_empty(), "{c}");
        merges += usize::from(parents.len() == 2);
        if first.get(repo).is_some_and(|&(_, root)| root == sha) {
            continue;
        }
        for parent in parents {
            let parent = parent.as_str().expect("a parent is a sha");
            assert!(is_sha(parent), "{parent}");
            assert!(
                stored.contains(&(repo, parent)),
                "parent {parent} of {sha} in {repo} was never posted"
            );
        }
    }
    assert!(merges > 50, "{merges} merge commits");
}

#[test]
fn merge_and_squash_commits_carry_their_pull_request() {
    let mut merge_commits = 0;
    let mut squashes = 0;
    for c in of_type(history(), "change") {
        let Some(pr) = c.get("pr") else { continue };
        let committed = seconds(text(c, "committed_at").expect("committed_at"));
        let first = seconds(pr["first_commit_at"].as_str().expect("first_commit_at"));
        assert!(first < committed, "{c}");
        assert!(pr["number"].is_u64(), "{c}");
        match c.get("parents").and_then(Value::as_array).map(Vec::len) {
            Some(2) => merge_commits += 1,
            Some(1) => squashes += 1,
            _ => {} // the pull request's own update event carries no parents
        }
    }
    assert!(
        merge_commits > 20 && squashes > 20,
        "{merge_commits} merges, {squashes} squashes"
    );
}

#[test]
fn production_deployments_ship_generated_changes_of_their_repo() {
    let stored: BTreeSet<(&str, &str)> = of_type(history(), "change")
        .filter_map(|c| Some((text(c, "repo")?, text(c, "sha")?)))
        .collect();
    let production: Vec<&Value> = history()
        .iter()
        .filter(|e| successful_production(e))
        .collect();
    assert!(
        production.len() > 300,
        "{} production deployments",
        production.len()
    );
    for d in production {
        let key = (text(d, "repo").expect("repo"), text(d, "sha").expect("sha"));
        assert!(stored.contains(&key), "{d} ships an unknown commit");
    }
}

#[test]
fn a_production_deployment_rolls_back_to_an_older_release() {
    // Deduplicated by id: webhook retries repeat a deployment, they do not redeploy it.
    let mut by_service: BTreeMap<&str, BTreeMap<&str, (i64, &str)>> = BTreeMap::new();
    for d in history().iter().filter(|e| successful_production(e)) {
        let (Some(service), Some(id), Some(sha)) =
            (text(d, "service"), text(d, "id"), text(d, "sha"))
        else {
            continue;
        };
        let finished = seconds(text(d, "finished_at").expect("finished_at"));
        by_service
            .entry(service)
            .or_default()
            .insert(id, (finished, sha));
    }
    let mut rollbacks = 0;
    for deployments in by_service.values() {
        let mut ordered: Vec<(i64, &str, &str)> = deployments
            .iter()
            .map(|(id, &(at, sha))| (at, *id, sha))
            .collect();
        ordered.sort_unstable();
        for i in 2..ordered.len() {
            let sha = ordered[i].2;
            if sha != ordered[i - 1].2 && ordered[..i - 1].iter().any(|d| d.2 == sha) {
                rollbacks += 1;
            }
        }
    }
    assert!(rollbacks >= 1, "no rollback");
}

#[test]
fn incident_updates_share_the_id_of_an_opened_incident() {
    let (_, end) = window(&Options::default());
    let mut by_id: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for i in of_type(history(), "incident") {
        by_id.entry(text(i, "id").expect("id")).or_default().push(i);
    }
    let mut resolved = 0;
    let mut open = 0;
    for (id, events) in &by_id {
        assert!(
            events.iter().any(|e| text(e, "title").is_some()),
            "{id} has no opening event"
        );
        let service = text(events[0], "service");
        assert!(
            events.iter().all(|e| text(e, "service") == service),
            "{id} changes service"
        );
        if events.iter().any(|e| text(e, "resolved_at").is_some()) {
            resolved += 1;
        } else {
            open += 1;
            let opened = seconds(text(events[0], "opened_at").expect("opened_at"));
            assert!(opened >= end - 14 * 86_400, "{id} stays open but is old");
        }
    }
    assert!(resolved >= 20, "{resolved} resolved incidents");
    assert!(open >= 1, "no open incident");
}

#[test]
fn attribution_rules_a_b_c_and_d_all_have_cases() {
    let opened: Vec<&Value> = of_type(history(), "incident")
        .filter(|i| text(i, "title").is_some())
        .collect();
    assert!(opened.iter().any(|i| text(i, "deployment_id").is_some()));
    assert!(opened.iter().any(|i| text(i, "sha").is_some()));
    let deployed: BTreeSet<&str> = history()
        .iter()
        .filter(|e| successful_production(e))
        .filter_map(|d| text(d, "service"))
        .collect();
    let named_nothing =
        |i: &&&Value| text(i, "deployment_id").is_none() && text(i, "sha").is_none();
    assert!(
        opened
            .iter()
            .filter(named_nothing)
            .any(|i| text(i, "service").is_some_and(|s| deployed.contains(s)))
    );
    assert!(
        opened
            .iter()
            .any(|i| text(i, "service").is_some_and(|s| !deployed.contains(s)))
    );
}

#[test]
fn the_feed_has_duplicates_and_late_arrivals() {
    let lines: Vec<String> = history().iter().map(Value::to_string).collect();
    let distinct: BTreeSet<&String> = lines.iter().collect();
    assert!(
        lines.len() - distinct.len() >= 2,
        "too few exact duplicates"
    );

    // A change that arrives after a production deployment of its sha.
    let mut shipped: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut late = 0;
    for e in history() {
        let key = (text(e, "repo").unwrap_or(""), text(e, "sha").unwrap_or(""));
        if successful_production(e) {
            shipped.insert(key);
        } else if text(e, "type") == Some("change") && shipped.contains(&key) {
            late += 1;
        }
    }
    assert!(late >= 1, "no change arrives after its deployment");
}

#[test]
fn failed_attempts_are_followed_by_green_ones() {
    let failed = |kind: &str| {
        of_type(history(), kind)
            .filter(|e| text(e, "status") == Some("failure"))
            .count()
    };
    assert!(failed("build") > 10 && failed("deployment") > 5);
}

#[test]
fn most_commits_happen_in_working_hours() {
    let stamps: Vec<i64> = of_type(history(), "change")
        .filter_map(|c| text(c, "committed_at"))
        .map(seconds)
        .collect();
    let working = stamps
        .iter()
        .filter(|&&t| {
            let day = (t.div_euclid(86_400) + 3).rem_euclid(7);
            let hour = t.rem_euclid(86_400) / 3_600;
            day < 5 && (8..19).contains(&hour)
        })
        .count();
    assert!(
        working * 10 >= stamps.len() * 9,
        "{working} of {}",
        stamps.len()
    );
}
