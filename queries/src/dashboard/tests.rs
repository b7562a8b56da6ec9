//! The dashboard's page data on one small hand-computed history, written by the real
//! batch writer and derived by the real `Deriver` into a real DuckDB database.
//!
//! Service `shop` (repo `acme/shop`), period 2026-03-01 to 2026-03-05 (4 days):
//! - commits a (root, 03-01 08:00), b (← a, 03-02 08:00), c (← b, 03-03 08:00, the
//!   squash commit of a pull request first committed 03-02 20:00, opened 03-03 06:00,
//!   merged 03-03 08:00), d (← c, 03-04 08:00, never in production);
//! - production: d1 = a at 03-01 10:00 (first: {a}, 2 h), d2 = c at 03-03 12:00
//!   ({b, c}: b 28 h, c from the pull request's first commit 16 h);
//! - staging: s1 = c at 03-03 10:00, s2 = d at 03-04 09:00: production is 1 commit
//!   behind;
//! - incident i1 opened 03-03 13:00, resolved 15:00, nothing named: rule c → d2
//!   (recovered 3 h after it finished); i2 opened 03-04 01:00, still open, sha a:
//!   rule b → d1 (failed, not recovered); d2 is rework.

use duckdb::Connection;
use shiplog_model::{BandsVersion, Period, Settings};

use super::explain::{distribution, explain, write_csv};
use super::metric::Metric;
use super::metric_page::{Stage, metric_page};
use super::overview::{Change, overview};
use super::services::{SortKey, service_page, services_table, sort_rows};
use super::table::{Cell, Paging};
use super::view::{BucketSize, View};
use crate::derive::tests::store;
use crate::figures::{Breakdown, Bucket, Request, figure_sets, figures};
use crate::scope::{Filter, Known};

fn known(conn: &Connection, settings: &Settings) -> Known {
    Known::read(conn, settings).unwrap()
}

fn history() -> Connection {
    let lines = [
        r#"{"type":"change","repo":"acme/shop","sha":"a","parents":[],"committed_at":"2026-03-01T08:00:00Z"}"#,
        r#"{"type":"change","repo":"acme/shop","sha":"b","parents":["a"],"committed_at":"2026-03-02T08:00:00Z"}"#,
        r#"{"type":"change","repo":"acme/shop","sha":"c","parents":["b"],"committed_at":"2026-03-03T08:00:00Z","pr":{"number":7,"first_commit_at":"2026-03-02T20:00:00Z","opened_at":"2026-03-03T06:00:00Z","merged_at":"2026-03-03T08:00:00Z"}}"#,
        r#"{"type":"change","repo":"acme/shop","sha":"d","parents":["c"],"committed_at":"2026-03-04T08:00:00Z"}"#,
        r#"{"type":"deployment","id":"d1","service":"shop","repo":"acme/shop","sha":"a","finished_at":"2026-03-01T10:00:00Z"}"#,
        r#"{"type":"deployment","id":"s1","service":"shop","environment":"staging","repo":"acme/shop","sha":"c","finished_at":"2026-03-03T10:00:00Z"}"#,
        r#"{"type":"deployment","id":"d2","service":"shop","repo":"acme/shop","sha":"c","finished_at":"2026-03-03T12:00:00Z"}"#,
        r#"{"type":"deployment","id":"s2","service":"shop","environment":"staging","repo":"acme/shop","sha":"d","finished_at":"2026-03-04T09:00:00Z"}"#,
        r#"{"type":"incident","id":"i1","service":"shop","opened_at":"2026-03-03T13:00:00Z","resolved_at":"2026-03-03T15:00:00Z","title":"=HYPERLINK(\"http://x\")"}"#,
        r#"{"type":"incident","id":"i2","service":"shop","opened_at":"2026-03-04T01:00:00Z","sha":"a"}"#,
    ];
    store(&[&lines])
}

