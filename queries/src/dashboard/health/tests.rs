//! The data-health checks on one small hand-computed history, stored by the real
//! batch writer in a real DuckDB file and derived by the real `Deriver`. The period is
//! [2026-03-01, 2026-03-08) and the attribution window 24 hours.
//!
//! Services: `shop`, `search`, `cart` deploy `acme/shop`; `tools` deploys without a
//! repo (the config map says `acme/tools`; its sha `t1` is also in `acme/lib`, so only
//! the map places it); `web` deploys without a repo (`w1` is only in `acme/web`);
//! `ops` deploys to staging only; `pay` has incidents and no deployment. `tools` and
//! `cart` are team `infra` by the config map.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use duckdb::Connection;
use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::sources::{Mapping, Source};
use shiplog_ingest::store::{Delivery, Store, write_batch};
use shiplog_ingest::{typed_delivery, webhook_delivery};
use shiplog_model::{BandsVersion, Period, ServiceSettings, Settings, Timestamp, parse_timestamp};

use super::{Check, DataHealth, LastDelivery, data_health, rows, write_csv};
use crate::Deriver;
use crate::dashboard::table::{Cell, Paging};
use crate::dashboard::view::{BucketSize, View};
use crate::derive::tests::{change, deploy};
use crate::scope::{Filter, Known};

fn at(text: &str) -> Timestamp {
    parse_timestamp(text).unwrap()
}

fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.attribution_window_hours = 24;
    let service = |team: &str, repo: Option<&str>| ServiceSettings {
        team: Some(team.into()),
        repo: repo.map(str::to_owned),
        ..ServiceSettings::default()
    };
    settings
        .services
        .insert("tools".into(), service("infra", Some("acme/tools")));
    settings
        .services
        .insert("cart".into(), service("infra", None));
    settings
}

fn commit(repo: &str, sha: &str, at: &str) -> String {
    format!(r#"{{"type":"change","repo":"{repo}","sha":"{sha}","committed_at":"{at}"}}"#)
}

/// A successful production deployment that names no repository.
fn repoless(id: &str, service: &str, sha: &str, finished_at: &str) -> String {
    format!(
        r#"{{"type":"deployment","id":"{id}","service":"{service}","sha":"{sha}","finished_at":"{finished_at}"}}"#
    )
}

fn incident(id: &str, service: &str, opened_at: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"incident","id":"{id}","service":"{service}","opened_at":"{opened_at}"{extra}}}"#
    )
}

