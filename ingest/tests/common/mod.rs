//! Helpers shared by the webhook fixture tests: reading the real payloads under
//! `tests/fixtures/`, delivering them to an adapter, and writing expected events by
//! hand.

// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde_json::Value;
use shiplog_ingest::sources::{Incoming, MapError, Mapping, Routing, Source, map};
use shiplog_model::{
    Build, Change, CommitSha, Deployment, Event, EventId, Incident, PullRequest, RepoName,
    ServiceName, ServiceSettings, Status, Timestamp,
};

/// The fixtures of one source.
pub fn fixtures_dir(source: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures")).join(source)
}

pub fn fixture(source: &str, file: &str) -> Vec<u8> {
    let path = fixtures_dir(source).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn fixture_json(source: &str, file: &str) -> Value {
    serde_json::from_slice(&fixture(source, file))
        .unwrap_or_else(|e| panic!("{source}/{file} is not JSON: {e}"))
}

/// Every file under `dir`, as `/`-separated paths relative to it.
pub fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.expect("a directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type().expect("a file type").is_dir() {
                walk(&entry.path(), &rel, out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, "", &mut out);
    out
}

/// Whether a fixture file is documentation (provenance, licence) rather than a
/// delivery.
pub fn is_documentation(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "SOURCE.md" || name.starts_with("LICENSE") || name.starts_with("README")
}

pub fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn deliver(
    source: Source,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    routing: &Routing,
) -> Result<Mapping, MapError> {
    map(source, &Incoming { headers, body }, routing)
}

pub fn to_body(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value serializes")
}

/// An instant written in UTC by hand (`…Z`), converted from the fixture's own offset.
pub fn utc(text: &str) -> Timestamp {
    assert!(
        text.ends_with('Z'),
        "write expected instants in UTC: {text}"
    );
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_utc()
}

pub fn sha(text: &str) -> CommitSha {
    CommitSha::parse(text).expect("a sha")
}

pub fn repo(text: &str) -> RepoName {
    RepoName::parse(text).expect("a repo")
}

pub fn id(text: &str) -> EventId {
    EventId::parse(text).expect("an id")
}

pub fn service(text: &str) -> ServiceName {
    ServiceName::parse(text).expect("a service")
}

/// A pushed commit: no parents (webhooks do not carry them), no pull request, the
/// files it touched (sorted).
pub fn pushed(
    repo_name: &str,
    commit: &str,
    at: &str,
    author: &str,
    message: &str,
    files: &[&str],
) -> Event {
    Event::Change(Change {
        repo: repo(repo_name),
        sha: sha(commit),
        parents: None,
        committed_at: utc(at),
        authored_at: None,
        author: Some(author.to_owned()),
        message: Some(message.to_owned()),
        pr: None,
        paths: Some(files.iter().map(|f| (*f).to_owned()).collect()),
    })
}

/// The merge commit of a pull (merge) request, committed when it merged.
pub fn merge_commit(
    repo_name: &str,
    commit: &str,
    number: i64,
    opened_at: &str,
    merged_at: &str,
) -> Event {
    Event::Change(Change {
        repo: repo(repo_name),
        sha: sha(commit),
        parents: None,
        committed_at: utc(merged_at),
        authored_at: None,
        author: None,
        message: None,
        pr: Some(PullRequest {
            number: Some(number),
            first_commit_at: None,
            opened_at: Some(utc(opened_at)),
            merged_at: Some(utc(merged_at)),
        }),
        paths: None,
    })
}

pub struct DeploymentFields<'a> {
    pub id: &'a str,
    pub service: &'a str,
    pub environment: Option<&'a str>,
    pub repo: &'a str,
    pub sha: &'a str,
    pub status: &'a str,
    pub started_at: Option<&'a str>,
    pub finished_at: &'a str,
}

pub fn deployment(d: DeploymentFields<'_>) -> Event {
    Event::Deployment(Deployment {
        id: id(d.id),
        service: service(d.service),
        environment: d.environment.map(str::to_owned),
        repo: Some(repo(d.repo)),
        sha: sha(d.sha),
        status: Some(Status::new(d.status)),
        started_at: d.started_at.map(utc),
        finished_at: utc(d.finished_at),
        team: None,
        commits: None,
    })
}

pub struct BuildFields<'a> {
    pub id: &'a str,
    pub repo: &'a str,
    pub sha: &'a str,
    pub status: &'a str,
    pub branch: Option<&'a str>,
    pub started_at: Option<&'a str>,
    pub finished_at: &'a str,
    pub provider: &'a str,
}

pub fn build(b: BuildFields<'_>) -> Event {
    Event::Build(Build {
        id: id(b.id),
        repo: repo(b.repo),
        sha: sha(b.sha),
        status: Status::new(b.status),
        branch: b.branch.map(str::to_owned),
        started_at: b.started_at.map(utc),
        finished_at: utc(b.finished_at),
        provider: Some(b.provider.to_owned()),
    })
}

pub struct IncidentFields<'a> {
    pub id: &'a str,
    pub service: &'a str,
    pub opened_at: &'a str,
    pub resolved_at: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub title: &'a str,
}

