//! GitLab webhook deliveries → typed events (SPEC §6): pushes → changes, merged merge
//! requests → their merge commit with its `pr`, finished pipelines → builds, finished
//! deployments → deployments, incident issues → incidents. Every other hook is stored
//! and skipped with the reason.

use serde_json::Value;
use shiplog_model::{Build, CommitSha, Deployment, Event, Incident, PullRequest, RepoName, Status};

use super::commits::{merge_commit, pushed_commit};
use super::payload::{Node, event_id, parse_json, service_name};
use super::{Incoming, MapError, Mapping, Routing};

/// Maps one GitLab delivery. The event name (kept as `event_type`) is the
/// `X-Gitlab-Event` header, else the body's `object_kind`.
pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let header = incoming.header("x-gitlab-event");
    let delivery_id = incoming.header("x-gitlab-event-uuid").map(str::to_owned);
    let body = parse_json(incoming.body, header.unwrap_or("GitLab delivery"))?;
    let object_kind = body
        .get("object_kind")
        .and_then(Value::as_str)
        .filter(|kind| !kind.trim().is_empty());
    let event = header.or(object_kind).ok_or_else(|| {
        MapError::new("the X-Gitlab-Event header is missing and the body has no object_kind")
    })?;
    let root = Node::root(&body, event);
    // The body's `object_kind` says what it is; the header does not always (a system
    // hook sends pushes and merge requests as `System Hook`).
    let outcome = match object_kind.or_else(|| header.and_then(kind_of_header)) {
        Some("push") => push(&root)?,
        Some("tag_push") => Outcome::skipped(format!(
            "{event}: a tag adds no commits (branch pushes bring them)"
        )),
        Some("merge_request") => merge_request(&root)?,
        Some("pipeline") => pipeline(&root)?,
        Some("deployment") => deployment(&root, routing)?,
        Some("issue" | "work_item") => issue(&root, routing)?,
        Some("build") => Outcome::skipped(format!(
            "{event}: single jobs are not used; Shiplog maps whole pipelines (Pipeline Hook) and deployments (Deployment Hook)"
        )),
        _ => Outcome::skipped(format!(
            "{event}: not used; Shiplog maps push, merge request, pipeline, deployment and issue events"
        )),
    };
    Ok(Mapping {
        event_type: event.to_owned(),
        delivery_id,
        events: outcome.events,
        skipped: outcome.skipped,
    })
}

/// The `object_kind` of a body sent with this `X-Gitlab-Event` header.
fn kind_of_header(header: &str) -> Option<&'static str> {
    Some(match header {
        "Push Hook" => "push",
        "Tag Push Hook" => "tag_push",
        "Merge Request Hook" => "merge_request",
        "Pipeline Hook" => "pipeline",
        "Deployment Hook" => "deployment",
        "Issue Hook" | "Confidential Issue Hook" => "issue",
        "Job Hook" => "build",
        "Release Hook" => "release",
        _ => return None,
    })
}

/// What a hook's reader made of the body; the delivery's name and id are added by
/// [`map`].
#[derive(Debug, Default)]
struct Outcome {
    events: Vec<Event>,
    skipped: Option<String>,
}

impl Outcome {
    fn skipped(why: impl Into<String>) -> Outcome {
        Outcome {
            events: Vec::new(),
            skipped: Some(why.into()),
        }
    }

    fn event(event: Event) -> Outcome {
        Outcome {
            events: vec![event],
            skipped: None,
        }
    }
}

fn project_path(root: &Node<'_>) -> Result<RepoName, MapError> {
    root.object("project")?.repo("path_with_namespace")
}

/// A push: one change per listed commit.
fn push(root: &Node<'_>) -> Result<Outcome, MapError> {
    let repo = project_path(root)?;
    let git_ref = root.opt_str("ref")?.unwrap_or("");
    if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
        return Ok(Outcome::skipped(format!(
            "push of tag {tag}: a tag adds no commits (branch pushes bring them)"
        )));
    }
    // GitLab lists at most 20 commits of a push (`total_commits_count` says how many
    // it had), without their parents; the git import brings the rest and the graph.
    let changes = root
        .array("commits")?
        .iter()
        .map(|node| pushed_commit(&repo, node))
        .collect::<Result<Vec<_>, _>>()?;
    if changes.is_empty() {
        let deleted = root
            .opt_str("after")?
            .is_some_and(|after| after.chars().all(|c| c == '0'));
        let what = if deleted {
            "deletes the branch"
        } else {
            "brings no commits"
        };
        return Ok(Outcome::skipped(format!(
            "push to {git_ref} {what}: nothing to map"
        )));
    }
    Ok(Outcome {
        events: changes.into_iter().map(Event::Change).collect(),
        skipped: None,
    })
}