fn view(bucket: BucketSize) -> View {
    View {
        period: Period::new("2026-03-01".parse().unwrap(), "2026-03-05".parse().unwrap()).unwrap(),
        filter: Filter::default(),
        bands: BandsVersion::V2023,
        bucket,
    }
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a value");
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

#[test]
fn the_overview_has_each_figure_with_its_samples_and_no_change_without_a_past() {
    let conn = history();
    let o = overview(
        &conn,
        &Settings::default(),
        &known(&conn, &Settings::default()),
        &view(BucketSize::Day),
    )
    .unwrap();
    close(o.tile(Metric::DeploymentFrequency).value, 0.5);
    close(o.tile(Metric::LeadTime).value, 16.0);
    assert_eq!(o.tile(Metric::LeadTime).samples, 3);
    close(o.tile(Metric::LeadTime).figures.lead_time_p90_hours, 25.6);
    close(o.tile(Metric::ChangeFailureRate).value, 1.0);
    close(o.tile(Metric::FailedDeploymentRecovery).value, 3.0);
    assert_eq!(o.tile(Metric::FailedDeploymentRecovery).samples, 1);
    close(o.tile(Metric::TimeToRestore).value, 2.0);
    close(o.tile(Metric::ReworkRate).value, 0.5);
    assert_eq!(
        o.tile(Metric::DeploymentFrequency).change,
        Change::Unavailable("2 deployments in this period; a change needs 5 on both sides".into())
    );
    assert!(
        matches!(o.tile(Metric::LeadTime).change, Change::Unavailable(ref r) if r.contains("3 commits in this period"))
    );
    // Weekly values: 2026-03-01 is a Sunday, so a one-day week, then three days.
    let weeks: Vec<_> = o.tile(Metric::DeploymentFrequency).weekly.clone();
    assert_eq!(weeks.len(), 2);
    close(weeks[0].1, 1.0);
    close(weeks[1].1, 1.0 / 3.0);
    assert_eq!((o.coverage.deployments, o.coverage.incidents), (2, 2));
}

#[test]
fn a_change_is_better_when_deployments_rise_or_times_and_rates_fall() {
    use crate::figures::Figures;
    let day: chrono::NaiveDate = "2026-03-01".parse().unwrap();
    let figures = |deployments: i64, failed: i64, samples: i64, median: f64| Figures {
        deployments,
        failed,
        lead_time_samples: samples,
        lead_time_median_hours: Some(median),
        ..Figures::empty(day)
    };
    let (before, now) = (figures(10, 1, 10, 20.0), figures(20, 4, 10, 10.0));
    let df = super::overview::change(
        Metric::DeploymentFrequency,
        &now,
        &before,
        Some(2.0),
        Some(1.0),
    );
    assert_eq!(
        df,
        Change::Delta {
            amount: 100.0,
            points: false,
            better: Some(true)
        }
    );
    let lead = super::overview::change(Metric::LeadTime, &now, &before, Some(10.0), Some(20.0));
    assert_eq!(
        lead,
        Change::Delta {
            amount: -50.0,
            points: false,
            better: Some(true)
        }
    );
    let cfr = super::overview::change(
        Metric::ChangeFailureRate,
        &now,
        &before,
        Some(0.2),
        Some(0.1),
    );
    let Change::Delta {
        amount,
        points,
        better,
    } = cfr
    else {
        panic!("{cfr:?}")
    };
    assert!((amount - 10.0).abs() < 1e-9 && points && better == Some(false));
    let same = super::overview::change(Metric::LeadTime, &now, &before, Some(20.0), Some(20.0));
    assert_eq!(
        same,
        Change::Delta {
            amount: 0.0,
            points: false,
            better: None
        }
    );
    let few = super::overview::change(
        Metric::LeadTime,
        &figures(20, 4, 4, 10.0),
        &before,
        Some(10.0),
        Some(20.0),
    );
    assert_eq!(
        few,
        Change::Unavailable("4 commits in this period; a change needs 5 on both sides".into())
    );
}

#[test]
fn metric_pages_give_each_bucket_the_distribution_and_the_stages() {
    let conn = history();
    let settings = Settings::default();
    let page = metric_page(
        &conn,
        &known(&conn, &settings),
        &view(BucketSize::Day),
        Metric::DeploymentFrequency,
    )
    .unwrap();
    let per_day: Vec<Option<f64>> = page.series.iter().map(|p| p.value).collect();
    assert_eq!(per_day, vec![Some(1.0), Some(0.0), Some(1.0), Some(0.0)]);
    assert_eq!(page.bands.len(), 4);
    assert!(page.distribution.is_none());
    assert_eq!(page.services.len(), 1);

    let lead = metric_page(
        &conn,
        &known(&conn, &settings),
        &view(BucketSize::Day),
        Metric::LeadTime,
    )
    .unwrap();
    let d = lead.distribution.unwrap();
    assert_eq!(d.samples, 3);
    close(d.p50, 16.0);
    close(d.p75, 22.0);
    close(d.p90, 25.6);
    let counts: Vec<i64> = d.bins.iter().map(|b| b.count).collect();
    // 2 h in 1–4 h, 16 h in 12–24 h, 28 h in 24–72 h.
    assert_eq!(counts, vec![0, 1, 0, 1, 1, 0, 0, 0, 0]);
    let stages = lead.stages.unwrap();
    assert_eq!(stages.period.samples, 1);
    close(stages.period.coding, 10.0);
    close(stages.period.review, 2.0);
    close(stages.period.waiting, 4.0);
    assert_eq!(stages.previous.samples, 0);
    assert_eq!(stages.grew_most, None, "nothing to grow from");
    assert_eq!(stages.buckets[2].1.samples, 1, "d2 finished on 03-03");
    assert_eq!(Stage::ALL.len(), 3);
}

#[test]
fn explain_rows_are_the_rows_the_figure_is_made_of() {
    let conn = history();
    let settings = Settings::default();
    let v = view(BucketSize::Day);
    let lead = explain(
        &conn,
        &known(&conn, &settings),
        &v,
        Metric::LeadTime,
        Paging::page(1),
    )
    .unwrap();
    assert_eq!(lead.table.total, 3);
    close(lead.value, 16.0);
    let starts: Vec<(String, String)> = lead
        .table
        .rows
        .iter()
        .map(|r| match (&r[0], &r[3]) {
            (Cell::Sha(Some(sha)), Cell::Text(Some(kind))) => (sha.clone(), kind.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        starts,
        vec![
            ("b".into(), "commit".into()),
            ("c".into(), "pull request first commit".into()),
            ("a".into(), "commit".into()),
        ]
    );
    let recovery = explain(
        &conn,
        &known(&conn, &settings),
        &v,
        Metric::FailedDeploymentRecovery,
        Paging::page(1),
    )
    .unwrap();
    assert_eq!((recovery.table.total, recovery.table.rows.len()), (2, 2));
    close(recovery.value, 3.0);
    let restore = explain(
        &conn,
        &known(&conn, &settings),
        &v,
        Metric::TimeToRestore,
        Paging::page(1),
    )
    .unwrap();
    let rules: Vec<&Cell> = restore.table.rows.iter().map(|r| &r[8]).collect();
    assert_eq!(
        rules,
        vec![&Cell::Text(Some("b".into())), &Cell::Text(Some("c".into()))]
    );
    // The CSV has every row; the incident title is guarded against formulas.
    let mut csv = Vec::new();
    let written = write_csv(
        &conn,
        &known(&conn, &settings),
        &v,
        Metric::TimeToRestore,
        &mut csv,
    )
    .unwrap();
    assert_eq!(written, 2);
    let text = String::from_utf8(csv).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
    let d = distribution(
        &conn,
        &known(&conn, &settings).select(&v.filter),
        &v,
        Metric::TimeToRestore,
    )
    .unwrap()
    .unwrap();
    assert_eq!(d.samples, 1);
    // Paging past the end gives no rows but the same total.
    let past = explain(
        &conn,
        &known(&conn, &settings),
        &v,
        Metric::LeadTime,
        Paging::page(9),
    )
    .unwrap();
    assert_eq!((past.table.rows.len(), past.table.total), (0, 3));
}

#[test]
fn a_services_page_has_its_timeline_and_what_runs_where() {
    let conn = history();
    let settings = Settings::default();
    let page = service_page(
        &conn,
        &settings,
        &known(&conn, &settings),
        &view(BucketSize::Day),
        "shop",
    )
    .unwrap()
    .unwrap();
    let marks: Vec<(&str, &str)> = page
        .deployments
        .iter()
        .map(|d| (d.id.as_str(), d.outcome()))
        .collect();
    assert_eq!(
        marks,
        vec![
            ("d1", "failed"),
            ("s1", "preproduction"),
            ("d2", "failed"),
            ("s2", "preproduction")
        ]
    );
    let incidents: Vec<(&str, Option<&str>, Option<&str>)> = page
        .incidents
        .iter()
        .map(|i| (i.id.as_str(), i.deployment_id.as_deref(), i.rule.as_deref()))
        .collect();
    assert_eq!(
        incidents,
        vec![("i1", Some("d2"), Some("c")), ("i2", Some("d1"), Some("b"))]
    );
    let pending = page.pending.unwrap();
    assert_eq!(pending.production.deployment_id, "d2");
    assert_eq!(pending.preproduction.deployment_id, "s2");
    assert_eq!(pending.commits_behind, Some(1));
    assert!(
        service_page(
            &conn,
            &settings,
            &known(&conn, &settings),
            &view(BucketSize::Day),
            "nope"
        )
        .unwrap()
        .is_none()
    );
}

#[test]
fn the_services_table_sorts_by_any_column_with_undefined_values_last() {
    let conn = history();
    let settings = Settings::default();
    let mut rows = services_table(
        &conn,
        &settings,
        &known(&conn, &settings),
        &view(BucketSize::Week),
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    close(rows[0].value(Metric::LeadTime), 16.0);
    let mut other = rows[0].clone();
    other.service = "api".into();
    other.values.iter_mut().for_each(|v| v.value = None);
    rows.push(other);
    sort_rows(&mut rows, SortKey::Metric(Metric::LeadTime), true);
    assert_eq!(rows[0].service, "shop");
    sort_rows(&mut rows, SortKey::Metric(Metric::LeadTime), false);
    assert_eq!(rows[0].service, "shop", "undefined values stay last");
    sort_rows(&mut rows, SortKey::Service, false);
    assert_eq!(rows[0].service, "api");
}

#[test]
fn one_figure_read_gives_each_request_what_a_read_of_its_own_gives() {
    let conn = history();
    let settings = Settings::default();
    let v = view(BucketSize::Day);
    let days = super::view::buckets(v.period, BucketSize::Day);
    let whole = [Bucket::whole(v.period)];
    let early = [Bucket {
        start: "2026-03-02".parse().unwrap(),
        stop: "2026-03-04".parse().unwrap(),
    }];
    // Overlapping buckets, with and without the per-service rows, filtered or not.
    for filter in [
        Filter::default(),
        Filter {
            service: Some("shop".into()),
            team: None,
        },
    ] {
        let selection = known(&conn, &settings).select(&filter);
        let requests = [
            Request {
                buckets: &early,
                breakdown: Breakdown::PerService,
            },
            Request {
                buckets: &whole,
                breakdown: Breakdown::TotalOnly,
            },
            Request {
                buckets: &days,
                breakdown: Breakdown::PerService,
            },
        ];
        let together = figure_sets(&conn, &selection, &requests).unwrap();
        assert_eq!(together.len(), 3);
        for (request, set) in requests.iter().zip(&together) {
            let alone = figures(&conn, &selection, request.buckets, request.breakdown).unwrap();
            assert_eq!(set, &alone);
        }
        // The early bucket holds d2 (its only successful production deployment there)
        // once as a whole and once for `shop`.
        let [shop, total] = &together[0][..] else {
            panic!("{:?}", together[0]);
        };
        assert_eq!(shop.service.as_deref(), Some("shop"));
        assert_eq!((shop.deployments, total.deployments), (1, 1));
        assert_eq!(total.service, None);
        assert_eq!(together[2].len(), days.len() * 2);
    }
}

/// The first page of the rows behind `metric`.
fn first_page(
    conn: &Connection,
    settings: &Settings,
    v: &View,
    metric: Metric,
) -> super::explain::Explained {
    explain(conn, &known(conn, settings), v, metric, Paging::page(1)).unwrap()
}

/// Service `shop`, 2026-03-01 to 03-05, releasing by canary:
/// - d1 = a at 03-01 10:00 (production, success);
/// - x1 = b at 03-02 10:00, aborted (its canary analysis failed), then d2 = b at
///   03-02 14:00 (the same revision, retried and completed);
/// - x2 = c at 03-03 10:00 in `prod-eu`, aborted: production only where the list
///   has `prod-*`; x3 = c at 03-03 11:00 in staging, aborted: never production;
/// - f1 = c at 03-03 12:00, status failure: a failed attempt, not an abort.
fn canary_history() -> Connection {
    let lines = [
        r#"{"type":"change","repo":"acme/shop","sha":"a","parents":[],"committed_at":"2026-03-01T08:00:00Z"}"#,
        r#"{"type":"change","repo":"acme/shop","sha":"b","parents":["a"],"committed_at":"2026-03-02T08:00:00Z"}"#,
        r#"{"type":"change","repo":"acme/shop","sha":"c","parents":["b"],"committed_at":"2026-03-03T08:00:00Z"}"#,
        r#"{"type":"deployment","id":"d1","service":"shop","repo":"acme/shop","sha":"a","finished_at":"2026-03-01T10:00:00Z"}"#,
        r#"{"type":"deployment","id":"x1","service":"shop","repo":"acme/shop","sha":"b","status":"aborted","finished_at":"2026-03-02T10:00:00Z"}"#,
        r#"{"type":"deployment","id":"d2","service":"shop","repo":"acme/shop","sha":"b","finished_at":"2026-03-02T14:00:00Z"}"#,
        r#"{"type":"deployment","id":"x2","service":"shop","environment":"prod-eu","repo":"acme/shop","sha":"c","status":"aborted","finished_at":"2026-03-03T10:00:00Z"}"#,
        r#"{"type":"deployment","id":"x3","service":"shop","environment":"staging","repo":"acme/shop","sha":"c","status":"aborted","finished_at":"2026-03-03T11:00:00Z"}"#,
        r#"{"type":"deployment","id":"f1","service":"shop","repo":"acme/shop","sha":"c","status":"failure","finished_at":"2026-03-03T12:00:00Z"}"#,
    ];
    store(&[&lines])
}

#[test]
fn aborted_rollouts_are_counted_apart_and_fail_nothing() {
    let conn = canary_history();
    let settings = Settings::default();
    let v = view(BucketSize::Day);
    let m = crate::metrics::metrics(&conn, &settings, v.period, &Filter::default()).unwrap();
    // d1 and d2 are the deployments; x1 the one production abort.
    assert_eq!(m.deployment_frequency.deployments, 2);
    assert_eq!(m.aborted_rollouts.rollouts, 3);
    assert_eq!(m.aborted_rollouts.aborted, 1);
    assert_eq!(m.aborted_rollouts.rate, Some(0.3333));
    // The abort did not fail d1, the deployment it was to replace, nor make d2 rework.
    assert_eq!(m.change_failure_rate.failed, 0);
    assert_eq!(m.rework_rate.rework, 0);
    // b's lead time runs to d2, the rollout that completed (08:00 → 14:00, 6 h), not
    // to x1 (2 h): samples 2 h (a) and 6 h, p90 2 + 0.9 × 4.
    assert_eq!(m.lead_time.samples, 2);
    assert_eq!(m.lead_time.p90_hours, Some(5.6));

    let explained = first_page(&conn, &settings, &v, Metric::AbortedRollouts);
    assert_eq!(explained.table.total, 3);
    close(explained.value, 1.0 / 3.0);
    let rows: Vec<(String, String)> = explained
        .table
        .rows
        .iter()
        .map(|r| match (&r[4], &r[5]) {
            (Cell::Text(Some(outcome)), Cell::Deployment { id, .. }) => {
                (id.clone().unwrap_or_default(), outcome.clone())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("d2".into(), "completed".into()),
            ("x1".into(), "aborted".into()),
            ("d1".into(), "completed".into()),
        ]
    );
    let o = overview(&conn, &settings, &known(&conn, &settings), &v).unwrap();
    let tile = o.tile(Metric::AbortedRollouts);
    close(tile.value, 1.0 / 3.0);
    assert_eq!(tile.samples, 3);
}

#[test]
fn production_patterns_decide_which_aborts_count() {
    let conn = canary_history();
    let mut settings = Settings::default();
    settings.set_production_environments(["production", "prod-*"]);
    let v = view(BucketSize::Day);
    let m = crate::metrics::metrics(&conn, &settings, v.period, &Filter::default()).unwrap();
    // x2 in prod-eu now counts; x3 in staging still does not.
    assert_eq!(m.aborted_rollouts.aborted, 2);
    assert_eq!(m.aborted_rollouts.rollouts, 4);
    assert_eq!(m.aborted_rollouts.rate, Some(0.5));
    let per_service = figures(
        &conn,
        &known(&conn, &settings).select(&Filter::default()),
        &[Bucket::whole(v.period)],
        Breakdown::PerService,
    )
    .unwrap();
    assert_eq!(per_service[0].service.as_deref(), Some("shop"));
    assert_eq!(per_service[0].aborted, 2);
    let explained = first_page(&conn, &settings, &v, Metric::AbortedRollouts);
    assert_eq!(explained.table.total, 4, "the rows are the figure's");
}

#[test]
fn the_overview_shows_aborted_rollouts_only_where_a_rollout_was_ever_aborted() {
    let conn = history();
    let settings = Settings::default();
    let o = overview(
        &conn,
        &settings,
        &known(&conn, &settings),
        &view(BucketSize::Day),
    )
    .unwrap();
    assert_eq!(o.tiles.len(), 6);
    assert!(o.tiles.iter().all(|t| t.metric != Metric::AbortedRollouts));
}