pub fn incident(i: IncidentFields<'_>) -> Event {
    Event::Incident(Incident {
        id: id(i.id),
        service: service(i.service),
        opened_at: utc(i.opened_at),
        opened_at_estimated: false,
        resolved_at: i.resolved_at.map(utc),
        severity: i.severity.map(str::to_owned),
        deployment_id: None,
        sha: None,
        title: Some(i.title.to_owned()),
    })
}

/// A service map: `(name, repo, deploy_names)`.
pub fn routing_with(services: &[(&str, &str, &[&str])]) -> Routing {
    let mut routing = Routing::default();
    for (name, repo_name, deploy_names) in services {
        routing.services.insert(
            (*name).to_owned(),
            ServiceSettings {
                repo: Some((*repo_name).to_owned()),
                deploy_names: deploy_names.iter().map(|d| (*d).to_owned()).collect(),
                ..ServiceSettings::default()
            },
        );
    }
    routing
}

/// What a fixture must map to.
#[derive(Debug)]
pub enum Expect {
    /// Nothing mapped; the reason contains this phrase.
    Skipped(&'static str),
    /// Exactly these events, in this order, and no skip reason.
    Events(Vec<Event>),
    /// Refused; the error contains this phrase.
    Refused(&'static str),
}

/// One row of a fixture table: a file, the event header it is delivered with, and
/// what it must map to.
#[derive(Debug)]
pub struct Case {
    pub file: &'static str,
    pub event: &'static str,
    pub expect: Expect,
}

pub fn skipped(file: &'static str, event: &'static str, phrase: &'static str) -> Case {
    Case {
        file,
        event,
        expect: Expect::Skipped(phrase),
    }
}

pub fn mapped(file: &'static str, event: &'static str, events: Vec<Event>) -> Case {
    Case {
        file,
        event,
        expect: Expect::Events(events),
    }
}

pub fn refused(file: &'static str, event: &'static str, phrase: &'static str) -> Case {
    Case {
        file,
        event,
        expect: Expect::Refused(phrase),
    }
}

/// Delivers every case with its event header and a delivery id, under the default
/// routing, and panics listing every case whose outcome differs.
pub fn check_table(source: Source, event_header: &str, delivery_header: &str, cases: &[Case]) {
    let routing = Routing::default();
    let mut failures = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let delivery = format!("delivery-{n}");
        let headers = headers(&[
            (event_header, case.event),
            (delivery_header, delivery.as_str()),
        ]);
        let body = fixture(source.as_str(), case.file);
        let result = deliver(source, &headers, &body, &routing);
        let problem = match (&case.expect, result) {
            (Expect::Refused(phrase), Err(e)) if e.0.contains(phrase) => None,
            (Expect::Refused(phrase), other) => Some(format!(
                "expected an error containing {phrase:?}, got {other:?}"
            )),
            (_, Err(e)) => Some(format!("refused: {e}")),
            (expect, Ok(mapping)) => {
                let mut problems = Vec::new();
                if mapping.event_type != case.event {
                    problems.push(format!("event_type {:?}", mapping.event_type));
                }
                if mapping.delivery_id.as_deref() != Some(delivery.as_str()) {
                    problems.push(format!("delivery_id {:?}", mapping.delivery_id));
                }
                match expect {
                    Expect::Skipped(phrase) => {
                        if !mapping.events.is_empty() {
                            problems.push(format!("mapped {:#?}", mapping.events));
                        }
                        if !mapping
                            .skipped
                            .as_deref()
                            .is_some_and(|r| r.contains(phrase))
                        {
                            problems.push(format!(
                                "skip reason {:?} lacks {phrase:?}",
                                mapping.skipped
                            ));
                        }
                    }
                    Expect::Events(events) => {
                        if mapping.skipped.is_some() {
                            problems.push(format!("skipped: {:?}", mapping.skipped));
                        }
                        if &mapping.events != events {
                            problems.push(format!(
                                "events differ:\n got {:#?}\nwant {events:#?}",
                                mapping.events
                            ));
                        }
                    }
                    Expect::Refused(_) => unreachable!("handled above"),
                }
                (!problems.is_empty()).then(|| problems.join("; "))
            }
        };
        if let Some(problem) = problem {
            failures.push(format!("{} ({}): {problem}", case.file, case.event));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures mapped wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Asserts that `cases` name every delivery under the source's fixture folder once,
/// and nothing else, so a new fixture cannot go untested.
pub fn check_table_covers_folder(source: &str, cases: &[Case]) {
    let on_disk: BTreeSet<String> = files_under(&fixtures_dir(source))
        .into_iter()
        .filter(|f| !is_documentation(f))
        .collect();
    let strays: Vec<&String> = on_disk.iter().filter(|f| !f.ends_with(".json")).collect();
    assert!(
        strays.is_empty(),
        "files that are neither JSON deliveries nor documentation: {strays:?}"
    );
    let mut in_table = BTreeSet::new();
    for case in cases {
        assert!(
            in_table.insert(case.file.to_owned()),
            "{} is listed twice",
            case.file
        );
    }
    let untested: Vec<&String> = on_disk.difference(&in_table).collect();
    let missing: Vec<&String> = in_table.difference(&on_disk).collect();
    assert!(
        untested.is_empty() && missing.is_empty(),
        "fixtures not in the table: {untested:?}; table rows with no file: {missing:?}"
    );
}
