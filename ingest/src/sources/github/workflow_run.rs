//! `workflow_run` deliveries → builds, and also deployments when the workflow is one
//! the config lists under `[sources.github] deploy_workflows`.

use shiplog_model::{Build, Event, Status};

use super::delivery::Outcome;
use crate::sources::deploy_workflow::add_deployment;
use crate::sources::payload::{Node, event_id};
use crate::sources::{MapError, Routing};

pub(super) fn workflow_run(root: &Node<'_>, routing: &Routing) -> Result<Outcome, MapError> {
    let repo = root.object("repository")?.repo("full_name")?;
    let action = root.str("action")?;
    let run = root.object("workflow_run")?;
    if action != "completed" {
        return Ok(Outcome::skipped(format!(
            "workflow_run {action}: only a completed run is a build"
        )));
    }
    let run_id = run.id("id")?;
    let conclusion = run.str("conclusion")?;
    let status = match conclusion {
        "success" => "success",
        "failure" | "timed_out" | "startup_failure" => "failure",
        "cancelled" | "skipped" | "neutral" | "action_required" | "stale" => {
            return Ok(Outcome::skipped(format!(
                "workflow run {run_id} ended {conclusion}: not a verdict on the code"
            )));
        }
        other => {
            return Ok(Outcome::skipped(format!(
                "workflow run {run_id} ended {other:?}: not a conclusion Shiplog knows"
            )));
        }
    };
    // A re-run keeps the run id; each attempt is a build of its own.
    let attempt = run.opt_i64("run_attempt")?.unwrap_or(1);
    let id = event_id(
        &format!("github:{repo}:run:{run_id}:{attempt}"),
        "workflow_run.id",
    )?;
    let name = match run.opt_str("name")? {
        Some(name) => Some(name),
        None => match root.opt_object("workflow")? {
            Some(workflow) => workflow.opt_str("name")?,
            None => None,
        },
    };
    let sha = run.sha("head_sha")?;
    let started_at = run.opt_time("run_started_at")?;
    let finished_at = run.time("updated_at")?;
    let build = Build {
        id,
        repo,
        sha,
        status: Status::new(status),
        branch: run.opt_str("head_branch")?.map(str::to_owned),
        started_at,
        finished_at,
        provider: Some("github-actions".to_owned()),
    };
    let mut outcome = Outcome::events(vec![Event::Build(build.clone())]);
    if let Some(name) = name.filter(|name| routing.is_deploy_workflow(name)) {
        add_deployment(
            &mut outcome.events,
            &mut outcome.skipped,
            routing,
            &build,
            name,
        )?;
    }
    Ok(outcome)
}
