//! SPEC §4.1 build health on small hand-computed build sequences, stored by the real
//! batch writer in a real in-memory DuckDB database. Unless a test says otherwise the
//! period is [2026-03-01, 2026-03-08): 7 days, 168 hours.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use duckdb::Connection;
use serde_json::{Value, json};
use shiplog_model::{Period, ServiceSettings, Settings};

use super::{BuildFigures, BuildScope, build_figures};
use crate::derive::tests::{deploy, run, store};
use crate::metrics::metrics;
use crate::scope::Filter;

fn period() -> Period {
    let date = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    Period::new(date("2026-03-01"), date("2026-03-08")).unwrap()
}

/// A build event; `None` fields are left out, as a sender would.
fn build(
    id: &str,
    repo: &str,
    branch: Option<&str>,
    status: &str,
    started_at: Option<&str>,
    finished_at: &str,
) -> String {
    let mut event = json!({"type": "build", "id": id, "repo": repo, "sha": format!("sha-{id}"),
                           "status": status, "finished_at": finished_at});
    if let Some(branch) = branch {
        event["branch"] = branch.into();
    }
    if let Some(started_at) = started_at {
        event["started_at"] = started_at.into();
    }
    event.to_string()
}

/// A build on `main` without a start time.
fn on_main(id: &str, repo: &str, status: &str, finished_at: &str) -> String {
    build(id, repo, Some("main"), status, None, finished_at)
}

/// Every build counts: no filter.
fn everything(conn: &Connection) -> BuildFigures {
    build_figures(conn, &Settings::default(), period(), BuildScope::Everything).unwrap()
}

fn build_health_json(conn: &Connection, settings: &Settings, filter: &Filter) -> Value {
    let m = metrics(conn, settings, period(), filter).unwrap();
    serde_json::to_value(m.build_health).unwrap()
}

fn assert_close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a figure, not null");
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

#[test]
fn success_two_failures_success_on_main_is_one_spell_from_the_first_failure() {
    let conn = run(&[
        build(
            "b1",
            "acme/shop",
            Some("main"),
            "success",
            Some("2026-03-02T09:50:00Z"),
            "2026-03-02T10:00:00Z",
        ),
        build(
            "b2",
            "acme/shop",
            Some("main"),
            "failure",
            Some("2026-03-02T11:40:00Z"),
            "2026-03-02T12:00:00Z",
        ),
        build(
            "b3",
            "acme/shop",
            Some("main"),
            "failure",
            Some("2026-03-02T12:30:00Z"),
            "2026-03-02T13:00:00Z",
        ),
        build(
            "b4",
            "acme/shop",
            Some("main"),
            "success",
            Some("2026-03-02T15:00:00Z"),
            "2026-03-02T15:30:00Z",
        ),
    ]);
    // 4 builds, 2 failed: success rate 2 / 4 = 0.5.
    // Durations 10, 20, 30, 30 min: median (20 + 30) / 2 = 25; p90 at position
    // 0.9 × 3 = 2.7, between 30 and 30: 30.
    // One spell, b2 → b4: 15:30 − 12:00 = 3.5 h (b3 continues it, starts nothing).
    // One pair (acme/shop, main): red share 3.5 / 168 = 0.020833… → 0.0208.
    assert_eq!(
        build_health_json(&conn, &Settings::default(), &Filter::default()),
        json!({"builds": 4, "failed": 2, "success_rate": 0.5,
               "duration_median_minutes": 25.0, "duration_p90_minutes": 30.0,
               "red_spells": 1, "time_to_green_median_hours": 3.5,
               "red_hours_share": 0.0208})
    );
}

