//! CircleCI outbound webhooks → builds, and also deployments when the workflow is one
//! the config lists under `[sources.circleci] deploy_workflows` (SPEC §6).
//!
//! A `workflow-completed` delivery is a build of the pipeline's commit,
//! `circleci:{workflow.id}`: the repository from `pipeline.vcs.origin_repository_url`
//! (a GitHub or GitLab URL, the form commits are stored under), the commit
//! `pipeline.vcs.revision`, the branch `pipeline.vcs.branch`, from `workflow.created_at`
//! to `workflow.stopped_at`. A workflow that succeeded is a green build; one that
//! failed, errored or was failing a red one; a cancelled or unauthorized workflow is
//! no verdict on the code and is stored with the reason, as GitHub's `workflow_run`
//! does. `job-completed` (a job is part of a workflow) and any other type are stored
//! and skipped. The body's top-level `id` is the delivery id, the same on CircleCI's
//! retries.

use shiplog_model::{Build, RepoName, Status};

use super::argocd::repo_from_url;
use super::deploy_workflow::build_mapping;
use super::payload::{Node, event_id, event_named, parse_object};
use super::{Incoming, MapError, Mapping, Routing};

/// The header naming the event type; the body's `type` says the same.
pub const EVENT_HEADER: &str = "circleci-event-type";

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let value = parse_object(incoming.body, "circleci")?;
    let top = Node::root(&value, "circleci");
    let event = event_named(&top, incoming, "type", EVENT_HEADER)?;
    let root = Node::root(&value, event);
    let delivery_id = root.opt_id("id")?;
    if event != "workflow-completed" {
        let why = match event {
            "job-completed" => format!(
                "{event}: a job is part of a workflow; Shiplog maps workflow-completed \
                 (a build, or a deployment for a workflow under deploy_workflows)"
            ),
            _ => format!(
                "{event}: not a type Shiplog maps from CircleCI (workflow-completed: a build, \
                 or a deployment for a workflow under deploy_workflows)"
            ),
        };
        return Ok(Mapping::skipped(event, delivery_id, why));
    }
    let skip = |why: String| -> Result<Mapping, MapError> {
        Ok(Mapping::skipped(event, delivery_id.clone(), why))
    };

    let workflow = root.object("workflow")?;
    let workflow_id = workflow.id("id")?;
    let name = workflow.str("name")?;
    let status = match workflow.str("status")? {
        "success" => "success",
        "failed" | "error" | "failing" => "failure",
        ended @ ("canceled" | "unauthorized") => {
            return skip(format!(
                "workflow {name:?} ({workflow_id}) ended {ended}: not a verdict on the code"
            ));
        }
        other => {
            return skip(format!(
                "workflow {name:?} ({workflow_id}) ended {other:?}: not a status Shiplog knows \
                 (success, failed, error, failing)"
            ));
        }
    };
    let vcs = root.object("pipeline")?.object("vcs")?;
    let url = vcs.str("origin_repository_url")?;
    let Some(repo) = repo_from_url(url) else {
        return skip(format!(
            "workflow {name:?}: pipeline.vcs.origin_repository_url {url:?} is not a GitHub or \
             GitLab repository URL, the form commits are stored under"
        ));
    };
    let repo =
        RepoName::parse(&repo).map_err(|e| vcs.error("origin_repository_url", &e.to_string()))?;
    let sha = vcs.sha("revision")?;
    let branch = vcs.opt_str("branch")?.map(str::to_owned);
    let started_at = workflow.opt_time("created_at")?;
    let finished_at = workflow.time("stopped_at")?;
    let id = event_id(&format!("circleci:{workflow_id}"), "workflow.id")?;

    let build = Build {
        id,
        repo,
        sha,
        status: Status::new(status),
        branch,
        started_at,
        finished_at,
        provider: Some("circleci".to_owned()),
    };
    let deploys = routing.is_circleci_deploy_workflow(name);
    build_mapping(event, delivery_id, build, routing, deploys.then_some(name))
}
