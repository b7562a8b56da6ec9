//! `issues` deliveries → incidents: an issue is an incident when it carries a label
//! named `incident` (any case).

use shiplog_model::{Event, Incident};

use super::delivery::Outcome;
use crate::sources::payload::{Node, event_id, service_name};
use crate::sources::{MapError, Routing};

const LABEL: &str = "incident";

pub(super) fn issues(root: &Node<'_>, routing: &Routing) -> Result<Outcome, MapError> {
    let repo = root.object("repository")?.repo("full_name")?;
    let action = root.str("action")?;
    let issue = root.object("issue")?;
    let number = issue.id("number")?;
    if action == "unlabeled" && is_incident_label(root.opt_object("label")?.as_ref())? {
        // An incident that happened stays recorded: dropping the label is more
        // often tidying up than a retraction, and deleting facts on an edit would
        // make the metrics depend on the order of deliveries.
        return Ok(Outcome::skipped(format!(
            "issue #{number} lost its incident label; an incident once recorded stays"
        )));
    }
    if !matches!(
        action,
        "opened" | "labeled" | "reopened" | "edited" | "closed"
    ) {
        return Ok(Outcome::skipped(format!(
            "issues {action}: not used; Shiplog maps opened, labeled, reopened, edited and closed issues"
        )));
    }
    let mut labelled = false;
    for label in issue.array("labels")? {
        labelled |= is_incident_label(Some(&label))?;
    }
    if !labelled {
        return Ok(Outcome::skipped(format!(
            "issue #{number} has no incident label"
        )));
    }
    let service = match routing.repo_service(repo.as_str(), None) {
        Ok(service) => service_name(&service, "the service map")?,
        Err(reason) => return Ok(Outcome::skipped(reason)),
    };
    // The state, not only the action, decides: a closed issue that is labelled or
    // edited later is a resolved incident. A reopened issue carries no resolution;
    // since an absent field keeps the stored value (SPEC §8), a reopened incident
    // stays resolved at its first close until the next close moves `resolved_at`.
    let closed = action == "closed" || issue.opt_str("state")? == Some("closed");
    let resolved_at = if closed {
        Some(match issue.opt_time("closed_at")? {
            Some(t) => t,
            None => issue.time("updated_at")?,
        })
    } else {
        None
    };
    Ok(Outcome::events(vec![Event::Incident(Incident {
        id: event_id(&format!("github:{repo}:issue:{number}"), "issue.number")?,
        service,
        opened_at: issue.time("created_at")?,
        opened_at_estimated: false,
        resolved_at,
        severity: None,
        deployment_id: None,
        sha: None,
        title: issue.opt_str("title")?.map(str::to_owned),
    })]))
}

fn is_incident_label(label: Option<&Node<'_>>) -> Result<bool, MapError> {
    Ok(match label {
        Some(label) => label
            .opt_str("name")?
            .is_some_and(|name| name.trim().eq_ignore_ascii_case(LABEL)),
        None => false,
    })
}
