//! Hand-computed sequences, one per rule of SPEC §3.1-3.3.

use super::*;

const H: i64 = 3_600_000_000;

fn commit(parents: &[&str], at_hours: i64) -> Commit {
    Commit {
        parents: parents.iter().map(|p| p.to_string()).collect(),
        committed_at: at_hours * H,
        first_commit_at: None,
        opened_at: None,
        merged_at: None,
    }
}

fn graph(commits: &[(&str, Commit)]) -> HashMap<String, Graph> {
    let g: Graph = commits
        .iter()
        .map(|(s, c)| (s.to_string(), c.clone()))
        .collect();
    HashMap::from([("acme/shop".to_string(), g)])
}

fn deploy(id: &str, sha: &str, at_hours: i64) -> DeploymentInput {
    DeploymentInput {
        id: id.into(),
        sha: sha.into(),
        finished_at: at_hours * H,
        repo: Some("acme/shop".into()),
        commits: None,
    }
}

fn set(facts: &DeploymentFacts) -> Vec<&str> {
    let mut s: Vec<&str> = facts.change_set.iter().map(String::as_str).collect();
    s.sort();
    s
}

/// a <- b <- c on main.
fn line() -> HashMap<String, Graph> {
    graph(&[
        ("a", commit(&[], 0)),
        ("b", commit(&["a"], 1)),
        ("c", commit(&["b"], 2)),
    ])
}

#[test]
fn first_deployment_has_only_its_head() {
    let f = derive_sequence(&[deploy("d1", "c", 10)], &line());
    assert_eq!(f[0].kind, Kind::First);
    assert_eq!(set(&f[0]), ["c"]);
    assert_eq!(f[0].samples, vec![("c".to_string(), 8.0)]);
}

#[test]
fn change_set_is_what_earlier_heads_do_not_reach() {
    let f = derive_sequence(&[deploy("d1", "a", 5), deploy("d2", "c", 10)], &line());
    assert_eq!(f[1].kind, Kind::Change);
    assert_eq!(set(&f[1]), ["b", "c"]);
    let mut hours: Vec<f64> = f[1].samples.iter().map(|s| s.1).collect();
    hours.sort_by(f64::total_cmp);
    assert_eq!(hours, [8.0, 9.0]);
}

#[test]
fn merge_commit_brings_its_branch_into_the_change_set() {
    // main: a <- b; branch off a: x <- y; merge m = (b, y).
    let g = graph(&[
        ("a", commit(&[], 0)),
        ("b", commit(&["a"], 1)),
        ("x", commit(&["a"], 2)),
        ("y", commit(&["x"], 3)),
        ("m", commit(&["b", "y"], 4)),
    ]);
    let f = derive_sequence(&[deploy("d1", "b", 5), deploy("d2", "m", 6)], &g);
    assert_eq!(set(&f[1]), ["m", "x", "y"]);
}

#[test]
fn squash_commit_starts_at_the_pull_requests_first_commit() {
    let mut g = line();
    g.get_mut("acme/shop")
        .unwrap()
        .get_mut("c")
        .unwrap()
        .first_commit_at = Some(-4 * H);
    let f = derive_sequence(&[deploy("d1", "b", 5), deploy("d2", "c", 10)], &g);
    assert_eq!(f[1].samples, vec![("c".to_string(), 14.0)]);
}

#[test]
fn pull_request_start_never_makes_a_commit_later() {
    let mut g = line();
    g.get_mut("acme/shop")
        .unwrap()
        .get_mut("c")
        .unwrap()
        .first_commit_at = Some(7 * H);
    let f = derive_sequence(&[deploy("d1", "b", 5), deploy("d2", "c", 10)], &g);
    assert_eq!(
        f[1].samples,
        vec![("c".to_string(), 8.0)],
        "the earlier of commit and first commit wins"
    );
}

#[test]
fn explicit_commit_list_replaces_the_walk() {
    let mut d2 = deploy("d2", "c", 10);
    d2.commits = Some(vec![
        ("b".into(), Some(H)),
        ("z".into(), Some(9 * H)),
        ("q".into(), None),
    ]);
    let mut d3 = deploy("d3", "e", 20);
    d3.commits = Some(vec![("z".into(), None), ("e".into(), None)]);
    let f = derive_sequence(&[deploy("d1", "a", 5), d2, d3], &line());
    assert_eq!(set(&f[1]), ["b", "c", "q", "z"]);
    // b from the list, c from the store, z from the list; q has no time at all.
    let mut hours: Vec<f64> = f[1].samples.iter().map(|s| s.1).collect();
    hours.sort_by(f64::total_cmp);
    assert_eq!(hours, [1.0, 8.0, 9.0]);
    assert_eq!(set(&f[2]), ["e"], "z was in an earlier change set");
    assert!(
        f[2].samples.is_empty(),
        "e is neither listed with a time nor stored"
    );
}

#[test]
fn explicit_list_wins_over_the_first_deployment_rule() {
    let mut d1 = deploy("d1", "c", 10);
    d1.commits = Some(vec![("a".into(), None), ("b".into(), None)]);
    let f = derive_sequence(&[d1], &line());
    assert_eq!(set(&f[0]), ["a", "b", "c"]);
}

