//! Bad input tried by machine (issue 10, item 6): property-based harnesses over every
//! webhook adapter (GitHub, GitLab, ArgoCD, PagerDuty, CDEvents) and their signature
//! checks, the typed-event parser and the body reader (one object, an array, NDJSON).
//!
//! Each is fed arbitrary bytes, arbitrary JSON, and the real payloads of
//! `tests/fixtures` (and the reference events) with mutations: a field deleted, a
//! string replaced by a number, a very long string, unicode or an edge-of-range time, a
//! number replaced by a huge or negative one, a value nested in arrays. Each property
//! holds that nothing panics and that every refusal is an `Err` whose message says
//! something (the routes answer those with a `4xx` and the message); what is accepted
//! is consistent (a webhook mapped to nothing says why, a typed event parses back from
//! its wire form, NDJSON line numbers are real lines).
//!
//! The random properties run `PROPTEST_CASES` cases each (proptest's default, 256);
//! `PROPTEST_RNG_SEED` fixes the seed. Every property prints its cases and parser
//! calls (`-- --nocapture`), and appends `name cases calls` to the file
//! `SHIPLOG_FUZZ_REPORT` names, when set, for the reliability figures. Found failures
//! are not persisted to files: proptest prints the shrunk input, and the fix comes
//! with a test of its own.

mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Write as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{files_under, fixture, fixtures_dir, is_documentation};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestCaseResult, TestRunner};
use serde_json::{Number, Value, json};
use shiplog_ingest::sources::generic::{BodyFormat, parse_body, parse_event, parse_event_text};
use shiplog_ingest::sources::signature::{
    sign_hex, token_matches, verify_buildkite, verify_github, verify_pagerduty, verify_token,
};
use shiplog_ingest::sources::typed_json::to_json;
use shiplog_ingest::sources::{
    Incoming, MapError, Mapping, Routing, Source, argo_rollouts, argocd, map, map_or_keep,
};
use shiplog_ingest::webhook_delivery;
use shiplog_model::ServiceSettings;

// ---------------------------------------------------------------------------------
// Running and counting

/// Parser calls made by one property over all its cases, and what they gave: events
/// (or a signature accepted), nothing with a reason (a delivery the adapter skips), or
/// a refusal with a reason.
#[derive(Debug, Default)]
struct Calls {
    calls: AtomicU64,
    accepted: AtomicU64,
    skipped: AtomicU64,
    refused: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Accepted,
    Skipped,
    Refused,
}

