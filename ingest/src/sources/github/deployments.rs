//! `deployment_status` deliveries → deployments. One GitHub deployment is one Shiplog
//! deployment; each of its statuses updates it, and only a finished one (success,
//! failure, error) is mapped.

use serde_json::Value;
use shiplog_model::{Deployment, Event, Status};

use super::delivery::Outcome;
use crate::sources::payload::{Node, event_id, service_name};
use crate::sources::{MapError, Routing};

pub(super) fn deployment_status(root: &Node<'_>, routing: &Routing) -> Result<Outcome, MapError> {
    let repo = root.object("repository")?.repo("full_name")?;
    let deployment = root.object("deployment")?;
    let status = root.object("deployment_status")?;
    let deployment_id = deployment.id("id")?;
    let state = status.str("state")?;
    let verdict = match state {
        "success" => "success",
        "failure" | "error" => "failure",
        "pending" | "queued" | "in_progress" => {
            return Ok(Outcome::skipped(format!(
                "deployment_status {state}: deployment {deployment_id} has not finished; a later status finishes it"
            )));
        }
        // GitHub marks an older deployment inactive when a newer one of the same
        // environment succeeds; its result came with an earlier status.
        "inactive" => {
            return Ok(Outcome::skipped(format!(
                "deployment_status inactive: deployment {deployment_id} was replaced by a later one; not a finished deployment"
            )));
        }
        other => {
            return Ok(Outcome::skipped(format!(
                "deployment_status {other:?}: not a state Shiplog knows"
            )));
        }
    };
    let deploy_name = payload_service(deployment.value());
    let service = match routing.repo_service(repo.as_str(), deploy_name.as_deref()) {
        Ok(service) => service_name(&service, "the service map or deployment.payload.service")?,
        Err(reason) => return Ok(Outcome::skipped(reason)),
    };
    let environment = match status.opt_str("environment")? {
        Some(environment) => Some(environment),
        None => deployment.opt_str("environment")?,
    };
    let finished_at = match status.opt_time("created_at")? {
        Some(t) => t,
        None => status
            .opt_time("updated_at")?
            .ok_or_else(|| status.error("created_at", "is missing"))?,
    };
    Ok(Outcome::events(vec![Event::Deployment(Deployment {
        id: event_id(&format!("github:{repo}:{deployment_id}"), "deployment.id")?,
        service,
        environment: environment.map(|e| routing.environment(e)),
        sha: deployment.sha("sha")?,
        repo: Some(repo),
        status: Some(Status::new(verdict)),
        started_at: deployment.opt_time("created_at")?,
        finished_at,
        team: None,
        commits: None,
    })]))
}

/// `deployment.payload.service` when it is a string. The payload is whatever the
/// deployment's creator sent: an object, a JSON text in a string (older API clients),
/// or `{}`; anything else names no service.
pub(crate) fn payload_service(deployment: &Value) -> Option<String> {
    let service = match deployment.get("payload")? {
        Value::Object(payload) => payload.get("service")?.as_str()?.to_owned(),
        Value::String(text) => serde_json::from_str::<Value>(text)
            .ok()?
            .get("service")?
            .as_str()?
            .to_owned(),
        _ => return None,
    };
    Some(service).filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::payload_service;

    #[test]
    fn payload_names_the_service_as_an_object_or_a_json_string() {
        let of = |payload| payload_service(&json!({ "payload": payload }));
        assert_eq!(
            of(json!({"service": "checkout"})).as_deref(),
            Some("checkout")
        );
        assert_eq!(
            of(json!("{\"service\":\"search\"}")).as_deref(),
            Some("search")
        );
        assert_eq!(of(json!({})), None);
        assert_eq!(of(json!("")), None);
        assert_eq!(of(json!({"service": 7})), None);
        assert_eq!(of(json!({"service": " "})), None);
        assert_eq!(payload_service(&json!({})), None);
    }
}
