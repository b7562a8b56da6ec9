//! The SQL half of SPEC §3 (attribution, failure, recovery, rework) on tiny
//! hand-computed event sets in a real DuckDB database, written by the real batch
//! writer and derived by the real `Deriver`.

use std::collections::BTreeSet;

use duckdb::Connection;
use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::store::{Staging, Store, write_batch};
use shiplog_ingest::typed_delivery;
use shiplog_model::{ServiceName, Settings};

use super::{Deriver, Owed, Payment};

/// Stores `batches` (each one transaction, in order) as the writer does, and pays the
/// derived facts after each; checks after each that they are what recomputing every
/// service whole gives.
pub(crate) fn store(batches: &[&[&str]]) -> Connection {
    store_paying(batches).0
}

/// [`store`], with what the payments did in all.
fn store_paying(batches: &[&[&str]]) -> (Connection, Payment) {
    store_paying_with(Settings::default(), batches)
}

/// [`store_paying`] derived with `settings`.
fn store_paying_with(settings: Settings, batches: &[&[&str]]) -> (Connection, Payment) {
    let mut paid = Payment::default();
    let store = Store::open_in_memory().unwrap();
    let mut conn = store.into_connection();
    let mut staging = Staging::for_sole_writer(&conn).unwrap();
    let mut deriver = Deriver::new(settings);
    let mut seq = 1;
    for batch in batches {
        let deliveries: Vec<_> = batch
            .iter()
            .map(|line| {
                typed_delivery(
                    "test",
                    parse_event_text(1, line).unwrap(),
                    chrono::Utc::now(),
                )
            })
            .collect();
        let tx = conn.transaction().unwrap();
        let result = staging.write(&tx, &deliveries, seq).unwrap();
        let touched = &result.touched;
        let owed = Owed {
            services: &touched.services,
            repos: &touched.repos,
            commits: &touched.appended.commits,
            deployments: &touched.appended.deployments,
            incidents: &touched.appended.incidents,
        };
        let payment = deriver.pay(&tx, owed).unwrap();
        paid.recomputed += payment.recomputed;
        paid.extended += payment.extended;
        tx.commit().unwrap();
        assert_recomputed_alike(&mut conn, &deriver);
        seq += deliveries.len() as i64;
    }
    (conn, paid)
}