impl Calls {
    /// Counts one call and what it gave.
    fn saw(&self, outcome: Outcome) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let counter = match outcome {
            Outcome::Accepted => &self.accepted,
            Outcome::Skipped => &self.skipped,
            Outcome::Refused => &self.refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn config() -> Config {
    // `Config::default()` reads `PROPTEST_CASES` and `PROPTEST_RNG_SEED`.
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// Prints (and, with `SHIPLOG_FUZZ_REPORT`, records) what a property executed.
fn report(name: &str, cases: u64, calls: &Calls) {
    let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (total, accepted, skipped, refused) = (
        n(&calls.calls),
        n(&calls.accepted),
        n(&calls.skipped),
        n(&calls.refused),
    );
    println!(
        "fuzz {name}: {cases} cases, {total} parser calls ({accepted} accepted, \
         {skipped} skipped with a reason, {refused} refused with a reason), 0 crashes"
    );
    if let Ok(path) = std::env::var("SHIPLOG_FUZZ_REPORT") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
        writeln!(
            file,
            "{name} {cases} {total} {accepted} {skipped} {refused}"
        )
        .expect("the report is writable");
    }
}

/// Runs `property` over `strategy` and reports its executions; fails with proptest's
/// shrunk input (a panic in a parser is caught by proptest and reported the same way).
fn check<S>(name: &str, strategy: S, property: impl Fn(S::Value, &Calls) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let (cases, calls) = (AtomicU64::new(0), Calls::default());
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |value| {
        cases.fetch_add(1, Ordering::Relaxed);
        property(value, &calls)
    });
    let cases = cases.into_inner();
    if let Err(e) = result {
        panic!("{name}, after {cases} cases: {e}");
    }
    report(name, cases, &calls);
}

// ---------------------------------------------------------------------------------
// What goes in

/// Strings that steer the adapters' branches (actions, states, event names, refs),
/// break names (`ALL`, blanks, separators) or sit at the edge of what times and
/// numbers can hold.
const STEERING: &[&str] = &[
    "",
    " ",
    "ALL",
    "a,b",
    "\u{0}",
    "\u{202e}\u{200b}\u{feff}",
    "🚀 déploiement",
    "<script>alert(1)</script>",
    "=HYPERLINK(\"http://x\")",
    "%",
    "%zz",
    "pkg:oci/app@sha256%3A0b31",
    "refs/heads/main",
    "refs/tags/v1.0",
    "0000000000000000000000000000000000000000",
    "9f2c6a1d0e3b4c5d6e7f8091a2b3c4d5e6f70819",
    "closed",
    "merge",
    "merged",
    "opened",
    "labeled",
    "completed",
    "success",
    "failure",
    "failed",
    "canceled",
    "running",
    "incident",
    "production",
    "prd",
    "Running",
    "Succeeded",
    "Error",
    "sync",
    "sync-succeeded",
    "sync-failed",
    "health-degraded",
    "incident.triggered",
    "incident.resolved",
    "pagey.ping",
    "dev.cdevents.service.deployed.0.1.1",
    "dev.cdevents.incident.detected.0.1.0",
    "dev.cdevents.change.merged.0.1.2",
    "dev.cdevents.pipelinerun.finished.0.1.1",
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
    "https://github.com/acme/shop.git",
    "Codertocat/Hello-World",
    "octo-org/octo-repo",
    "2026-03-02T10:15:00Z",
    "2026-03-02 10:15:00 UTC",
    "2015-04-11 10:14:14 -0400",
    "0000-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-23:59",
    "+262143-12-31 23:59:59 +0000",
    "-262143-01-01 00:00:00 UTC",
    "2026-02-30T00:00:00Z",
    "2026-06-30T23:59:60Z",
    "2026-01-01T00:00:00.123456789123Z",
    "1970-01-01 00:00:00",
];

/// Keys the adapters and the typed parser read, so that arbitrary objects reach
/// their fields.
const KEYS: &[&str] = &[
    "action",
    "after",
    "app",
    "artifactId",
    "author",
    "authored_at",
    "branch",
    "commits",
    "committed_at",
    "conclusion",
    "content",
    "context",
    "created_at",
    "data",
    "data_base64",
    "deleted",
    "deployment",
    "deployment_id",
    "deployment_status",
    "environment",
    "event",
    "event_type",
    "finished_at",
    "first_commit_at",
    "full_name",
    "head_branch",
    "head_commit",
    "head_sha",
    "id",
    "iid",
    "incident",
    "issue",
    "label",
    "labels",
    "merge_commit_sha",
    "merged",
    "merged_at",
    "message",
    "name",
    "namespace",
    "number",
    "object_attributes",
    "object_kind",
    "occurred_at",
    "opened_at",
    "parents",
    "path_with_namespace",
    "paths",
    "payload",
    "phase",
    "pr",
    "project",
    "pull_request",
    "ref",
    "repo",
    "repo_url",
    "repository",
    "resolved_at",
    "revision",
    "service",
    "severity",
    "sha",
    "source",
    "specversion",
    "started_at",
    "state",
    "status",
    "subject",
    "team",
    "timestamp",
    "title",
    "type",
    "updated_at",
    "workflow_run",
];

fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        4 => select(STEERING).prop_map(str::to_owned),
        2 => any::<String>(),
        1 => "[0-9a-f]{7,40}",
    ]
}

/// A very long string (past 64 KiB at the longest), of one- to four-byte characters.
fn long_text() -> impl Strategy<Value = String> + Clone {
    (1usize..70_000, select(&["a", "é", "🚀", "<", "\""][..])).prop_map(|(n, s)| s.repeat(n))
}

fn number() -> impl Strategy<Value = Number> + Clone {
    prop_oneof![
        select(&[0i64, -1, 1, i64::MIN, i64::MAX, 1 << 53, -(1 << 53)][..]).prop_map(Number::from),
        Just(Number::from(u64::MAX)),
        any::<i64>().prop_map(Number::from),
        select(&[1e308, -1e308, 0.5, -0.0, 5e-324, 1.0e20][..])
            .prop_map(|f| Number::from_f64(f).expect("finite")),
    ]
}

fn key() -> impl Strategy<Value = String> + Clone {
    prop_oneof![3 => select(KEYS).prop_map(str::to_owned), 1 => "[a-z_]{1,12}"]
}

/// Arbitrary JSON, its objects keyed mostly by the fields the parsers read.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..10)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Arbitrary bytes: random ones, or JSON text with some bytes overwritten or cut off.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (
            json_value(),
            prop::collection::vec((any::<Index>(), any::<u8>()), 0..4),
            any::<Option<Index>>(),
        )
            .prop_map(|(value, flips, cut)| {
                let mut bytes = serde_json::to_vec(&value).expect("serializes");
                for (at, byte) in flips {
                    if !bytes.is_empty() {
                        let i = at.index(bytes.len());
                        bytes[i] = byte;
                    }
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut.index(bytes.len() + 1));
                }
                bytes
            }),
    ]
}

// ---------------------------------------------------------------------------------
// Mutations of real payloads

/// One step from a JSON value to one inside it.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    At(usize),
}

