//! The deployment a CI workflow that deploys is (GitHub Actions `deploy_workflows`,
//! CircleCI `deploy_workflows`): the build its run is, put out to production.

use shiplog_model::{Build, Deployment, Event};

use super::payload::service_name;
use super::{MapError, Mapping, Routing};

/// The mapping of a finished CI run (CircleCI's workflow, Buildkite's build): `build`,
/// and its deployment too when `deploy` names the deploy workflow or pipeline it is.
pub(crate) fn build_mapping(
    event: &str,
    delivery_id: Option<String>,
    build: Build,
    routing: &Routing,
    deploy: Option<&str>,
) -> Result<Mapping, MapError> {
    let mut mapping = Mapping::one(event, delivery_id, Event::Build(build.clone()));
    if let Some(name) = deploy {
        add_deployment(
            &mut mapping.events,
            &mut mapping.skipped,
            routing,
            &build,
            name,
        )?;
    }
    Ok(mapping)
}

/// Adds to `events` the production deployment that `build`, a finished run of the
/// deploy workflow `workflow`, is: the same id, repository, commit, status and times.
/// A workflow names no environment; absent means production (SPEC §2), and a later
/// event that does name one is not overruled by a default. When no one service is
/// the workflow's ([`Routing::deploy_service`]), the build stays mapped and `skipped`
/// says why the deployment is not.
pub(crate) fn add_deployment(
    events: &mut Vec<Event>,
    skipped: &mut Option<String>,
    routing: &Routing,
    build: &Build,
    workflow: &str,
) -> Result<(), MapError> {
    match routing.deploy_service(build.repo.as_str(), workflow) {
        Ok(service) => events.push(Event::Deployment(Deployment {
            id: build.id.clone(),
            service: service_name(&service, "the service map")?,
            environment: None,
            repo: Some(build.repo.clone()),
            sha: build.sha.clone(),
            status: Some(build.status.clone()),
            started_at: build.started_at,
            finished_at: build.finished_at,
            team: None,
            commits: None,
        })),
        Err(reason) => {
            *skipped = Some(format!(
                "deploy workflow {workflow:?}: the build is mapped, the deployment is not: {reason}"
            ));
        }
    }
    Ok(())
}