#[test]
fn a_history_that_starts_with_a_failure_starts_a_spell() {
    let conn = run(&[
        on_main("f1", "acme/shop", "failure", "2026-03-03T08:00:00Z"),
        on_main("s1", "acme/shop", "success", "2026-03-03T10:00:00Z"),
        on_main("f2", "acme/shop", "failure", "2026-03-04T10:00:00Z"),
        on_main("f3", "acme/shop", "failure", "2026-03-04T11:00:00Z"),
        on_main("s2", "acme/shop", "success", "2026-03-04T14:00:00Z"),
    ]);
    let f = everything(&conn);
    // f1 has no predecessor: spell f1 → s1 = 2 h; then f2 → s2 = 4 h.
    assert_eq!(f.red_spells, 2);
    // Median of 2 and 4 = 3 h; red 2 + 4 = 6 h of 168.
    assert_close(f.time_to_green_median_hours, 3.0);
    assert_close(Some(f.red_hours), 6.0);
    assert_close(f.red_hours_share(), 6.0 / 168.0);
}

#[test]
fn a_failure_off_the_main_branches_neither_starts_nor_ends_a_spell() {
    let conn = run(&[
        on_main("m1", "acme/shop", "success", "2026-03-02T10:00:00Z"),
        build(
            "x1",
            "acme/shop",
            Some("feature/login"),
            "failure",
            None,
            "2026-03-02T11:00:00Z",
        ),
        build(
            "x2",
            "acme/shop",
            None,
            "failure",
            None,
            "2026-03-02T11:30:00Z",
        ),
        on_main("m2", "acme/shop", "success", "2026-03-02T12:00:00Z"),
        on_main("m3", "acme/shop", "failure", "2026-03-02T13:00:00Z"),
        build(
            "x3",
            "acme/shop",
            Some("feature/login"),
            "success",
            None,
            "2026-03-02T14:00:00Z",
        ),
        on_main("m4", "acme/shop", "success", "2026-03-02T16:00:00Z"),
    ]);
    let f = everything(&conn);
    // Every branch counts for builds: 7, failed x1, x2, m3 = 3.
    assert_eq!((f.builds, f.failed), (7, 3));
    // On main: m1 m2 green, m3 red until m4 (x3 on a feature branch does not end it):
    // one spell of 16:00 − 13:00 = 3 h, on the one pair (acme/shop, main).
    assert_eq!((f.red_spells, f.pairs), (1, 1));
    assert_close(f.time_to_green_median_hours, 3.0);
    assert_close(Some(f.red_hours), 3.0);
}

#[test]
fn red_hours_share_sums_red_time_over_pairs_clipped_to_the_period() {
    let conn = run(&[
        // (acme/shop, main): a spell from before the period, red from 03-01 00:00
        // until a3 at 06:00 = 6 h in the period; then a4 at 03-07 18:00, green only
        // at 03-08 06:00, past the period's end: 6 h in the period, 12 h long.
        on_main("a1", "acme/shop", "success", "2026-02-20T12:00:00Z"),
        on_main("a2", "acme/shop", "failure", "2026-02-28T12:00:00Z"),
        on_main("a3", "acme/shop", "success", "2026-03-01T06:00:00Z"),
        on_main("a4", "acme/shop", "failure", "2026-03-07T18:00:00Z"),
        on_main("a5", "acme/shop", "success", "2026-03-08T06:00:00Z"),
        // (acme/web, master), master being a default main branch: 00:00 → 10:00 = 10 h.
        build(
            "w1",
            "acme/web",
            Some("master"),
            "failure",
            None,
            "2026-03-03T00:00:00Z",
        ),
        build(
            "w2",
            "acme/web",
            Some("master"),
            "success",
            None,
            "2026-03-03T10:00:00Z",
        ),
        // Not a main branch: no pair, no red time.
        build(
            "w3",
            "acme/web",
            Some("feature/x"),
            "failure",
            None,
            "2026-03-04T00:00:00Z",
        ),
        // First build after the period: not a pair of this period.
        on_main("l1", "acme/late", "failure", "2026-03-09T00:00:00Z"),
    ]);
    let f = everything(&conn);
    // Red 6 + 6 + 10 = 22 h over 2 pairs × 168 h: 22 / 336 = 0.065476… → 0.0655.
    assert_eq!(f.pairs, 2);
    assert_close(Some(f.red_hours), 22.0);
    assert_close(f.red_hours_share(), 22.0 / 336.0);
    // Spells starting in the period: a4 (12 h, ended after the period) and w1 (10 h);
    // a2's started before it. Median (12 + 10) / 2 = 11 h.
    assert_eq!(f.red_spells, 2);
    assert_close(f.time_to_green_median_hours, 11.0);
    // Builds finishing in the period: a3, a4, w1, w2, w3 = 5; failed a4, w1, w3 = 3.
    assert_eq!((f.builds, f.failed), (5, 3));
    assert_eq!(
        build_health_json(&conn, &Settings::default(), &Filter::default())["red_hours_share"],
        json!(0.0655)
    );
}