/// What a mutation puts in place of the value it picks.
#[derive(Debug, Clone)]
enum Edit {
    Delete,
    Replace(Value),
    /// The value nested in that many arrays (past serde_json's depth limit of 128 at
    /// the top).
    Nest(usize),
    /// A number negated, a string with `-` before it.
    Negate,
    /// A string cut after that many characters.
    Truncate(Index),
}

#[derive(Debug, Clone)]
struct Mutation {
    at: Index,
    /// Picks among the values whose key a parser reads, when there are any.
    focus: bool,
    edit: Edit,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => Just(Edit::Delete),
        3 => text().prop_map(|s| Edit::Replace(Value::String(s))),
        1 => long_text().prop_map(|s| Edit::Replace(Value::String(s))),
        3 => number().prop_map(|n| Edit::Replace(Value::Number(n))),
        1 => prop_oneof![
            Just(Value::Null),
            Just(Value::Bool(true)),
            Just(json!({})),
            Just(json!([])),
            Just(json!([[[]]])),
            Just(json!([{"sha": 1}, "x", null])),
        ]
        .prop_map(Edit::Replace),
        1 => (1usize..150).prop_map(Edit::Nest),
        1 => Just(Edit::Negate),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(
        (any::<Index>(), prop::bool::weighted(0.75), edit())
            .prop_map(|(at, focus, edit)| Mutation { at, focus, edit }),
        1..5,
    )
}

/// The path to every value inside `value` (not `value` itself), in document order.
fn paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        let children: Vec<(Step, &Value)> = match value {
            Value::Object(map) => map.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Step::At(i), v))
                .collect(),
            _ => Vec::new(),
        };
        for (step, child) in children {
            path.push(step);
            out.push(path.clone());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn is_read_key(path: &[Step]) -> bool {
    matches!(path.last(), Some(Step::Key(k)) if KEYS.contains(&k.as_str()))
}

fn child_mut<'a>(value: &'a mut Value, step: &Step) -> Option<&'a mut Value> {
    match (value, step) {
        (Value::Object(map), Step::Key(k)) => map.get_mut(k),
        (Value::Array(items), Step::At(i)) => items.get_mut(*i),
        _ => None,
    }
}

/// Applies `edit` at `path` (which `paths` gave for this very value).
fn apply_at(value: &mut Value, path: &[Step], edit: &Edit) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut parent = value;
    for step in parent_path {
        match child_mut(parent, step) {
            Some(child) => parent = child,
            None => return,
        }
    }
    if let Edit::Delete = edit {
        match (parent, last) {
            (Value::Object(map), Step::Key(k)) => {
                map.remove(k);
            }
            (Value::Array(items), Step::At(i)) if *i < items.len() => {
                items.remove(*i);
            }
            _ => {}
        }
        return;
    }
    let Some(target) = child_mut(parent, last) else {
        return;
    };
    *target = match (edit, target.take()) {
        (Edit::Replace(new), _) => new.clone(),
        (Edit::Nest(depth), old) => (0..*depth).fold(old, |v, _| Value::Array(vec![v])),
        (Edit::Negate, Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i.checked_neg().unwrap_or(i64::MAX)),
            (None, Some(f)) => Number::from_f64(-f).map_or(Value::Null, Value::Number),
            _ => Value::Null,
        },
        (Edit::Negate, Value::String(s)) => Value::String(format!("-{s}")),
        (Edit::Truncate(at), Value::String(s)) => {
            let keep = at.index(s.chars().count() + 1);
            Value::String(s.chars().take(keep).collect())
        }
        (_, old) => old,
    };
}

fn mutate(value: &Value, mutations: &[Mutation]) -> Value {
    let mut value = value.clone();
    for m in mutations {
        let all = paths(&value);
        let focused: Vec<&Vec<Step>> = all.iter().filter(|p| is_read_key(p)).collect();
        let path = if m.focus && !focused.is_empty() {
            focused[m.at.index(focused.len())]
        } else if all.is_empty() {
            continue;
        } else {
            &all[m.at.index(all.len())]
        };
        let path = path.clone();
        apply_at(&mut value, &path, &m.edit);
    }
    value
}

// ---------------------------------------------------------------------------------
// The real payloads

/// One delivery to an adapter: what the route would hand it.
#[derive(Debug, Clone)]
struct Seed {
    name: String,
    source: Source,
    headers: BTreeMap<String, String>,
    body: Value,
}

fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The `X-GitHub-Event` a fixture is delivered with, read off its path.
fn github_event(path: &str) -> &'static str {
    const BY_PATH: &[(&str, &str)] = &[
        ("workflow_run", "workflow_run"),
        ("workflow_job", "workflow_job"),
        ("deployment_status", "deployment_status"),
        ("check_run", "check_run"),
        ("check-run", "check_run"),
        ("check_suite", "check_suite"),
        ("check-suite", "check_suite"),
        ("deployment", "deployment"),
        ("pull", "pull_request"),
        ("-pr", "pull_request"),
        ("issue", "issues"),
        ("push", "push"),
        ("tag-event", "push"),
        ("ping", "ping"),
        ("release", "release"),
        ("status", "status"),
    ];
    BY_PATH
        .iter()
        .find(|(part, _)| path.contains(part))
        .map_or("push", |(_, event)| event)
}

