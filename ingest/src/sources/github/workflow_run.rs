//! `workflow_run` deliveries → builds, and also deployments when the workflow is one
//! the config lists under `[sources.github] deploy_workflows`.

use shiplog_model::{Build, Deployment, Event, Status};

use super::delivery::Outcome;
use crate::sources::payload::{Node, event_id, service_name};
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
    let mut outcome = Outcome::events(vec![Event::Build(Build {
        id: id.clone(),
        repo: repo.clone(),
        sha: sha.clone(),
        status: Status::new(status),
        branch: run.opt_str("head_branch")?.map(str::to_owned),
        started_at,
        finished_at,
        provider: Some("github-actions".to_owned()),
    })]);
    let Some(name) = name.filter(|name| routing.is_deploy_workflow(name)) else {
        return Ok(outcome);
    };
    match deploy_service(routing, repo.as_str(), name) {
        Ok(service) => outcome.events.push(Event::Deployment(Deployment {
            id,
            service: service_name(&service, "the service map")?,
            // A workflow run names no environment; absent means production (SPEC §2),
            // and a later event that does name one is not overruled by a default.
            environment: None,
            repo: Some(repo),
            sha,
            status: Some(Status::new(status)),
            started_at,
            finished_at,
            team: None,
            commits: None,
        })),
        Err(reason) => {
            outcome.skipped = Some(format!(
                "deploy workflow {name:?}: the build is mapped, the deployment is not: {reason}"
            ));
        }
    }
    Ok(outcome)
}

/// The service a deploy workflow of `repo` deploys.
///
/// A workflow's name (`Deploy`, `CD`) is what its authors called the workflow, not
/// a service. [`Routing::repo_service`] takes a deploy name at its word when no
/// service claims the repository (the name becomes the service), which would file
/// every unconfigured repository's deployments under a service called `Deploy`. So
/// the name is passed only when a configured service lists it, as its own name or
/// under `deploy_names` (how a monorepo's deploy workflows are told apart); otherwise
/// the repository alone decides.
fn deploy_service(routing: &Routing, repo: &str, workflow: &str) -> Result<String, String> {
    let listed = routing.services.iter().any(|(name, service)| {
        name.eq_ignore_ascii_case(workflow)
            || service
                .deploy_names
                .iter()
                .any(|d| d.eq_ignore_ascii_case(workflow))
    });
    routing.repo_service(repo, listed.then_some(workflow))
}

#[cfg(test)]
mod tests {
    use shiplog_model::ServiceSettings;

    use super::*;

    fn service(repo: &str, deploy_names: &[&str]) -> ServiceSettings {
        ServiceSettings {
            repo: Some(repo.into()),
            deploy_names: deploy_names.iter().map(|d| (*d).into()).collect(),
            ..ServiceSettings::default()
        }
    }

    #[test]
    fn a_workflow_name_is_not_taken_for_a_service_unless_the_config_lists_it() {
        let mut routing = Routing::default();
        assert_eq!(
            deploy_service(&routing, "acme/shop", "Deploy").unwrap(),
            "shop"
        );
        routing.services.insert(
            "checkout".into(),
            service("acme/shop", &["deploy-checkout"]),
        );
        routing
            .services
            .insert("search".into(), service("acme/shop", &[]));
        assert_eq!(
            deploy_service(&routing, "acme/shop", "Deploy-Checkout").unwrap(),
            "checkout"
        );
        assert_eq!(
            deploy_service(&routing, "acme/shop", "search").unwrap(),
            "search"
        );
        let refused = deploy_service(&routing, "acme/shop", "Deploy").unwrap_err();
        assert!(refused.contains("checkout, search"), "{refused}");
    }
}