#[test]
fn a_spell_open_at_the_period_end_counts_without_a_length_and_is_red_until_the_end() {
    let conn = run(&[
        on_main("s", "acme/shop", "success", "2026-03-01T00:00:00Z"),
        on_main("f1", "acme/shop", "failure", "2026-03-06T00:00:00Z"),
        // Still red after the period: continues the spell, starts none.
        on_main("f2", "acme/shop", "failure", "2026-03-09T00:00:00Z"),
    ]);
    let f = everything(&conn);
    // One spell, never green again: counted, no time to green.
    assert_eq!(f.red_spells, 1);
    assert_eq!(f.time_to_green_median_hours, None);
    // Red from 03-06 00:00 to the period's end 03-08 00:00 = 48 h; 48 / 168 = 0.2857….
    assert_close(Some(f.red_hours), 48.0);
    assert_close(f.red_hours_share(), 48.0 / 168.0);
}

#[test]
fn durations_leave_out_builds_without_a_start_time() {
    let conn = run(&[
        build(
            "d1",
            "acme/shop",
            None,
            "success",
            Some("2026-03-02T10:00:00Z"),
            "2026-03-02T10:10:00Z",
        ),
        build(
            "d2",
            "acme/shop",
            None,
            "success",
            Some("2026-03-02T11:00:00Z"),
            "2026-03-02T11:20:00Z",
        ),
        build(
            "d3",
            "acme/shop",
            None,
            "success",
            Some("2026-03-02T12:00:00Z"),
            "2026-03-02T12:40:00Z",
        ),
        build(
            "d4",
            "acme/shop",
            None,
            "success",
            None,
            "2026-03-02T13:00:00Z",
        ),
        // Finishes exactly at the period's end, which is excluded.
        build(
            "d5",
            "acme/shop",
            None,
            "success",
            Some("2026-03-07T20:00:00Z"),
            "2026-03-08T00:00:00Z",
        ),
    ]);
    let f = everything(&conn);
    // d1-d4 count as builds; d4 has no duration.
    assert_eq!((f.builds, f.failed), (4, 0));
    assert_close(f.success_rate(), 1.0);
    // 10, 20, 40 min: median 20; p90 at position 0.9 × 2 = 1.8: 20 + 0.8 × 20 = 36.
    assert_close(f.duration_median_minutes, 20.0);
    assert_close(f.duration_p90_minutes, 36.0);
    // No branch on any build: no pair, so no share (not 0).
    assert_eq!((f.pairs, f.red_hours_share()), (0, None));
}

