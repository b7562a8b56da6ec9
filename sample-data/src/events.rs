//! The SPEC §2 JSON objects as `serde_json` values (the demo's form; `ndjson` writes the
//! same objects straight as text).
//!
//! Builders take small structs rather than long argument lists, and each returns the
//! earliest and latest instant the event mentions, so that the window check at the end
//! needs no re-parsing of the text it wrote.

use serde_json::{Value, json};

use crate::calendar::rfc3339;

/// One typed event and the span of the timestamps inside it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) value: Value,
    pub(crate) earliest: i64,
    pub(crate) latest: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct PullRequest {
    pub(crate) number: u64,
    pub(crate) first_commit_at: i64,
    pub(crate) opened_at: i64,
    pub(crate) merged_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Commit<'a> {
    pub(crate) repo: &'a str,
    pub(crate) sha: String,
    pub(crate) parents: Vec<String>,
    pub(crate) committed_at: i64,
    pub(crate) authored_at: i64,
    pub(crate) author: &'a str,
    pub(crate) message: String,
    /// Set on the merge or squash commit of a pull request.
    pub(crate) pr: Option<PullRequest>,
}

#[derive(Debug)]
pub(crate) struct Deployment<'a> {
    pub(crate) id: &'a str,
    pub(crate) service: &'a str,
    pub(crate) environment: &'static str,
    pub(crate) repo: &'a str,
    pub(crate) sha: &'a str,
    pub(crate) succeeded: bool,
    pub(crate) started_at: i64,
    pub(crate) finished_at: i64,
    pub(crate) team: &'a str,
}

/// What an incident names as its cause, which decides the attribution rule (SPEC §3.4).
#[derive(Debug, Clone)]
pub(crate) enum Blame {
    /// Rule a: the deployment id (PagerDuty change events, a deploy marker).
    Deployment(String),
    /// Rule b: a commit someone bisected to.
    Sha(String),
    /// Rule c or d: nothing; the product has to find the deployment by time.
    Unknown,
}

#[derive(Debug)]
pub(crate) struct Incident<'a> {
    pub(crate) id: String,
    pub(crate) service: &'a str,
    pub(crate) opened_at: i64,
    pub(crate) severity: &'static str,
    pub(crate) title: &'a str,
    pub(crate) blame: Blame,
}

#[derive(Debug)]
pub(crate) struct Build<'a> {
    pub(crate) id: String,
    pub(crate) repo: &'a str,
    pub(crate) sha: &'a str,
    pub(crate) succeeded: bool,
    pub(crate) branch: &'a str,
    pub(crate) started_at: i64,
    pub(crate) finished_at: i64,
}

pub(crate) fn status(succeeded: bool) -> &'static str {
    if succeeded { "success" } else { "failure" }
}

fn pr_value(pr: &PullRequest) -> Value {
    json!({
        "number": pr.number,
        "first_commit_at": rfc3339(pr.first_commit_at),
        "opened_at": rfc3339(pr.opened_at),
        "merged_at": rfc3339(pr.merged_at),
    })
}

impl PullRequest {
    /// The earliest and latest of its instants.
    pub(crate) fn span(&self) -> (i64, i64) {
        let earliest = self.first_commit_at.min(self.opened_at).min(self.merged_at);
        let latest = self.first_commit_at.max(self.opened_at).max(self.merged_at);
        (earliest, latest)
    }
}

impl Commit<'_> {
    /// The earliest and latest instant its change event mentions, `pr` included.
    pub(crate) fn span(&self) -> (i64, i64) {
        let earliest = self.committed_at.min(self.authored_at);
        let latest = self.committed_at.max(self.authored_at);
        match &self.pr {
            Some(pr) => {
                let (first, last) = pr.span();
                (earliest.min(first), latest.max(last))
            }
            None => (earliest, latest),
        }
    }
}