/// Every table the derivation writes, sorted.
fn derived(conn: &Connection) -> Vec<(&'static str, Vec<String>)> {
    const TABLES: [&str; 8] = [
        "deploy_facts",
        "change_set_members",
        "lead_time_samples",
        "incident_attribution",
        "deployment_outcomes",
        "environment_heads",
        "walk_reached",
        "walk_missing",
    ];
    TABLES
        .iter()
        .map(|table| {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY ALL"))
                .unwrap();
            let rows = stmt
                .query_map([], |row| {
                    let values: Vec<duckdb::types::Value> = (0..row.as_ref().column_count())
                        .map(|i| row.get(i))
                        .collect::<Result<_, _>>()?;
                    Ok(format!("{values:?}"))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            (*table, rows)
        })
        .collect()
}

/// Asserts that the derived facts as paid are what recomputing everything gives.
fn assert_recomputed_alike(conn: &mut Connection, deriver: &Deriver) {
    let paid = derived(conn);
    let tx = conn.transaction().unwrap();
    deriver.refresh_all(&tx).unwrap();
    let recomputed = derived(&tx);
    tx.rollback().unwrap();
    for ((table, paid), (_, recomputed)) in paid.iter().zip(&recomputed) {
        assert_eq!(
            paid, recomputed,
            "{table} as paid (left) differs from a whole recomputation (right)"
        );
    }
}

pub(crate) fn deploy(id: &str, service: &str, sha: &str, finished_at: &str) -> String {
    format!(
        r#"{{"type":"deployment","id":"{id}","service":"{service}","repo":"acme/shop","sha":"{sha}","finished_at":"{finished_at}"}}"#
    )
}

pub(crate) fn change(sha: &str, parents: &[&str], at: &str) -> String {
    let parents: Vec<String> = parents.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        r#"{{"type":"change","repo":"acme/shop","sha":"{sha}","parents":[{}],"committed_at":"{at}"}}"#,
        parents.join(",")
    )
}

fn attribution(conn: &Connection, incident: &str) -> (Option<String>, Option<String>) {
    conn.query_row(
        "SELECT deployment_id, rule FROM incident_attribution WHERE incident_id = ?",
        [incident],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// (failed, recovered_at as text, rework) of a deployment.
fn outcome(conn: &Connection, id: &str) -> (bool, Option<String>, bool) {
    conn.query_row(
        "SELECT failed, strftime(recovered_at, '%Y-%m-%dT%H:%M:%S'), rework FROM deployment_outcomes WHERE deployment_id = ?",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

const A: &str = "2026-03-02T10:00:00Z";

fn graph() -> Vec<String> {
    vec![
        change("a", &[], "2026-03-01T08:00:00Z"),
        change("b", &["a"], "2026-03-02T08:00:00Z"),
        change("c", &["b"], "2026-03-03T08:00:00Z"),
        deploy("d1", "shop", "a", A),
        deploy("d2", "shop", "c", "2026-03-03T10:00:00Z"),
    ]
}

fn with(extra: &[String]) -> Vec<String> {
    graph().into_iter().chain(extra.iter().cloned()).collect()
}

pub(crate) fn run(lines: &[String]) -> Connection {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    store(&[&refs])
}

#[test]
fn rule_a_attributes_to_the_named_deployment_even_of_another_service() {
    let conn = run(&with(&[
        deploy("o1", "other", "zz", "2026-03-01T00:00:00Z"),
        r#"{"type":"incident","id":"I","service":"shop","opened_at":"2026-03-03T11:00:00Z","deployment_id":"o1"}"#.into(),
    ]));
    assert_eq!(
        attribution(&conn, "I"),
        (Some("o1".into()), Some("a".into()))
    );
    assert!(
        outcome(&conn, "o1").0,
        "the named deployment of `other` failed"
    );
    assert!(!outcome(&conn, "d2").0);
}

#[test]
fn rule_a_naming_a_failed_attempt_falls_through_to_the_later_rules() {
    let conn = run(&with(&[
        r#"{"type":"deployment","id":"x","service":"shop","sha":"c","status":"failure","finished_at":"2026-03-03T09:00:00Z"}"#.into(),
        r#"{"type":"incident","id":"I","service":"shop","opened_at":"2026-03-03T11:00:00Z","deployment_id":"x"}"#.into(),
    ]));
    assert_eq!(
        attribution(&conn, "I"),
        (Some("d2".into()), Some("c".into()))
    );
}

#[test]
fn rule_b_attributes_a_sha_to_the_earliest_deployment_whose_change_set_holds_it() {
    let conn = run(&with(&[
        deploy("d3", "shop", "c", "2026-03-04T10:00:00Z"),
        r#"{"type":"incident","id":"I","service":"shop","opened_at":"2026-03-05T11:00:00Z","sha":"b"}"#.into(),
    ]));
    // b entered with d2 (change set {b, c}); d3 is a redeploy of c.
    assert_eq!(
        attribution(&conn, "I"),
        (Some("d2".into()), Some("b".into()))
    );
}

#[test]
fn rule_c_takes_the_latest_deployment_within_the_window_inclusive() {
    let conn = run(&with(&[
        // Exactly 168 h after d2 finished: still inside the window.
        r#"{"type":"incident","id":"edge","service":"shop","opened_at":"2026-03-10T10:00:00Z"}"#
            .into(),
        // One second later: outside.
        r#"{"type":"incident","id":"late","service":"shop","opened_at":"2026-03-10T10:00:01Z"}"#
            .into(),
        // At the very instant d2 finished: "finished before" is strict, so d1.
        r#"{"type":"incident","id":"same","service":"shop","opened_at":"2026-03-03T10:00:00Z"}"#
            .into(),
    ]));
    assert_eq!(
        attribution(&conn, "edge"),
        (Some("d2".into()), Some("c".into()))
    );
    assert_eq!(
        attribution(&conn, "late"),
        (None, None),
        "rule d: unattributed"
    );
    assert_eq!(
        attribution(&conn, "same"),
        (Some("d1".into()), Some("c".into()))
    );
}

#[test]
fn incident_update_resolves_the_failed_deployment() {
    let opened = r#"{"type":"incident","id":"I","service":"shop","opened_at":"2026-03-03T11:00:00Z","deployment_id":"d2"}"#;
    let resolved = r#"{"type":"incident","id":"I","service":"shop","opened_at":"2026-03-03T11:00:00Z","resolved_at":"2026-03-03T13:30:00Z"}"#;
    let lines = graph();
    let first: Vec<&str> = lines.iter().map(String::as_str).chain([opened]).collect();
    let conn = store(&[&first, &[resolved]]);
    assert_eq!(
        outcome(&conn, "d2"),
        (true, Some("2026-03-03T13:30:00".into()), false)
    );
    // A late "opened" event with resolved_at null leaves it resolved.
    let conn = store(&[
        &first,
        &[resolved],
        &[
            r#"{"type":"incident","id":"I","service":"shop","opened_at":"2026-03-03T11:00:00Z","resolved_at":null,"title":"x"}"#,
        ],
    ]);
    assert_eq!(
        outcome(&conn, "d2").1.as_deref(),
        Some("2026-03-03T13:30:00")
    );
}

#[test]
fn a_deployment_with_an_open_incident_is_failed_once_and_not_recovered() {
    let conn = run(&with(&[
        r#"{"type":"incident","id":"I1","service":"shop","opened_at":"2026-03-03T11:00:00Z","resolved_at":"2026-03-03T12:00:00Z"}"#.into(),
        r#"{"type":"incident","id":"I2","service":"shop","opened_at":"2026-03-03T12:00:00Z"}"#.into(),
        deploy("d3", "shop", "d", "2026-03-04T10:00:00Z"),
    ]));
    let failed: i64 = conn
        .query_row(
            "SELECT count(*) FROM deployment_outcomes WHERE failed",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed, 1);
    assert_eq!(outcome(&conn, "d2"), (true, None, false));
    assert!(
        outcome(&conn, "d3").2,
        "the deployment after a failed one is rework"
    );
}

#[test]
fn rollback_recovers_at_the_rollbacks_finish_and_is_rework() {
    let conn = run(&with(&[deploy("d3", "shop", "a", "2026-03-03T12:00:00Z")]));
    assert_eq!(
        outcome(&conn, "d2"),
        (true, Some("2026-03-03T12:00:00".into()), false)
    );
    assert_eq!(outcome(&conn, "d3"), (false, None, true));
}

#[test]
fn derived_facts_do_not_depend_on_arrival_order() {
    let mut lines = with(&[
        deploy("d3", "shop", "b", "2026-03-04T10:00:00Z"),
        r#"{"type":"incident","id":"I","service":"shop","opened_at":"2026-03-03T11:00:00Z","sha":"c"}"#.into(),
    ]);
    let snapshot = |conn: &Connection| -> Vec<(String, bool, Option<String>, bool)> {
        let mut stmt = conn
            .prepare("SELECT deployment_id, failed, strftime(recovered_at, '%c'), rework FROM deployment_outcomes ORDER BY 1")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let sorted = snapshot(&run(&lines));
    lines.reverse();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let one_by_one: Vec<&[&str]> = refs.iter().map(std::slice::from_ref).collect();
    assert_eq!(snapshot(&store(&one_by_one)), sorted);
    assert!(
        sorted
            .iter()
            .any(|(id, failed, _, _)| id == "d2" && *failed),
        "{sorted:?}"
    );
}

#[test]
fn refresh_of_unknown_services_is_harmless() {
    let conn = run(&graph());
    Deriver::new(Settings::default())
        .refresh(
            &conn,
            &BTreeSet::from([ServiceName::parse("nobody").unwrap()]),
            &BTreeSet::new(),
        )
        .unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM deploy_facts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn a_monorepo_service_with_paths_counts_only_the_commits_that_touch_them() {
    use shiplog_ingest::store::Delivery;
    use shiplog_model::{Change, CommitSha, Event, RepoName, ServiceSettings, parse_timestamp};

    // a ← b (checkout's file) ← c (search's file) ← d (files unknown: kept by both).
    let commit = |sha: &str, parent: Option<&str>, at: &str, paths: Option<&[&str]>| Change {
        repo: RepoName::parse("acme/shop").unwrap(),
        sha: CommitSha::parse(sha).unwrap(),
        parents: Some(
            parent
                .map(|p| CommitSha::parse(p).unwrap())
                .into_iter()
                .collect(),
        ),
        committed_at: parse_timestamp(at).unwrap(),
        authored_at: None,
        author: None,
        message: None,
        pr: None,
        paths: paths.map(|p| p.iter().map(|f| (*f).to_owned()).collect()),
    };
    let commits = [
        commit("a", None, "2026-03-01T09:00:00Z", Some(&["README.md"])),
        commit(
            "b",
            Some("a"),
            "2026-03-02T09:00:00Z",
            Some(&["services/checkout/pay.go"]),
        ),
        commit(
            "c",
            Some("b"),
            "2026-03-02T10:00:00Z",
            Some(&["services/search-v2/q.go", "services/search/q.go"]),
        ),
        commit("d", Some("c"), "2026-03-02T11:00:00Z", None),
    ];
    let mut deliveries: Vec<Delivery> = commits
        .into_iter()
        .map(|c| Delivery {
            source: "test".into(),
            event_type: "change".into(),
            delivery_key: format!("change:{}", c.sha.as_str()),
            received_at: chrono::Utc::now(),
            headers: None,
            body: "{}".into(),
            events: vec![Event::Change(c)],
            unmapped: None,
            replayed: false,
        })
        .collect();
    for (id, service, sha, at) in [
        ("k1", "checkout", "a", "2026-03-01T12:00:00Z"),
        ("k2", "checkout", "d", "2026-03-02T12:00:00Z"),
        ("s1", "search", "a", "2026-03-01T12:00:00Z"),
        ("s2", "search", "d", "2026-03-02T12:00:00Z"),
    ] {
        let line = deploy(id, service, sha, at);
        deliveries.push(typed_delivery(
            "test",
            parse_event_text(1, &line).unwrap(),
            chrono::Utc::now(),
        ));
    }
    let mut settings = Settings::default();
    for (service, folder) in [
        ("checkout", "services/checkout"),
        ("search", "services/search/"),
    ] {
        settings.services.insert(
            service.into(),
            ServiceSettings {
                repo: Some("acme/shop".into()),
                paths: vec![folder.into()],
                ..ServiceSettings::default()
            },
        );
    }

    let mut conn = Store::open_in_memory().unwrap().into_connection();
    let tx = conn.transaction().unwrap();
    write_batch(&tx, &deliveries, 1).unwrap();
    Deriver::new(settings).refresh_all(&tx).unwrap();
    tx.commit().unwrap();

    // The shas a derived table holds for a deployment (a table name of ours).
    let shas = |table: &str, deployment: &str| -> Vec<String> {
        let sql = format!("SELECT sha FROM {table} WHERE deployment_id = ? ORDER BY sha");
        let mut stmt = conn.prepare(&sql).unwrap();
        stmt.query_map([deployment], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let members = |deployment| shas("change_set_members", deployment);
    let samples = |deployment| shas("lead_time_samples", deployment);
    assert_eq!(members("k2"), ["b", "d"]);
    assert_eq!(samples("k2"), ["b", "d"]);
    // `services/search/` holds `services/search/q.go`, not `services/search-v2/q.go`.
    assert_eq!(members("s2"), ["c", "d"]);
    assert_eq!(samples("s2"), ["c", "d"]);
    let size: i32 = conn
        .query_row(
            "SELECT change_set_size FROM deploy_facts WHERE deployment_id = 'k2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(size, 2);
}

#[test]
fn samples_carry_their_repository_and_pull_request_and_facts_whether_the_sha_is_on_the_graph() {
    let conn = store(&[&[
        &change("a", &[], "2026-03-01T08:00:00Z"),
        r#"{"type":"change","repo":"acme/shop","sha":"b","parents":["a"],"committed_at":"2026-03-02T08:00:00Z","pr":{"number":7,"first_commit_at":"2026-03-01T20:00:00Z","opened_at":"2026-03-02T06:00:00Z","merged_at":"2026-03-02T08:00:00Z"}}"#,
        // A pull request that says when it was opened but not when it was merged.
        r#"{"type":"change","repo":"acme/shop","sha":"c","parents":["b"],"committed_at":"2026-03-03T08:00:00Z","pr":{"number":8,"opened_at":"2026-03-03T07:00:00Z"}}"#,
        &deploy("d1", "shop", "a", "2026-03-01T10:00:00Z"),
        &deploy("d2", "shop", "c", "2026-03-03T10:00:00Z"),
        &deploy("d3", "shop", "x", "2026-03-04T10:00:00Z"),
    ]]);
    let mut stmt = conn
        .prepare(
            "SELECT sha, repo, strftime(pr_first_commit_at, '%dT%H'), strftime(pr_opened_at, '%dT%H'),
                    strftime(pr_merged_at, '%dT%H')
             FROM lead_time_samples WHERE deployment_id = 'd2' ORDER BY sha",
        )
        .unwrap();
    type Sample = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let samples: Vec<Sample> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        samples,
        [
            (
                "b".into(),
                some("acme/shop"),
                some("01T20"),
                some("02T06"),
                some("02T08")
            ),
            ("c".into(), some("acme/shop"), None, some("03T07"), None),
        ]
    );
    let on_graph = |id: &str| -> bool {
        conn.query_row(
            "SELECT sha_in_graph FROM deploy_facts WHERE deployment_id = ?",
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!(on_graph("d1") && on_graph("d2"));
    assert!(!on_graph("d3"), "no commit x is stored");
}

fn on(environment: &str, id: &str, sha: &str, repo: &str, finished_at: &str) -> String {
    format!(
        r#"{{"type":"deployment","id":"{id}","service":"shop","environment":"{environment}","repo":"{repo}","sha":"{sha}","finished_at":"{finished_at}"}}"#
    )
}

fn heads(conn: &Connection) -> Vec<(String, bool, String, Option<i32>)> {
    conn.prepare(
        "SELECT COALESCE(environment, '-'), production, deployment_id, commits_ahead
         FROM environment_heads WHERE service = 'shop' ORDER BY 1",
    )
    .unwrap()
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn each_environment_keeps_its_newest_success_and_how_far_it_is_ahead_of_production() {
    let conn = store(&[
        &[
            &change("a", &[], "2026-03-01T00:00:00Z"),
            &change("b", &["a"], "2026-03-01T01:00:00Z"),
            &change("c", &["a"], "2026-03-01T02:00:00Z"),
            &change("m", &["b", "c"], "2026-03-01T03:00:00Z"),
        ],
        &[
            &on("production", "p1", "a", "acme/shop", "2026-03-02T00:00:00Z"),
            &on("production", "p2", "b", "acme/shop", "2026-03-03T00:00:00Z"),
            // A failed production attempt is not what runs there.
            r#"{"type":"deployment","id":"p3","service":"shop","environment":"production","repo":"acme/shop","sha":"m","status":"failure","finished_at":"2026-03-04T00:00:00Z"}"#,
            &on("staging", "s1", "b", "acme/shop", "2026-03-02T12:00:00Z"),
            &on("staging", "s2", "m", "acme/shop", "2026-03-03T12:00:00Z"),
            // Not a commit of the stored graph, and another repository.
            &on("qa", "q1", "zzz", "acme/shop", "2026-03-03T13:00:00Z"),
            &on("preview", "v1", "m", "acme/other", "2026-03-03T14:00:00Z"),
        ],
    ]);
    assert_eq!(
        heads(&conn),
        vec![
            ("preview".into(), false, "v1".into(), None),
            ("production".into(), true, "p2".into(), None),
            ("qa".into(), false, "q1".into(), None),
            // m and c: b's history is in production already.
            ("staging".into(), false, "s2".into(), Some(2)),
        ]
    );
    // Production catches up: staging is ahead by nothing.
    let conn = store(&[
        &[
            &change("a", &[], "2026-03-01T00:00:00Z"),
            &change("m", &["a"], "2026-03-01T03:00:00Z"),
        ],
        &[&on(
            "staging",
            "s1",
            "m",
            "acme/shop",
            "2026-03-02T00:00:00Z",
        )],
        &[&on(
            "production",
            "p1",
            "m",
            "acme/shop",
            "2026-03-03T00:00:00Z",
        )],
    ]);
    assert_eq!(
        heads(&conn),
        vec![
            ("production".into(), true, "p1".into(), None),
            ("staging".into(), false, "s1".into(), Some(0)),
        ]
    );
}

#[test]
fn a_deployment_naming_no_repository_is_walked_on_the_only_one_storing_its_sha() {
    let bare = |id: &str, sha: &str, at: &str| {
        format!(
            r#"{{"type":"deployment","id":"{id}","service":"shop","sha":"{sha}","finished_at":"{at}"}}"#
        )
    };
    let elsewhere = r#"{"type":"change","repo":"acme/fork","sha":"shared","parents":[],"committed_at":"2026-03-01T00:00:00Z"}"#;
    let conn = store(&[&[
        &change("a", &[], "2026-03-01T00:00:00Z"),
        &change("b", &["a"], "2026-03-01T02:00:00Z"),
        &change("shared", &["b"], "2026-03-01T03:00:00Z"),
        elsewhere,
        &bare("d1", "a", "2026-03-01T04:00:00Z"),
        &bare("d2", "b", "2026-03-01T06:00:00Z"),
        // Stored in two repositories: which one is unknown.
        &bare("d3", "shared", "2026-03-01T08:00:00Z"),
    ]]);
    let facts: Vec<(String, Option<String>, bool, i32)> = conn
        .prepare(
            "SELECT deployment_id, repo, sha_in_graph, change_set_size FROM deploy_facts ORDER BY 1",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        facts,
        vec![
            ("d1".into(), Some("acme/shop".into()), true, 1),
            ("d2".into(), Some("acme/shop".into()), true, 1),
            ("d3".into(), None, false, 1),
        ]
    );
    let hours: Vec<(String, f64)> = conn
        .prepare("SELECT sha, hours FROM lead_time_samples ORDER BY sha")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        hours,
        vec![("a".into(), 4.0), ("b".into(), 4.0)],
        "d3's sha is on no graph: it has no sample"
    );
}

fn incident(id: &str, opened_at: &str, rest: &str) -> String {
    format!(r#"{{"type":"incident","id":"{id}","service":"shop","opened_at":"{opened_at}"{rest}}}"#)
}

/// One event per batch, as CI and incident tools post them: commits, staging then
/// production, a merged branch, a rollback and a redeploy, incidents for each rule
/// arriving before and after the deployments they fall on, a walk that stops at a
/// parent not stored yet and the parent arriving later. `store` checks after every
/// payment that the facts are what a whole recomputation gives; most payments extend
/// them instead.
#[test]
fn one_event_at_a_time_extends_the_facts_as_recomputing_them_would() {
    let repo = "acme/shop";
    let lines = [
        change("a", &[], "2026-03-01T08:00:00Z"),
        on("production", "d1", "a", repo, "2026-03-01T09:00:00Z"),
        change("b", &["a"], "2026-03-01T10:00:00Z"),
        change("c", &["b"], "2026-03-01T11:00:00Z"),
        on("staging", "s1", "c", repo, "2026-03-01T11:30:00Z"),
        on("production", "d2", "c", repo, "2026-03-01T12:00:00Z"),
        incident("after-d2", "2026-03-01T12:30:00Z", ""),
        change("f1", &["c"], "2026-03-01T13:00:00Z"),
        change("m1", &["c"], "2026-03-01T13:10:00Z"),
        incident("on-m1", "2026-03-01T15:00:00Z", r#","sha":"m1""#),
        change("m2", &["m1", "f1"], "2026-03-01T13:20:00Z"),
        on("staging", "s2", "m2", repo, "2026-03-01T13:30:00Z"),
        on("production", "d3", "m2", repo, "2026-03-01T14:00:00Z"),
        on("production", "d4", "c", repo, "2026-03-01T14:30:00Z"),
        incident(
            "names-d4",
            "2026-03-01T16:00:00Z",
            r#","deployment_id":"d4""#,
        ),
        on("production", "d5", "c", repo, "2026-03-01T15:30:00Z"),
        // Opened after d6, which arrives later.
        incident(
            "before-d6",
            "2026-03-01T18:00:00Z",
            r#","resolved_at":"2026-03-01T19:00:00Z""#,
        ),
        change("m3", &["m2"], "2026-03-01T16:00:00Z"),
        on("production", "d6", "m3", repo, "2026-03-01T17:00:00Z"),
        // A walk stops at `w`, not stored yet; storing it recomputes the service.
        change("x", &["w"], "2026-03-01T20:00:00Z"),
        on("production", "d7", "x", repo, "2026-03-01T21:00:00Z"),
        change("w", &["m3"], "2026-03-01T19:00:00Z"),
        change("y", &["x"], "2026-03-01T22:00:00Z"),
        on("staging", "s3", "y", repo, "2026-03-01T22:30:00Z"),
        on("production", "d8", "y", repo, "2026-03-01T23:00:00Z"),
        // An attempt that failed changes nothing.
        format!(
            r#"{{"type":"deployment","id":"d9","service":"shop","repo":"{repo}","sha":"y","status":"failure","finished_at":"2026-03-02T00:00:00Z"}}"#
        ),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let one_by_one: Vec<&[&str]> = refs.iter().map(std::slice::from_ref).collect();
    let (conn, paid) = store_paying(&one_by_one);

    let kinds: Vec<(String, String, i32)> = conn
        .prepare("SELECT deployment_id, kind, change_set_size FROM deploy_facts ORDER BY position")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let kind = |id: &str, kind: &str, size: i32| (id.to_string(), kind.to_string(), size);
    assert_eq!(
        kinds,
        [
            kind("d1", "first", 1),
            kind("d2", "change", 2),
            kind("d3", "change", 3),
            kind("d4", "rollback", 0),
            kind("d5", "redeploy", 0),
            kind("d6", "change", 1),
            kind("d7", "change", 2),
            kind("d8", "change", 1),
        ]
    );
    assert_eq!(
        attribution(&conn, "after-d2"),
        (Some("d2".into()), Some("c".into()))
    );
    assert_eq!(
        attribution(&conn, "on-m1"),
        (Some("d3".into()), Some("b".into()))
    );
    assert_eq!(
        attribution(&conn, "names-d4"),
        (Some("d4".into()), Some("a".into()))
    );
    assert_eq!(
        attribution(&conn, "before-d6"),
        (Some("d6".into()), Some("c".into()))
    );
    assert_eq!(
        heads(&conn),
        [
            ("production".into(), true, "d8".into(), None),
            ("staging".into(), false, "s3".into(), Some(0)),
        ]
    );
    // Recomputed whole: d1 (the first), d4 and d5 (production is behind what staging
    // runs, so how far staging is ahead takes the whole graph), d7 (its walk stops at
    // `w`, not stored) and `w`. Extended: s1, d2, s2, d3, d6, s3, d8 and d9.
    assert_eq!(
        paid,
        Payment {
            recomputed: 5,
            extended: 8
        }
    );
}

/// The scale generator's history for five services over a week (staging,
/// rollbacks, redeploys, merges whose pull request arrives apart, incidents opened
/// and resolved), stored in batches of 30 lines in arrival order, as a server takes
/// it in: after every batch the facts are what a whole recomputation gives (`store`
/// checks), and most payments extend them.
#[test]
fn a_generated_history_stored_in_small_batches_derives_as_recomputing_it_would() {
    let options = shiplog_sample::ScaleOptions {
        seed: 7,
        services: 5,
        days: 7,
        end: chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    };
    let mut out = Vec::new();
    shiplog_sample::generate_scale(&options, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let batches: Vec<&[&str]> = lines.chunks(30).collect();
    let (conn, paid) = store_paying(&batches);
    let deployments: i64 = conn
        .query_row("SELECT count(*) FROM deploy_facts", [], |r| r.get(0))
        .unwrap();
    assert!(deployments > 30, "{deployments} production deployments");
    assert!(paid.extended > paid.recomputed, "{paid:?}");
}

/// One release per region (`prod-eu`, `prod-us`), each batch alone so that the
/// appended path sees every deployment: c1 to Europe at 03-02 10:00 and the US two
/// hours later; c2 to Europe at 03-04 06:00 and the US 27 hours later. With a 24-hour
/// window the US's c1 is the same release reaching another region (left out), its
/// c2 is not (a deployment, a redeploy); without the option all four count.
#[test]
fn a_release_reaching_another_region_within_the_window_is_counted_once() {
    let region = |id: &str, env: &str, sha: &str, at: &str| {
        format!(
            r#"{{"type":"deployment","id":"{id}","service":"shop","environment":"{env}","repo":"acme/shop","sha":"{sha}","finished_at":"{at}"}}"#
        )
    };
    let lines = [
        change("c1", &[], "2026-03-02T00:00:00Z"),
        change("c2", &["c1"], "2026-03-04T00:00:00Z"),
        region("eu1", "prod-eu", "c1", "2026-03-02T10:00:00Z"),
        region("us1", "Prod-US", "c1", "2026-03-02T12:00:00Z"),
        region("eu2", "prod-eu", "c2", "2026-03-04T06:00:00Z"),
        region("us2", "Prod-US", "c2", "2026-03-05T09:00:00Z"),
    ];
    let batches: Vec<[&str; 1]> = lines.iter().map(|l| [l.as_str()]).collect();
    let batches: Vec<&[&str]> = batches.iter().map(|b| &b[..]).collect();
    let facts = |window: Option<u32>| {
        let mut settings = Settings::default();
        settings.set_production_environments(["prod-*"]);
        settings.multi_region_window_hours = window;
        let (conn, _) = store_paying_with(settings, &batches);
        let mut stmt = conn
            .prepare(
                "SELECT deployment_id, kind, change_set_size FROM deploy_facts ORDER BY position",
            )
            .unwrap();
        let rows: Vec<(String, String, i32)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let heads: Vec<String> = conn
            .prepare("SELECT deployment_id FROM environment_heads ORDER BY deployment_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (rows, heads)
    };
    let fact = |id: &str, kind: &str, size: i32| (id.to_owned(), kind.to_owned(), size);
    let (off, heads_off) = facts(None);
    assert_eq!(
        off,
        vec![
            fact("eu1", "first", 1),
            fact("us1", "redeploy", 0),
            fact("eu2", "change", 1),
            fact("us2", "redeploy", 0),
        ]
    );
    let (on, heads_on) = facts(Some(24));
    assert_eq!(
        on,
        vec![
            fact("eu1", "first", 1),
            fact("eu2", "change", 1),
            // 27 h after Europe's: past the window, a deployment of its own.
            fact("us2", "redeploy", 0),
        ]
    );
    // What runs where is every region's either way.
    assert_eq!(heads_off, vec!["eu2".to_owned(), "us2".to_owned()]);
    assert_eq!(heads_on, heads_off);
}