const GITHUB_EVENTS: &[&str] = &[
    "push",
    "pull_request",
    "deployment_status",
    "workflow_run",
    "issues",
    "ping",
    "deployment",
    "check_run",
    "release",
];

/// The `X-Gitlab-Event` GitLab sends a body of this `object_kind` with.
fn gitlab_event(kind: Option<&str>) -> &'static str {
    match kind {
        Some("push") => "Push Hook",
        Some("tag_push") => "Tag Push Hook",
        Some("merge_request") => "Merge Request Hook",
        Some("pipeline") => "Pipeline Hook",
        Some("deployment") => "Deployment Hook",
        Some("issue" | "work_item") => "Issue Hook",
        Some("build") => "Job Hook",
        Some("release") => "Release Hook",
        _ => "System Hook",
    }
}

const GITLAB_EVENTS: &[&str] = &[
    "Push Hook",
    "Tag Push Hook",
    "Merge Request Hook",
    "Pipeline Hook",
    "Deployment Hook",
    "Issue Hook",
    "Confidential Issue Hook",
    "Job Hook",
    "System Hook",
];

fn json_fixtures(folder: &str) -> Vec<(String, Value)> {
    files_under(&fixtures_dir(folder))
        .into_iter()
        .filter(|path| path.ends_with(".json") && !is_documentation(path))
        .map(|path| {
            let body = fixture(folder, &path);
            let value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{folder}/{path} is not JSON: {e}"));
            (format!("{folder}/{path}"), value)
        })
        .collect()
}

/// What the shipped ArgoCD template renders (see `argocd_fixtures.rs`), for `event`.
fn argocd_body(event: &str) -> Value {
    json!({
        "id": format!("argo-cd/velero-test@2024-03-05T07:33:03Z#{event}"),
        "event": event,
        "app": "velero-test",
        "namespace": "argo-cd",
        "environment": "production",
        "revision": "ea8759964626a583667a2bfd08f334ec2070040a",
        "phase": "Succeeded",
        "health": "Healthy",
        "started_at": "2024-03-05T07:33:03Z",
        "finished_at": "2024-03-05T07:33:04Z",
        "repo_url": "https://github.com/foo/manifests-velero.git",
    })
}

/// What the shipped Argo Rollouts template renders from the aborted canary of
/// `tests/fixtures/argo-rollouts/info-testdata/rollout-aborted/rollout.yaml`, as
/// `event` (`argo_rollouts_fixtures.rs` renders it).
fn argo_rollouts_body(event: &str) -> Value {
    json!({
        "event": event,
        "rollout": "rollout-background-analysis",
        "namespace": "default",
        "environment": "production",
        "revision": null,
        "rollout_revision": "2",
        "image": "argoproj/rollouts-demo:yellow",
        "phase": if event == "rollout-completed" { json!("Healthy") } else { Value::Null },
        "abort": event == "rollout-aborted",
        "aborted_at": "2020-09-22T09:10:05Z",
        "message": null,
        "conditions": [
            {"type": "Completed", "status": "True", "reason": "RolloutCompleted",
             "lastTransitionTime": "2020-09-22T09:20:00Z", "lastUpdateTime": "2020-09-22T09:20:00Z"},
            {"type": "Progressing", "status": "False", "reason": "RolloutAborted",
             "lastTransitionTime": "2020-09-22T09:10:04Z", "lastUpdateTime": "2020-09-22T09:10:04Z"}
        ],
    })
}