/// The span of a `pr` update of a commit made at `committed_at`.
pub(crate) fn pr_update_span(committed_at: i64, pr: &PullRequest) -> (i64, i64) {
    let (first, last) = pr.span();
    (first.min(committed_at), last.max(committed_at))
}

pub(crate) fn change(commit: &Commit<'_>) -> Event {
    let mut value = json!({
        "type": "change",
        "repo": commit.repo,
        "sha": commit.sha,
        "parents": commit.parents,
        "committed_at": rfc3339(commit.committed_at),
        "authored_at": rfc3339(commit.authored_at),
        "author": commit.author,
        "message": commit.message,
    });
    if let (Some(pr), Some(fields)) = (&commit.pr, value.as_object_mut()) {
        fields.insert("pr".to_owned(), pr_value(pr));
    }
    let (earliest, latest) = commit.span();
    Event {
        value,
        earliest,
        latest,
    }
}

/// The `pr` of an already posted commit, as GitHub's `pull_request` webhook adds it: an
/// update of the change keyed by `(repo, sha)`.
pub(crate) fn pr_update(repo: &str, sha: &str, committed_at: i64, pr: &PullRequest) -> Event {
    let value = json!({
        "type": "change",
        "repo": repo,
        "sha": sha,
        "committed_at": rfc3339(committed_at),
        "pr": pr_value(pr),
    });
    let (earliest, latest) = pr_update_span(committed_at, pr);
    Event {
        value,
        earliest,
        latest,
    }
}

pub(crate) fn deployment(d: &Deployment<'_>) -> Event {
    let value = json!({
        "type": "deployment",
        "id": d.id,
        "service": d.service,
        "environment": d.environment,
        "repo": d.repo,
        "sha": d.sha,
        "status": status(d.succeeded),
        "started_at": rfc3339(d.started_at),
        "finished_at": rfc3339(d.finished_at),
        "team": d.team,
    });
    Event {
        value,
        earliest: d.started_at,
        latest: d.finished_at,
    }
}

/// The page as first posted: still open, so `resolved_at` is null (which must never
/// overwrite a resolution that arrived first, SPEC §8).
pub(crate) fn incident_opened(incident: &Incident<'_>) -> Event {
    let mut value = json!({
        "type": "incident",
        "id": incident.id,
        "service": incident.service,
        "opened_at": rfc3339(incident.opened_at),
        "resolved_at": null,
        "severity": incident.severity,
        "title": incident.title,
    });
    if let Some(fields) = value.as_object_mut() {
        match &incident.blame {
            Blame::Deployment(id) => {
                fields.insert("deployment_id".to_owned(), Value::from(id.as_str()));
            }
            Blame::Sha(sha) => {
                fields.insert("sha".to_owned(), Value::from(sha.as_str()));
            }
            Blame::Unknown => {}
        }
    }
    Event {
        value,
        earliest: incident.opened_at,
        latest: incident.opened_at,
    }
}

/// The update that resolves an incident: same `id`, carrying only what changed plus the
/// fields every incident event needs.
pub(crate) fn incident_resolved(incident: &Incident<'_>, resolved_at: i64) -> Event {
    let value = json!({
        "type": "incident",
        "id": incident.id,
        "service": incident.service,
        "opened_at": rfc3339(incident.opened_at),
        "resolved_at": rfc3339(resolved_at),
    });
    Event {
        value,
        earliest: incident.opened_at,
        latest: resolved_at,
    }
}

pub(crate) fn build(b: &Build<'_>) -> Event {
    let value = json!({
        "type": "build",
        "id": b.id,
        "repo": b.repo,
        "sha": b.sha,
        "status": status(b.succeeded),
        "branch": b.branch,
        "started_at": rfc3339(b.started_at),
        "finished_at": rfc3339(b.finished_at),
        "provider": "github-actions",
    });
    Event {
        value,
        earliest: b.started_at,
        latest: b.finished_at,
    }
}
