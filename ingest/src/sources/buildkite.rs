//! Buildkite pipeline webhooks → builds, and deployments for the pipelines the config
//! lists under `[sources.buildkite] deploy_pipelines` (SPEC §6).
//!
//! A `build.finished` delivery is a build of the build's commit, `buildkite:{build.id}`
//! (the build's UUID; its `number` is unique only within its pipeline): the repository
//! from `pipeline.repository` (a GitHub or GitLab URL, the form commits are stored
//! under; Buildkite's Build object names no repository of its own), the commit
//! `build.commit`, the branch `build.branch`, from `build.started_at` to
//! `build.finished_at`. When the pipeline's slug or name is under `deploy_pipelines`
//! the build is also the production deployment (`deploy_workflow::build_mapping`).
//!
//! `build.state`, as Buildkite documents it (`scheduled`, `running`, `passed`, `failed`,
//! `blocked`, `canceled`, `canceling`, `skipped`, `not_run`, `waiting`,
//! `waiting_failed`):
//!
//! - `passed` is a green build, `failed` a red one;
//! - `canceled` (someone stopped it), `skipped` (Buildkite passed over a queued build
//!   for a newer one on the branch) and `not_run` (every step was skipped by its `skip`
//!   or `if`) are no verdict on the code: stored and skipped with the reason, as
//!   GitHub's cancelled `workflow_run`s are;
//! - a blocked build is not finished. Buildkite sends `build.finished` when a build
//!   stops at a block step, with `blocked: true` and `state` left at its last value
//!   (`passed`), then `build.finished` again once it is unblocked and done. So
//!   `blocked` is read before `state`, and a blocked build (or a `state` of `blocked`,
//!   the notifications' spelling) is skipped: counting it would call a build green
//!   whose deploy step has not run;
//! - `scheduled`, `running`, `canceling`, `waiting`, `waiting_failed` (and `creating`,
//!   `failing`, which the GraphQL API and the notifications also spell) are not
//!   finished: Buildkite sends the build as it is when the delivery goes out, which may
//!   be later than the event (a build unblocked at once is `running` again), so such a
//!   `build.finished` is skipped and the one that follows is mapped.
//!
//! A build is created for a commit, `HEAD`, a branch or a tag (the REST API's `commit`),
//! and Buildkite puts the sha in `commit` once a job has checked it out; a build that
//! ends before one does (a real delivery of a blocked build said `"commit": "HEAD"`)
//! still names the ref. A
//! `commit` that is not a hex sha is such a ref, not a commit of the repository's
//! graph: skipped with the reason rather than stored as a commit that does not exist.
//! `ping`, the other `build.*` events and every `job.*` event are stored and skipped.
//! The delivery id is the `X-Buildkite-Request` header (a UUID) when present. Buildkite's
//! webhook docs list only `X-Buildkite-Event` and the token or signature header; the
//! request id is what real deliveries carry, so without it the raw log keys the
//! delivery by its body's hash, as for any sender that gives no id.

use shiplog_model::{Build, RepoName, Status};

use super::argocd::repo_from_url;
use super::deploy_workflow::build_mapping;
use super::payload::{Node, event_id, event_named, parse_object};
use super::{Incoming, MapError, Mapping, Routing};

/// The header naming the event (`build.finished`); the body's `event` says the same.
pub const EVENT_HEADER: &str = "x-buildkite-event";
/// The header carrying the delivery's id (a UUID); sent by Buildkite, though its docs
/// do not list it.
pub const DELIVERY_HEADER: &str = "x-buildkite-request";
/// The headers the adapter reads and the raw log keeps.
pub const KEPT_HEADERS: &[&str] = &[EVENT_HEADER, DELIVERY_HEADER];