/// Every webhook fixture as its sender delivers it; CDEvents three ways (a bare
/// CDEvent, a structured CloudEvent, a binary one with `ce-*` headers).
static SEEDS: LazyLock<Vec<Seed>> = LazyLock::new(|| {
    let mut seeds = Vec::new();
    for (name, body) in json_fixtures("github") {
        let event = github_event(&name);
        let headers = headers(&[("x-github-event", event), ("x-github-delivery", "fuzz-1")]);
        seeds.push(Seed {
            name,
            source: Source::Github,
            headers,
            body,
        });
    }
    for (name, body) in json_fixtures("gitlab") {
        let event = gitlab_event(body.get("object_kind").and_then(Value::as_str));
        let headers = headers(&[("x-gitlab-event", event), ("x-gitlab-event-uuid", "fuzz-1")]);
        seeds.push(Seed {
            name,
            source: Source::Gitlab,
            headers,
            body,
        });
    }
    for (name, body) in json_fixtures("pagerduty") {
        seeds.push(Seed {
            name,
            source: Source::Pagerduty,
            headers: BTreeMap::new(),
            body,
        });
    }
    for (name, cdevent) in json_fixtures("cdevents") {
        let context = |key: &str| {
            cdevent["context"][key]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let (id, source, ty, time) = (
            context("id"),
            context("source"),
            context("type"),
            context("timestamp"),
        );
        let envelope = json!({
            "specversion": "1.0", "id": id, "source": source, "type": ty, "time": time,
            "datacontenttype": "application/json", "data": cdevent,
        });
        let binary = headers(&[
            ("ce-specversion", "1.0"),
            ("ce-id", &id),
            ("ce-source", &source),
            ("ce-type", &ty),
            ("ce-time", &time),
            ("content-type", "application/json"),
        ]);
        let structured = headers(&[("content-type", "application/cloudevents+json")]);
        for (mode, headers, body) in [
            ("bare", BTreeMap::new(), cdevent.clone()),
            ("structured", structured, envelope),
            ("binary", binary, cdevent.clone()),
        ] {
            seeds.push(Seed {
                name: format!("{name} ({mode})"),
                source: Source::Cdevents,
                headers,
                body,
            });
        }
    }
    for event in argocd::EVENTS.iter().copied().chain(["sync"]) {
        seeds.push(Seed {
            name: format!("argocd {event}"),
            source: Source::Argocd,
            headers: BTreeMap::new(),
            body: argocd_body(event),
        });
    }
    for (name, body) in json_fixtures("circleci") {
        seeds.push(Seed {
            name,
            source: Source::Circleci,
            headers: BTreeMap::new(),
            body,
        });
    }
    for (name, body) in json_fixtures("buildkite") {
        let event = body["event"]
            .as_str()
            .unwrap_or("build.finished")
            .to_owned();
        seeds.push(Seed {
            name,
            source: Source::Buildkite,
            headers: headers(&[
                ("x-buildkite-event", &event),
                ("x-buildkite-request", "fuzz-1"),
            ]),
            body,
        });
    }
    for event in argo_rollouts::EVENTS {
        seeds.push(Seed {
            name: format!("argo-rollouts {event}"),
            source: Source::ArgoRollouts,
            headers: BTreeMap::new(),
            body: argo_rollouts_body(event),
        });
    }
    seeds
});

/// No config, and a config that claims fixture repositories (one of them by two
/// services, a monorepo without deploy names), aliases environments, makes every
/// workflow a deploy and names the ArgoCD app's environment: every routing branch.
static ROUTINGS: LazyLock<[Routing; 2]> = LazyLock::new(|| {
    let service = |repo: &str, paths: &[&str], names: &[&str]| ServiceSettings {
        team: Some("payments".into()),
        repo: Some(repo.into()),
        paths: paths.iter().map(|p| (*p).into()).collect(),
        argocd_apps: vec!["velero-test".into()],
        pagerduty_services: vec!["PF9KMXH".into(), "My Web App".into()],
        deploy_names: names.iter().map(|n| (*n).into()).collect(),
        ..ServiceSettings::default()
    };
    let configured = Routing {
        services: BTreeMap::from([
            (
                "hello".into(),
                service("Codertocat/Hello-World", &["README.md"], &["web"]),
            ),
            ("mono-a".into(), service("octo-org/octo-repo", &["a/"], &[])),
            ("mono-b".into(), service("octo-org/octo-repo", &["b/"], &[])),
            (
                "gitlab-test".into(),
                service("gitlab-org/gitlab-test", &["files/"], &["test"]),
            ),
        ]),
        environment_aliases: BTreeMap::from([("prd".into(), "production".into())]),
        github_deploy_workflows: vec!["*".into()],
        circleci_deploy_workflows: vec!["*".into()],
        buildkite_deploy_pipelines: vec!["*".into()],
        argocd_environments: BTreeMap::from([("velero-test".into(), "prod".into())]),
        ..Routing::default()
    };
    [Routing::default(), configured]
});

// ---------------------------------------------------------------------------------
// What must hold

/// One delivery through `map` and `map_or_keep` under every routing: no panic, every
/// refusal says why, a mapping to nothing says why, only a body that is not JSON is
/// refused by `map_or_keep` (SPEC §6), and its raw-log record can be built.
fn webhook_holds(
    source: Source,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    calls: &Calls,
) -> TestCaseResult {
    let incoming = Incoming { headers, body };
    let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    for routing in ROUTINGS.iter() {
        let mapped = map(source, &incoming, routing);
        calls.saw(outcome(&mapped));
        match &mapped {
            Err(e) => prop_assert!(
                !e.0.trim().is_empty(),
                "{source}: a refusal without a reason"
            ),
            Ok(m) => prop_assert!(
                !m.events.is_empty() || m.skipped.as_deref().is_some_and(|s| !s.trim().is_empty()),
                "{source}: mapped to nothing without saying why: {m:?}"
            ),
        }
        let kept = map_or_keep(source, &incoming, routing);
        calls.saw(outcome(&kept));
        match kept {
            Err(e) => {
                prop_assert!(!is_json, "{source}: a JSON body was refused: {e}");
                prop_assert!(
                    !e.0.trim().is_empty(),
                    "{source}: a refusal without a reason"
                );
            }
            Ok(kept) => {
                prop_assert!(is_json, "{source}: a body that is not JSON was kept");
                match &mapped {
                    Ok(m) => prop_assert_eq!(&kept, m),
                    Err(e) => {
                        prop_assert!(kept.events.is_empty());
                        let reason = kept.skipped.clone().unwrap_or_default();
                        prop_assert!(reason.contains(&e.0), "{reason:?} lacks {:?}", e.0);
                    }
                }
                if let Ok(text) = std::str::from_utf8(body) {
                    let delivery = webhook_delivery(
                        source,
                        headers,
                        text.to_owned(),
                        kept,
                        chrono::Utc::now(),
                    );
                    prop_assert!(delivery.delivery_key.starts_with(source.as_str()));
                }
            }
        }
    }
    Ok(())
}

fn outcome(mapping: &Result<Mapping, MapError>) -> Outcome {
    match mapping {
        Ok(m) if !m.events.is_empty() => Outcome::Accepted,
        Ok(_) => Outcome::Skipped,
        Err(_) => Outcome::Refused,
    }
}

fn accepted_if<T, E>(result: &Result<T, E>) -> Outcome {
    match result {
        Ok(_) => Outcome::Accepted,
        Err(_) => Outcome::Refused,
    }
}

/// One typed event: a refusal says why; an accepted event parses back from its wire
/// form to itself, and from its text with its line number kept.
fn typed_holds(value: &Value, calls: &Calls) -> TestCaseResult {
    let parsed = parse_event(value);
    calls.saw(accepted_if(&parsed));
    match parsed {
        Err(e) => prop_assert!(!e.trim().is_empty(), "a refusal without a reason"),
        Ok(event) => {
            let again = parse_event(&to_json(&event));
            calls.saw(accepted_if(&again));
            prop_assert_eq!(again, Ok(event), "the wire form does not parse back");
        }
    }
    let text = value.to_string();
    let parsed = parse_event_text(7, &text);
    calls.saw(accepted_if(&parsed));
    match parsed {
        Err(e) => {
            prop_assert_eq!(e.line, 7);
            prop_assert!(!e.error.trim().is_empty(), "a refusal without a reason");
        }
        Ok(parsed) => {
            prop_assert_eq!(&parsed.raw, &text);
            prop_assert!(parsed.delivery_key.starts_with("sha256:"));
        }
    }
    Ok(())
}

const FORMATS: [BodyFormat; 3] = [BodyFormat::Json, BodyFormat::Ndjson, BodyFormat::Sniff];

/// One request body read every way: a refusal of the whole says why; otherwise at
/// most `max_events` results, each bad event with a line that exists and a reason,
/// each good one with its text as sent.
fn body_holds(body: &[u8], max_events: usize, calls: &Calls) -> TestCaseResult {
    let lines = String::from_utf8_lossy(body).lines().count().max(1);
    for format in FORMATS {
        match parse_body(body, format, max_events) {
            Err(e) => {
                calls.saw(Outcome::Refused);
                prop_assert!(!e.to_string().trim().is_empty());
            }
            Ok(items) => {
                let any_event = items.iter().any(Result::is_ok);
                calls.saw(if any_event {
                    Outcome::Accepted
                } else {
                    Outcome::Refused
                });
                prop_assert!(items.len() <= max_events, "{format:?}: over the cap");
                let mut previous = 0;
                for item in &items {
                    match item {
                        Err(e) => {
                            prop_assert!(!e.error.trim().is_empty(), "{format:?}: no reason");
                            prop_assert!(e.line > previous, "{format:?}: line {}", e.line);
                            if matches!(format, BodyFormat::Ndjson) {
                                prop_assert!(e.line <= lines, "line {} of {lines}", e.line);
                            }
                            previous = e.line;
                        }
                        Ok(parsed) => {
                            let value: Value = serde_json::from_str(&parsed.raw)
                                .map_err(|e| TestCaseError::fail(format!("raw text: {e}")))?;
                            let reparsed = parse_event(&value);
                            prop_assert_eq!(reparsed, Ok(parsed.event.clone()));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The reference set's events, one JSON value each.
static TYPED_SEEDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/reference/events.ndjson"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(|line| serde_json::from_str(line).expect("a reference line is JSON"))
        .collect()
});

fn typed_seed() -> impl Strategy<Value = Value> {
    (any::<Index>(), mutations()).prop_map(|(at, m)| {
        let seeds = &*TYPED_SEEDS;
        mutate(&seeds[at.index(seeds.len())], &m)
    })
}

// ---------------------------------------------------------------------------------
// The properties

#[test]
fn webhook_adapters_survive_arbitrary_bytes() {
    let header = (
        select(
            &[
                "x-github-event",
                "x-gitlab-event",
                "ce-type",
                "ce-id",
                "content-type",
            ][..],
        ),
        prop_oneof![
            select(GITHUB_EVENTS).prop_map(str::to_owned),
            select(GITLAB_EVENTS).prop_map(str::to_owned),
            text()
        ],
    );
    let headers = prop::collection::vec(header, 0..4).prop_map(|pairs| {
        let named = pairs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value));
        named.collect::<BTreeMap<String, String>>()
    });
    check(
        "webhook_arbitrary_bytes",
        (headers, bytes()),
        |(headers, body), calls| {
            for source in Source::ALL {
                webhook_holds(source, &headers, &body, calls)?;
            }
            Ok(())
        },
    );
}

#[test]
fn webhook_adapters_survive_arbitrary_json() {
    let strategy = (
        select(GITHUB_EVENTS),
        select(GITLAB_EVENTS),
        text(),
        json_value(),
    );
    check(
        "webhook_arbitrary_json",
        strategy,
        |(github, gitlab, ce_type, value), calls| {
            let body = serde_json::to_vec(&value).expect("serializes");
            let with = headers(&[
                ("x-github-event", github),
                ("x-gitlab-event", gitlab),
                ("ce-type", &ce_type),
            ]);
            for source in Source::ALL {
                webhook_holds(source, &BTreeMap::new(), &body, calls)?;
                webhook_holds(source, &with, &body, calls)?;
            }
            Ok(())
        },
    );
}

#[test]
fn webhook_fixtures_survive_mutations() {
    let event_header = prop_oneof![
        6 => Just(None::<Option<String>>),
        1 => select(GITHUB_EVENTS).prop_map(|e| Some(Some(e.to_owned()))),
        1 => select(GITLAB_EVENTS).prop_map(|e| Some(Some(e.to_owned()))),
        1 => Just(Some(None)),
    ];
    let strategy = (any::<Index>(), mutations(), event_header);
    check(
        "webhook_fixture_mutations",
        strategy,
        |(at, mutations, event_header), calls| {
            let seed = &SEEDS[at.index(SEEDS.len())];
            let mut headers = seed.headers.clone();
            // Another event header than the body is, or none.
            if let Some(event) = event_header {
                let name = match seed.source {
                    Source::Gitlab => "x-gitlab-event",
                    Source::Cdevents => "ce-type",
                    _ => "x-github-event",
                };
                match event {
                    Some(event) => headers.insert(name.to_owned(), event),
                    None => headers.remove(name),
                };
            }
            let body = serde_json::to_vec(&mutate(&seed.body, &mutations)).expect("serializes");
            webhook_holds(seed.source, &headers, &body, calls)
                .map_err(|e| TestCaseError::fail(format!("{}: {e}", seed.name)))
        },
    );
}

/// Not random: every value of every fixture deleted in turn, and in turn replaced by
/// a value of another type (a string by a number, anything else by a string).
#[test]
fn webhook_fixtures_survive_each_field_deleted_or_retyped() {
    let calls = Calls::default();
    let mut cases = 0;
    for seed in SEEDS.iter() {
        for path in paths(&seed.body) {
            let mut target = &seed.body;
            for step in &path {
                target = match (target, step) {
                    (Value::Object(map), Step::Key(k)) => &map[k],
                    (Value::Array(items), Step::At(i)) => &items[*i],
                    _ => unreachable!("paths() gave this path"),
                };
            }
            let retyped = match target {
                Value::String(_) => Value::from(-1),
                _ => Value::String("x".into()),
            };
            for edit in [Edit::Delete, Edit::Replace(retyped)] {
                let mut body = seed.body.clone();
                apply_at(&mut body, &path, &edit);
                let bytes = serde_json::to_vec(&body).expect("serializes");
                cases += 1;
                if let Err(e) = webhook_holds(seed.source, &seed.headers, &bytes, &calls) {
                    panic!("{} with {path:?} {edit:?}: {e}", seed.name);
                }
            }
        }
    }
    report("webhook_each_field", cases, &calls);
}

#[test]
fn typed_parser_survives_arbitrary_json_and_mutated_events() {
    let strategy = prop_oneof![1 => json_value(), 3 => typed_seed()];
    check("typed_events", strategy, |value, calls| {
        typed_holds(&value, calls)
    });
}

#[test]
fn typed_parser_survives_each_field_of_each_reference_event_deleted_or_retyped() {
    let calls = Calls::default();
    let mut cases = 0;
    for seed in TYPED_SEEDS.iter() {
        for path in paths(seed) {
            for edit in [
                Edit::Delete,
                Edit::Replace(Value::from(u64::MAX)),
                Edit::Replace(Value::String(String::new())),
                Edit::Nest(2),
            ] {
                let mut value = seed.clone();
                apply_at(&mut value, &path, &edit);
                cases += 1;
                if let Err(e) = typed_holds(&value, &calls) {
                    panic!("{seed} with {path:?} {edit:?}: {e}");
                }
            }
        }
    }
    report("typed_each_field", cases, &calls);
}

/// A request body: mutated reference events and arbitrary lines, as NDJSON (with
/// blank lines, CRLF, a byte-order mark, a cut) or as a JSON array.
#[derive(Debug, Clone)]
struct BodyCase {
    lines: Vec<String>,
    crlf: bool,
    bom: bool,
    blanks: Vec<Index>,
    cut: Option<Index>,
    array: bool,
}

impl BodyCase {
    fn bytes(&self) -> Vec<u8> {
        let mut lines = self.lines.clone();
        for at in &self.blanks {
            lines.insert(at.index(lines.len() + 1), "  ".into());
        }
        let text = if self.array {
            format!("[{}]", lines.join(",\n"))
        } else {
            lines.join(if self.crlf { "\r\n" } else { "\n" })
        };
        let mut bytes = if self.bom {
            format!("\u{feff}{text}").into_bytes()
        } else {
            text.into_bytes()
        };
        if let Some(cut) = &self.cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        bytes
    }
}

#[test]
fn body_reader_survives_mutated_ndjson_and_arrays() {
    let line = prop_oneof![
        4 => typed_seed().prop_map(|v| v.to_string()),
        1 => json_value().prop_map(|v| v.to_string()),
        1 => text(),
    ];
    let case = (
        prop::collection::vec(line, 0..12),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::collection::vec(any::<Index>(), 0..3),
        prop::option::weighted(0.2, any::<Index>()),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(lines, crlf, bom, blanks, cut, array)| BodyCase {
            lines,
            crlf,
            bom,
            blanks,
            cut,
            array,
        });
    check(
        "body_reader",
        (case, 1usize..16),
        |(case, max_events), calls| body_holds(&case.bytes(), max_events, calls),
    );
}

#[test]
fn body_reader_survives_arbitrary_bytes() {
    check(
        "body_reader_bytes",
        (bytes(), 1usize..16),
        |(body, max_events), calls| body_holds(&body, max_events, calls),
    );
}

#[test]
fn signature_checks_survive_arbitrary_headers_and_accept_only_the_right_signature() {
    let header = prop_oneof![
        text(),
        "sha256=[0-9a-fA-F]{0,70}",
        "(v1=[0-9a-f]{0,66},?){0,4}",
        "timestamp=[0-9]{0,12},signature=[0-9a-f]{0,66}",
        any::<String>(),
    ];
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..80),
        bytes(),
        prop::option::of(header),
    );
    check("signatures", strategy, |(secret, body, header), calls| {
        let header = header.as_deref();
        let checked = [
            verify_github(&secret, &body, header),
            verify_pagerduty(&secret, &body, header),
            verify_buildkite(&secret, &body, header),
            verify_token(&secret, header, "X-Gitlab-Token"),
        ];
        for result in checked {
            calls.saw(accepted_if(&result));
            if let Err(refusal) = result {
                prop_assert!(!refusal.to_string().trim().is_empty());
            }
        }
        let good = sign_hex(&secret, &body);
        let github = format!("sha256={good}");
        let pagerduty = format!("v1=00,v1={good}");
        let mut signed = b"1700000000.".to_vec();
        signed.extend_from_slice(&body);
        let buildkite_good = sign_hex(&secret, &signed);
        let buildkite = format!("timestamp=1700000000,signature={buildkite_good}");
        let right = [
            verify_github(&secret, &body, Some(&github)),
            verify_pagerduty(&secret, &body, Some(&pagerduty)),
            verify_buildkite(&secret, &body, Some(&buildkite)),
        ];
        for result in right {
            calls.saw(accepted_if(&result));
            prop_assert!(result.is_ok(), "the right signature is refused");
        }
        if let Some(header) = header
            && header != github
            && !header.contains(&good)
        {
            prop_assert!(verify_github(&secret, &body, Some(header)).is_err());
            prop_assert!(verify_pagerduty(&secret, &body, Some(header)).is_err());
        }
        if let Some(header) = header
            && !header.contains(&buildkite_good)
        {
            prop_assert!(verify_buildkite(&secret, &body, Some(header)).is_err());
        }
        let presented = header.unwrap_or_default().as_bytes();
        prop_assert_eq!(
            token_matches(&secret, presented),
            !secret.trim_ascii().is_empty() && secret.trim_ascii() == presented.trim_ascii()
        );
        Ok(())
    });
}