/// A merged merge request: its merge commit, with `pr`.
fn merge_request(root: &Node<'_>) -> Result<Outcome, MapError> {
    let repo = project_path(root)?;
    let attrs = root.object("object_attributes")?;
    let iid = attrs.opt_i64("iid")?;
    let label = iid.map_or_else(
        || "merge request".to_owned(),
        |n| format!("merge request !{n}"),
    );
    let action = attrs.opt_str("action")?;
    let state = attrs.opt_str("state")?;
    let doing = action.or(state).unwrap_or("with no action");
    if action != Some("merge") && state != Some("merged") {
        return Ok(Outcome::skipped(format!(
            "{label} {doing}: only a merged merge request maps (to its merge commit)"
        )));
    }
    let Some(sha) = attrs.opt_sha("merge_commit_sha")? else {
        return Ok(Outcome::skipped(format!(
            "merged {label} has no merge_commit_sha (a fast-forward merge makes no merge commit)"
        )));
    };
    // GitLab sends `merged_at` only since 2025. Before that, the `updated_at` of the
    // merge event itself is the merge time; a later update of a merged merge request
    // (a label, a comment) carries no merge time at all, and its `updated_at` would
    // move the merge later, so it is skipped: the merge event mapped the commit.
    let merged_at = match attrs.opt_time("merged_at")? {
        Some(t) => t,
        None if action == Some("merge") => attrs.time("updated_at")?,
        None => {
            return Ok(Outcome::skipped(format!(
                "{label} {doing}: merged earlier, and this delivery carries no merge time (no merged_at); its merge event maps the commit"
            )));
        }
    };
    let pr = PullRequest {
        number: iid,
        // The hook does not list the merge request's commits, so the start of a
        // squash merge's lead time is not known from it.
        first_commit_at: None,
        opened_at: attrs.opt_time("created_at")?,
        merged_at: None,
    };
    Ok(Outcome::event(Event::Change(merge_commit(
        repo, sha, merged_at, pr,
    ))))
}

/// A pipeline that succeeded or failed: a build.
fn pipeline(root: &Node<'_>) -> Result<Outcome, MapError> {
    let repo = project_path(root)?;
    let attrs = root.object("object_attributes")?;
    let pipeline_id = attrs.id("id")?;
    let status = match attrs.str("status")? {
        "success" => "success",
        "failed" => "failure",
        other => {
            return Ok(Outcome::skipped(format!(
                "pipeline {pipeline_id} is {other}: only a succeeded or failed pipeline is a build (a verdict on the code)"
            )));
        }
    };
    let is_tag = attrs.opt_bool("tag")? == Some(true);
    Ok(Outcome::event(Event::Build(Build {
        id: event_id(
            &format!("gitlab:{repo}:pipeline:{pipeline_id}"),
            "object_attributes.id",
        )?,
        sha: attrs.sha("sha")?,
        repo,
        status: Status::new(status),
        // A tag pipeline's `ref` is the tag, which is no branch.
        branch: if is_tag {
            None
        } else {
            attrs.opt_str("ref")?.map(str::to_owned)
        },
        started_at: attrs.opt_time("created_at")?,
        finished_at: attrs.time("finished_at")?,
        provider: Some("gitlab-ci".to_owned()),
    })))
}