/// What Shiplog takes from Buildkite, for the reasons of what it skips.
const MAPS: &str =
    "Shiplog maps build.finished (a build, or a deployment for a pipeline under deploy_pipelines)";

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let value = parse_object(incoming.body, "buildkite")?;
    let top = Node::root(&value, "buildkite");
    let event = event_named(&top, incoming, "event", EVENT_HEADER)?;
    let root = Node::root(&value, event);
    let delivery_id = incoming.header(DELIVERY_HEADER).map(str::to_owned);
    if event != "build.finished" {
        let why = match event {
            "ping" => format!("ping: the webhook's settings changed; {MAPS}"),
            "build.skipped" => format!("build.skipped: a skipped build is no verdict; {MAPS}"),
            _ if event.starts_with("build.") => {
                format!("{event}: the build has not finished; {MAPS}")
            }
            _ if event.starts_with("job.") => {
                format!("{event}: a job is part of a build; {MAPS}")
            }
            _ => format!("{event}: not an event Shiplog maps from Buildkite; {MAPS}"),
        };
        return Ok(Mapping::skipped(event, delivery_id, why));
    }
    let skip = |why: String| -> Result<Mapping, MapError> {
        Ok(Mapping::skipped(event, delivery_id.clone(), why))
    };

    let build = root.object("build")?;
    let label = label(&build)?;
    let blocked = "blocked on a block step, not finished: not a verdict on the code (the \
                   build.finished sent once it is unblocked and done is mapped)";
    if build.opt_bool("blocked")? == Some(true) {
        return skip(format!("{label} is {blocked}"));
    }
    let status = match build.str("state")? {
        "passed" => "success",
        "failed" => "failure",
        "blocked" => return skip(format!("{label} is {blocked}")),
        ended @ ("canceled" | "skipped" | "not_run") => {
            return skip(format!("{label} ended {ended}: not a verdict on the code"));
        }
        state @ ("scheduled" | "running" | "canceling" | "waiting" | "waiting_failed"
        | "creating" | "failing") => {
            return skip(format!(
                "{label} is {state}: Buildkite sent it as it was after the event, not \
                 finished (the build.finished sent once it is done is mapped)"
            ));
        }
        other => {
            return skip(format!(
                "{label} ended {other:?}: not a state Shiplog knows (passed, failed)"
            ));
        }
    };
    let pipeline = root.object("pipeline")?;
    let slug = pipeline.str("slug")?;
    let name = pipeline.opt_str("name")?.unwrap_or(slug);
    let url = pipeline.str("repository")?;
    let Some(repo) = repo_from_url(url) else {
        return skip(format!(
            "{label} of pipeline {slug:?}: pipeline.repository {url:?} is not a GitHub or \
             GitLab repository URL, the form commits are stored under"
        ));
    };
    let repo = RepoName::parse(&repo).map_err(|e| pipeline.error("repository", &e.to_string()))?;
    let commit = build.str("commit")?;
    if !is_hex_sha(commit) {
        return skip(format!(
            "{label}: build.commit {commit:?} is a ref, not a commit sha (Buildkite had not \
             resolved it to one)"
        ));
    }
    let sha = build.sha("commit")?;
    let branch = build.opt_str("branch")?.map(str::to_owned);
    let started_at = build.opt_time("started_at")?;
    let finished_at = build.time("finished_at")?;
    let id = event_id(&format!("buildkite:{}", build.id("id")?), "build.id")?;

    let build = Build {
        id,
        repo,
        sha,
        status: Status::new(status),
        branch,
        started_at,
        finished_at,
        provider: Some("buildkite".to_owned()),
    };
    // The slug, not the display name, is what a service's `deploy_names` lists: it is
    // the pipeline's id in its URLs and stays put when the name is edited.
    let deploys = routing.is_buildkite_deploy_pipeline(slug, name);
    build_mapping(event, delivery_id, build, routing, deploys.then_some(slug))
}

/// `build #2 (f62a1b4d-…)`, or as much of it as the body gives: the reasons name the
/// build before its id is known to be there.
fn label(build: &Node<'_>) -> Result<String, MapError> {
    Ok(match (build.opt_id("number")?, build.opt_id("id")?) {
        (Some(number), Some(id)) => format!("build #{number} ({id})"),
        (Some(number), None) => format!("build #{number}"),
        (None, Some(id)) => format!("build {id}"),
        (None, None) => "the build".to_owned(),
    })
}

/// Whether `raw` is a commit's hex sha (abbreviated from 7 digits, up to SHA-256's 64).
fn is_hex_sha(raw: &str) -> bool {
    (7..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_hexdigit())
}