fn typed_lines() -> Vec<String> {
    vec![
        change("a", &[], "2026-02-20T08:00:00Z"),
        change("b", &["a"], "2026-03-01T08:00:00Z"),
        change("c", &["b"], "2026-03-03T08:00:00Z"),
        commit("acme/lib", "l1", "2026-03-02T09:00:00Z"),
        commit("acme/lib", "l2", "2026-03-04T09:00:00Z"),
        commit("acme/lib", "t1", "2026-03-01T07:00:00Z"),
        commit("acme/tools", "t1", "2026-03-02T08:00:00Z"),
        commit("acme/web", "w1", "2026-03-02T08:00:00Z"),
        commit("acme/ops", "o1", "2026-03-01T08:00:00Z"),
        // shop: yy and xx are stored nowhere, but finish outside the period (xx at
        // its end, excluded); zz is stored nowhere and inside.
        deploy("d0", "shop", "yy", "2026-02-20T10:00:00Z"),
        deploy("d1", "shop", "a", "2026-02-25T10:00:00Z"),
        deploy("d2", "shop", "c", "2026-03-03T10:00:00Z"),
        deploy("d3", "shop", "zz", "2026-03-04T10:00:00Z"),
        deploy("d4", "shop", "xx", "2026-03-08T00:00:00Z"),
        deploy("s1", "search", "b", "2026-02-26T10:00:00Z"),
        deploy("s2", "search", "c", "2026-03-03T12:00:00Z"),
        deploy("c1", "cart", "a", "2025-12-01T10:00:00Z"),
        repoless("t1d", "tools", "t1", "2026-03-02T12:00:00Z"),
        repoless("t2d", "tools", "tt", "2026-03-05T12:00:00Z"),
        // At the very start of the period: inside.
        repoless("w0", "web", "ww", "2026-03-01T00:00:00Z"),
        repoless("w1d", "web", "w1", "2026-03-02T12:00:00Z"),
        r#"{"type":"deployment","id":"o1d","service":"ops","environment":"staging","sha":"o1","finished_at":"2026-03-02T12:00:00Z"}"#.into(),
        // Rule c, 1 h after d2.
        incident("I1", "shop", "2026-03-03T11:00:00Z", ""),
        incident("P0", "pay", "2026-02-15T00:00:00Z", ""),
        incident(
            "P1",
            "pay",
            "2026-03-02T10:00:00Z",
            r#","deployment_id":"gone","sha":"qq","title":"Checkout down""#,
        ),
        incident("P9", "pay", "2026-03-08T00:00:00Z", ""),
        // 72 h after w1d: beyond the window.
        incident(
            "W1",
            "web",
            "2026-03-05T12:00:00Z",
            r#","resolved_at":"2026-03-05T14:00:00Z""#,
        ),
        // Names a staging deployment; 25 h after t2d.
        incident("T1", "tools", "2026-03-06T13:00:00Z", r#","deployment_id":"o1d""#),
    ]
}

/// A webhook delivery the adapter skipped with `why`, as the route records it.
fn skipped(source: Source, event: &str, id: &str, received_at: &str, why: &str) -> Delivery {
    let mapping = Mapping::skipped(event, Some(id.to_owned()), why);
    webhook_delivery(
        source,
        &BTreeMap::new(),
        "{}".into(),
        mapping,
        at(received_at),
    )
}

const SEVERAL: &str = "repository acme/shop belongs to several services (checkout, search)";

fn webhook_deliveries() -> Vec<Delivery> {
    vec![
        skipped(
            Source::Github,
            "deployment_status",
            "u1",
            "2026-03-02T10:00:00Z",
            SEVERAL,
        ),
        skipped(
            Source::Gitlab,
            "Pipeline Hook",
            "u2",
            "2026-03-05T10:00:00Z",
            "Pipeline Hook: pipeline 7 is running",
        ),
        skipped(
            Source::Github,
            "issues",
            "u3",
            "2026-02-10T10:00:00Z",
            "issue #3 has no incident label",
        ),
        // A ping brings nothing by design: not unmapped.
        skipped(
            Source::Github,
            "ping",
            "u4",
            "2026-03-03T10:00:00Z",
            "ping: nothing to map",
        ),
        // Received at the end of the period: outside.
        skipped(
            Source::Github,
            "push",
            "u5",
            "2026-03-08T00:00:00Z",
            "push to refs/heads/x deletes the branch: nothing to map",
        ),
    ]
}

struct Db {
    conn: Connection,
    _dir: tempfile::TempDir,
}

fn stored() -> Db {
    stored_with(&settings())
}

/// The events derived with `settings`.
fn stored_with(settings: &Settings) -> Db {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Store::open(&dir.path().join("health.duckdb"))
        .unwrap()
        .into_connection();
    let mut deliveries: Vec<Delivery> = typed_lines()
        .iter()
        .map(|line| {
            typed_delivery(
                "test",
                parse_event_text(1, line).unwrap(),
                at("2026-03-10T00:00:00Z"),
            )
        })
        .collect();
    deliveries.extend(webhook_deliveries());
    let tx = conn.transaction().unwrap();
    write_batch(&tx, &deliveries, 1).unwrap();
    Deriver::new(settings.clone()).refresh_all(&tx).unwrap();
    tx.commit().unwrap();
    Db { conn, _dir: dir }
}

fn view(service: Option<&str>, team: Option<&str>) -> View {
    let date = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    View {
        period: Period::new(date("2026-03-01"), date("2026-03-08")).unwrap(),
        filter: Filter {
            service: service.map(str::to_owned),
            team: team.map(str::to_owned),
        },
        bands: BandsVersion::V2023,
        bucket: BucketSize::Day,
    }
}

fn everything() -> View {
    view(None, None)
}

fn health(db: &Db, view: &View) -> DataHealth {
    data_health(&db.conn, &Known::read(&db.conn, &settings()).unwrap(), view).unwrap()
}

fn all_rows(db: &Db, view: &View, check: Check) -> Vec<Vec<Cell>> {
    let table = rows(
        &db.conn,
        &settings(),
        &Known::read(&db.conn, &settings()).unwrap(),
        view,
        check,
        Paging::page(1),
    )
    .unwrap();
    assert_eq!(table.columns, check.columns());
    assert_eq!(table.total, table.rows.len() as i64, "{check:?}: one page");
    table.rows
}

fn csv(db: &Db, view: &View, check: Check) -> String {
    let mut out = Vec::new();
    let written = write_csv(
        &db.conn,
        &settings(),
        &Known::read(&db.conn, &settings()).unwrap(),
        view,
        check,
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(written as usize + 1, text.lines().count(), "{check:?}");
    text
}

fn time(text: &str) -> Cell {
    Cell::Time(Some(at(text)))
}

fn text(value: &str) -> Cell {
    Cell::Text(Some(value.to_owned()))
}

fn service(name: &str) -> Cell {
    Cell::Service(name.to_owned())
}

#[test]
fn every_check_lists_as_many_rows_as_it_counts() {
    let db = stored();
    let found = health(&db, &everything());
    let counts: Vec<(Check, i64)> = found.findings.iter().map(|f| (f.check, f.count)).collect();
    assert_eq!(
        counts,
        [
            (Check::UnstoredShas, 3),
            (Check::SilentServices, 2),
            (Check::UnattributedIncidents, 3),
            (Check::UndeployedRepos, 2),
            (Check::UnmappedDeliveries, 2),
        ]
    );
    for check in Check::ALL {
        let count = found.count(check);
        let table = rows(
            &db.conn,
            &settings(),
            &Known::read(&db.conn, &settings()).unwrap(),
            &everything(),
            check,
            Paging::page(1),
        )
        .unwrap();
        assert_eq!(table.total, count, "{check:?}");
        assert_eq!(table.rows.len() as i64, count, "{check:?}");
        let csv = csv(&db, &everything(), check);
        assert_eq!(csv.lines().count() as i64, count + 1, "{check:?}: {csv}");
        assert_eq!(csv.lines().next(), Some(check.columns().join(",").as_str()));
    }
}

#[test]
fn unstored_shas_are_the_period_s_deployments_of_commits_no_repository_stores() {
    let db = stored();
    let deployment = |id: &str, service: &str| Cell::Deployment {
        id: Some(id.into()),
        service: Some(service.into()),
    };
    let sha = |s: &str| Cell::Sha(Some(s.into()));
    // d0 (yy) finished before the period, d4 (xx) at its end; w0 at its start counts.
    assert_eq!(
        all_rows(&db, &everything(), Check::UnstoredShas),
        [
            vec![
                time("2026-03-05T12:00:00Z"),
                service("tools"),
                deployment("t2d", "tools"),
                sha("tt"),
            ],
            vec![
                time("2026-03-04T10:00:00Z"),
                service("shop"),
                deployment("d3", "shop"),
                sha("zz"),
            ],
            vec![
                time("2026-03-01T00:00:00Z"),
                service("web"),
                deployment("w0", "web"),
                sha("ww"),
            ],
        ]
    );
}

#[test]
fn silent_services_have_deployments_and_never_an_incident_whatever_the_period() {
    let db = stored();
    // cart deployed only in 2025: still listed, the check is over the whole history.
    assert_eq!(
        all_rows(&db, &everything(), Check::SilentServices),
        [
            vec![
                service("search"),
                Cell::Count(2),
                time("2026-03-03T12:00:00Z")
            ],
            vec![
                service("cart"),
                Cell::Count(1),
                time("2025-12-01T10:00:00Z")
            ],
        ]
    );
}

#[test]
fn unattributed_incidents_say_why_each_rule_failed() {
    let db = stored();
    let none = Cell::Text(None);
    assert_eq!(
        all_rows(&db, &everything(), Check::UnattributedIncidents),
        [
            vec![
                text("T1"),
                none.clone(),
                service("tools"),
                time("2026-03-06T13:00:00Z"),
                Cell::Time(None),
                text("o1d"),
                Cell::Sha(None),
                text(
                    "deployment o1d is not a successful production deployment; \
                     the last deployment of tools before it finished 25.0 h earlier, beyond the 24 h window"
                ),
            ],
            vec![
                text("W1"),
                none.clone(),
                service("web"),
                time("2026-03-05T12:00:00Z"),
                time("2026-03-05T14:00:00Z"),
                none.clone(),
                Cell::Sha(None),
                text(
                    "names no deployment and no commit; \
                     the last deployment of web before it finished 72.0 h earlier, beyond the 24 h window"
                ),
            ],
            vec![
                text("P1"),
                text("Checkout down"),
                service("pay"),
                time("2026-03-02T10:00:00Z"),
                Cell::Time(None),
                text("gone"),
                Cell::Sha(Some("qq".into())),
                text(
                    "deployment gone is not stored; commit qq is in no change set of pay; \
                     no deployment of pay finished before it opened"
                ),
            ],
        ]
    );
}

#[test]
fn undeployed_repos_are_resolved_as_deployments_name_them_the_config_or_the_sha() {
    let db = stored();
    // acme/shop: deployments name it. acme/tools: the config map's repo of `tools`
    // (its sha t1 is in two repositories). acme/web: the only repository storing w1.
    // acme/ops is deployed to staging only.
    let rows = all_rows(&db, &everything(), Check::UndeployedRepos);
    assert_eq!(
        rows,
        [
            vec![
                text("acme/lib"),
                Cell::Count(3),
                time("2026-03-04T09:00:00Z")
            ],
            vec![
                text("acme/ops"),
                Cell::Count(1),
                time("2026-03-01T08:00:00Z")
            ],
        ]
    );
    // Derived without the config map, nothing places `tools` deployments: acme/tools
    // shows.
    let db = stored_with(&Settings::default());
    let found = data_health(
        &db.conn,
        &Known::read(&db.conn, &Settings::default()).unwrap(),
        &everything(),
    )
    .unwrap();
    assert_eq!(found.count(Check::UndeployedRepos), 3);
}

#[test]
fn unmapped_deliveries_are_the_period_s_deliveries_stored_with_a_reason() {
    let db = stored();
    // u3 came before the period, u5 at its end; the ping u4 is not unmapped.
    assert_eq!(
        all_rows(&db, &everything(), Check::UnmappedDeliveries),
        [
            vec![
                time("2026-03-05T10:00:00Z"),
                text("gitlab"),
                text("Pipeline Hook"),
                text("gitlab:u2"),
                text("Pipeline Hook: pipeline 7 is running"),
            ],
            vec![
                time("2026-03-02T10:00:00Z"),
                text("github"),
                text("deployment_status"),
                text("github:u1"),
                text(SEVERAL),
            ],
        ]
    );
    let csv = csv(&db, &everything(), Check::UnmappedDeliveries);
    assert!(
        csv.contains(&format!("\"{SEVERAL}\"")),
        "a reason with commas is quoted: {csv}"
    );
}

#[test]
fn a_service_or_team_filter_narrows_the_checks_of_services_only() {
    let db = stored();
    let counts = |view: &View| -> Vec<i64> {
        let found = health(&db, view);
        Check::ALL.map(|c| found.count(c)).to_vec()
    };
    // UnstoredShas, SilentServices, UnattributedIncidents, UndeployedRepos, UnmappedDeliveries.
    assert_eq!(counts(&view(Some("shop"), None)), [1, 0, 0, 2, 2]);
    assert_eq!(counts(&view(Some("web"), None)), [1, 0, 1, 2, 2]);
    assert_eq!(counts(&view(None, Some("infra"))), [1, 1, 1, 2, 2]);
    assert_eq!(counts(&view(Some("nobody"), None)), [0, 0, 0, 2, 2]);

    let infra = view(None, Some("infra"));
    for check in Check::ALL {
        let table = rows(
            &db.conn,
            &settings(),
            &Known::read(&db.conn, &settings()).unwrap(),
            &infra,
            check,
            Paging::page(1),
        )
        .unwrap();
        assert_eq!(table.total, health(&db, &infra).count(check), "{check:?}");
        assert_eq!(
            csv(&db, &infra, check).lines().count() as i64,
            table.total + 1,
            "{check:?}"
        );
    }
    assert_eq!(
        all_rows(&db, &infra, Check::SilentServices)[0][0],
        service("cart")
    );
    assert_eq!(
        all_rows(&db, &infra, Check::UnattributedIncidents)[0][0],
        text("T1")
    );
}

#[test]
fn a_page_is_a_slice_of_the_same_rows_with_the_whole_count() {
    let db = stored();
    let paging = Paging {
        page: 2,
        per_page: 1,
    };
    let table = rows(
        &db.conn,
        &settings(),
        &Known::read(&db.conn, &settings()).unwrap(),
        &everything(),
        Check::UnstoredShas,
        paging,
    )
    .unwrap();
    assert_eq!(table.total, 3);
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.rows[0][3], Cell::Sha(Some("zz".into())));
    assert_eq!(table.paging, paging);
}

#[test]
fn the_newest_delivery_of_each_source_comes_first_whatever_the_view() {
    let db = stored();
    let expected = vec![
        LastDelivery {
            source: "test".into(),
            received_at: at("2026-03-10T00:00:00Z"),
            deliveries: typed_lines().len() as i64,
        },
        LastDelivery {
            source: "github".into(),
            received_at: at("2026-03-08T00:00:00Z"),
            deliveries: 4,
        },
        LastDelivery {
            source: "gitlab".into(),
            received_at: at("2026-03-05T10:00:00Z"),
            deliveries: 1,
        },
    ];
    assert_eq!(health(&db, &everything()).last_delivery, expected);
    assert_eq!(
        health(&db, &view(Some("shop"), None)).last_delivery,
        expected
    );
}

#[test]
fn checks_parse_from_their_slugs_and_say_what_to_do() {
    for check in Check::ALL {
        assert_eq!(Check::parse(check.slug()), Some(check));
        assert!(!check.title().is_empty() && !check.advice().is_empty());
    }
    assert_eq!(Check::parse("unknown"), None);
    assert!(
        Check::UnmappedDeliveries
            .advice()
            .contains("shiplog replay")
    );
}