#[test]
fn a_service_or_team_filter_counts_the_builds_of_its_services_repos_only() {
    let conn = run(&[
        // shop's repo from its deployment's `repo` (acme/shop).
        deploy("d1", "shop", "s1", "2026-03-02T10:00:00Z"),
        // billing's deployment names no repo: the config map's acme/billing.
        r#"{"type":"deployment","id":"d2","service":"billing","sha":"p1","finished_at":"2026-03-02T11:00:00Z"}"#.into(),
        // search's deployment names no repo and the config map has none: the only
        // repository storing its sha, acme/search (SPEC §8).
        r#"{"type":"change","repo":"acme/search","sha":"q1","committed_at":"2026-03-01T00:00:00Z"}"#.into(),
        r#"{"type":"deployment","id":"d3","service":"search","sha":"q1","finished_at":"2026-03-02T12:00:00Z"}"#.into(),
        on_main("b1", "acme/shop", "failure", "2026-03-03T10:00:00Z"),
        on_main("b2", "acme/billing", "success", "2026-03-03T10:00:00Z"),
        on_main("b3", "acme/billing", "success", "2026-03-03T11:00:00Z"),
        on_main("b4", "acme/search", "success", "2026-03-03T10:00:00Z"),
        on_main("b5", "acme/other", "failure", "2026-03-03T10:00:00Z"),
        on_main("b6", "acme/other", "failure", "2026-03-03T11:00:00Z"),
        on_main("b7", "acme/other", "failure", "2026-03-03T12:00:00Z"),
    ]);
    let mut settings = Settings::default();
    settings.services = BTreeMap::from([(
        "billing".to_owned(),
        ServiceSettings {
            team: Some("payments".into()),
            repo: Some("acme/billing".into()),
            ..ServiceSettings::default()
        },
    )]);
    let counts = |service: Option<&str>, team: Option<&str>| {
        let filter = Filter {
            service: service.map(str::to_owned),
            team: team.map(str::to_owned),
        };
        let health = build_health_json(&conn, &settings, &filter);
        (health["builds"].clone(), health["failed"].clone())
    };
    // shop: b1 only; billing: b2, b3; search: b4; team payments = billing: b2, b3.
    assert_eq!(counts(Some("shop"), None), (json!(1), json!(1)));
    assert_eq!(counts(Some("billing"), None), (json!(2), json!(0)));
    assert_eq!(counts(Some("search"), None), (json!(1), json!(0)));
    assert_eq!(counts(None, Some("payments")), (json!(2), json!(0)));
    // No filter: every build, acme/other's too: 7, failed b1, b5, b6, b7 = 4.
    assert_eq!(counts(None, None), (json!(7), json!(4)));
    // A filter that selects no service selects no repository.
    assert_eq!(counts(Some("nobody"), None), (json!(0), json!(0)));
}

#[test]
fn ties_in_finish_time_are_ordered_by_id() {
    let conn = run(&[
        // acme/x: x2 (red) before x3 (green) at the same instant: a 0 h spell.
        on_main("x1", "acme/x", "success", "2026-03-02T10:00:00Z"),
        on_main("x2", "acme/x", "failure", "2026-03-02T12:00:00Z"),
        on_main("x3", "acme/x", "success", "2026-03-02T12:00:00Z"),
        // acme/y: y2 (green) before y3 (red): the spell from 03-02 12:00 stays open,
        // red until the period's end: 5.5 days = 132 h.
        on_main("y1", "acme/y", "success", "2026-03-02T10:00:00Z"),
        on_main("y3", "acme/y", "failure", "2026-03-02T12:00:00Z"),
        on_main("y2", "acme/y", "success", "2026-03-02T12:00:00Z"),
    ]);
    let f = everything(&conn);
    assert_eq!((f.red_spells, f.pairs), (2, 2));
    // Only x's spell ended: median 0 h. Red 0 + 132 h.
    assert_close(f.time_to_green_median_hours, 0.0);
    assert_close(Some(f.red_hours), 132.0);
}

#[test]
fn no_builds_give_zero_counts_and_null_figures() {
    let conn = store(&[]);
    assert_eq!(
        build_health_json(&conn, &Settings::default(), &Filter::default()),
        json!({"builds": 0, "failed": 0, "success_rate": null,
               "duration_median_minutes": null, "duration_p90_minutes": null,
               "red_spells": 0, "time_to_green_median_hours": null,
               "red_hours_share": null})
    );
}