#[test]
fn a_long_explicit_list_keeps_list_order_and_each_sha_once() {
    // 100,000 listed commits, each twice, and the head among them.
    let shas: Vec<String> = (0..100_000).map(|n| format!("s{n:06}")).collect();
    let mut d2 = deploy("d2", "s050000", 10);
    d2.commits = Some(
        shas.iter()
            .chain(shas.iter().rev())
            .map(|s| (s.clone(), Some(H)))
            .collect(),
    );
    let f = derive_sequence(&[deploy("d1", "a", 5), d2], &line());
    assert_eq!(f[1].change_set, shas, "first occurrence order, no repeats");
    assert_eq!(f[1].samples.len(), 100_000);
    assert!(f[1].samples.iter().all(|(_, hours)| *hours == 9.0));
}

#[test]
fn missing_parent_belongs_to_the_change_set_without_a_sample() {
    let g = graph(&[("a", commit(&[], 0)), ("c", commit(&["b"], 2))]);
    let f = derive_sequence(&[deploy("d1", "a", 5), deploy("d2", "c", 10)], &g);
    assert_eq!(
        set(&f[1]),
        ["b", "c"],
        "the walk stops at b, which is not stored"
    );
    assert_eq!(f[1].samples, vec![("c".to_string(), 8.0)]);
}

#[test]
fn rollback_by_equal_sha_marks_previous_deployment_failed() {
    let f = derive_sequence(
        &[
            deploy("d1", "a", 5),
            deploy("d2", "c", 6),
            deploy("d3", "a", 7),
        ],
        &line(),
    );
    assert_eq!(f[2].kind, Kind::Rollback);
    assert!(f[2].change_set.is_empty());
    assert_eq!(f[1].rolled_back_by, Some(2));
    assert_eq!(f[0].rolled_back_by, None);
}

#[test]
fn rollback_by_ancestor_of_previous_sha() {
    let f = derive_sequence(
        &[
            deploy("d1", "a", 5),
            deploy("d2", "c", 6),
            deploy("d3", "b", 7),
        ],
        &line(),
    );
    assert_eq!(
        f[2].kind,
        Kind::Rollback,
        "b is a proper ancestor of c and was never deployed"
    );
    assert_eq!(f[1].rolled_back_by, Some(2));
}

#[test]
fn redeploy_of_the_same_sha_fails_nothing() {
    let f = derive_sequence(
        &[
            deploy("d1", "a", 5),
            deploy("d2", "c", 6),
            deploy("d3", "c", 7),
        ],
        &line(),
    );
    assert_eq!(f[2].kind, Kind::Redeploy);
    assert!(f[2].change_set.is_empty());
    assert_eq!(f[1].rolled_back_by, None);
}

#[test]
fn redeploy_wins_over_rollback_when_an_older_deployment_had_the_sha() {
    let f = derive_sequence(
        &[
            deploy("d1", "a", 5),
            deploy("d2", "c", 6),
            deploy("d3", "a", 7),
            deploy("d4", "a", 8),
        ],
        &line(),
    );
    assert_eq!(f[3].kind, Kind::Redeploy);
    assert_eq!(f[2].rolled_back_by, None);
}

#[test]
fn negative_lead_times_are_dropped() {
    // c was committed after the deployment finished (clock skew, backdated deploy).
    let g = graph(&[
        ("a", commit(&[], 0)),
        ("b", commit(&["a"], 1)),
        ("c", commit(&["b"], 30)),
    ]);
    let f = derive_sequence(&[deploy("d1", "a", 5), deploy("d2", "c", 10)], &g);
    assert_eq!(set(&f[1]), ["b", "c"]);
    assert_eq!(f[1].samples, vec![("b".to_string(), 9.0)]);
}

#[test]
fn lead_times_past_an_i64_of_microseconds_are_dropped() {
    // chrono's extremes, which a file written before instants were range-checked may
    // hold: the deployment in -262143, the commit in +262142. The difference overflows;
    // wrapped, it read as a lead time of some 60,000 years.
    let min = chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp_micros();
    let max = chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_micros();
    let g = graph(&[(
        "a",
        Commit {
            committed_at: max,
            ..commit(&[], 0)
        },
    )]);
    let d = DeploymentInput {
        finished_at: min,
        ..deploy("d1", "a", 0)
    };
    let f = derive_sequence(&[d], &g);
    assert_eq!(set(&f[0]), ["a"]);
    assert_eq!(f[0].samples, vec![]);
    assert_eq!(lead_time_hours(min, max), None);
    assert_eq!(lead_time_hours(0, 3 * H), Some(3.0));
}

#[test]
fn deployment_without_repository_counts_its_sha_as_unstored() {
    let mut d2 = deploy("d2", "c", 10);
    d2.repo = None;
    let f = derive_sequence(&[deploy("d1", "a", 5), d2], &line());
    assert_eq!(set(&f[1]), ["c"]);
    assert!(f[1].samples.is_empty());
}