/// A deployment that succeeded or failed.
fn deployment(root: &Node<'_>, routing: &Routing) -> Result<Outcome, MapError> {
    let repo = project_path(root)?;
    let deployment_id = root.id("deployment_id")?;
    let status = match root.str("status")? {
        "success" => "success",
        "failed" => "failure",
        other => {
            return Ok(Outcome::skipped(format!(
                "deployment {deployment_id} is {other}: not a finished deployment; a later event finishes it"
            )));
        }
    };
    let sha = deployed_sha(root)?;
    let service = match routing.repo_service(repo.as_str(), None) {
        Ok(service) => service_name(&service, "the service map")?,
        Err(reason) => return Ok(Outcome::skipped(reason)),
    };
    Ok(Outcome::event(Event::Deployment(Deployment {
        id: event_id(
            &format!("gitlab:{repo}:deployment:{deployment_id}"),
            "deployment_id",
        )?,
        service,
        environment: root.opt_str("environment")?.map(|e| routing.environment(e)),
        repo: Some(repo),
        sha,
        status: Some(Status::new(status)),
        // The hook says when the status changed, not when the deployment began.
        started_at: None,
        finished_at: root.time("status_changed_at")?,
        team: None,
        commits: None,
    })))
}

/// The deployed commit. The deployment hook has no full sha field: only `short_sha`
/// and `commit_url`, whose last segment is the full sha. A short sha would never
/// match a stored commit, so without the URL the delivery is refused.
fn deployed_sha(root: &Node<'_>) -> Result<CommitSha, MapError> {
    let url = root.str("commit_url")?;
    let sha = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if !url.contains("/commit/") || sha.len() < 7 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(root.error(
            "commit_url",
            &format!("does not end in a commit sha: {url:?}"),
        ));
    }
    if let Some(short) = root.opt_str("short_sha")?
        && !sha.starts_with(short)
    {
        return Err(root.error(
            "short_sha",
            &format!("{short:?} is not the start of the sha in commit_url ({sha})"),
        ));
    }
    CommitSha::parse(sha).map_err(|e| root.error("commit_url", &e.to_string()))
}

/// An issue (or work item) of type incident, or labelled `incident`: an incident.
fn issue(root: &Node<'_>, routing: &Routing) -> Result<Outcome, MapError> {
    let repo = project_path(root)?;
    let attrs = root.object("object_attributes")?;
    let iid = attrs.id("iid")?;
    if !is_incident(root, &attrs)? {
        return Ok(Outcome::skipped(format!(
            "issue #{iid} is not an incident (no incident type or label)"
        )));
    }
    let service = match routing.repo_service(repo.as_str(), None) {
        Ok(service) => service_name(&service, "the service map")?,
        Err(reason) => return Ok(Outcome::skipped(reason)),
    };
    // A reopened incident carries no resolution; an absent field keeps the stored
    // value (SPEC §8), so it stays resolved at its first close until the next close.
    let closed =
        attrs.opt_str("state")? == Some("closed") || attrs.opt_str("action")? == Some("close");
    let resolved_at = if closed {
        // Older GitLab sends no `closed_at`; the close event's `updated_at` is then
        // the closing time.
        Some(match attrs.opt_time("closed_at")? {
            Some(t) => t,
            None => attrs.time("updated_at")?,
        })
    } else {
        None
    };
    Ok(Outcome::event(Event::Incident(Incident {
        id: event_id(
            &format!("gitlab:{repo}:issue:{iid}"),
            "object_attributes.iid",
        )?,
        service,
        opened_at: attrs.time("created_at")?,
        opened_at_estimated: false,
        resolved_at,
        // GitLab's default for an incident nobody rated is `unknown`: no severity.
        severity: attrs
            .opt_str("severity")?
            .filter(|s| !s.eq_ignore_ascii_case("unknown"))
            .map(str::to_owned),
        deployment_id: None,
        sha: None,
        title: attrs.opt_str("title")?.map(str::to_owned),
    })))
}

/// GitLab marks an incident by its type (`issue_type` in older payloads, `type` in
/// newer ones); teams without incident management use a label instead.
fn is_incident(root: &Node<'_>, attrs: &Node<'_>) -> Result<bool, MapError> {
    for key in ["issue_type", "type"] {
        if attrs
            .opt_str(key)?
            .is_some_and(|t| t.eq_ignore_ascii_case("incident"))
        {
            return Ok(true);
        }
    }
    for label in attrs
        .array("labels")?
        .into_iter()
        .chain(root.array("labels")?)
    {
        if label
            .opt_str("title")?
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("incident"))
        {
            return Ok(true);
        }
    }
    Ok(false)
}
