//! One GitHub delivery: the event `X-GitHub-Event` names, dispatched to its reader.

use shiplog_model::Event;

use super::{changes, deployments, issues, releases, workflow_run};
use crate::sources::payload::{Node, parse_json};
use crate::sources::{Incoming, MapError, Mapping, Routing};

/// The events Shiplog takes something from, named in the reason for skipping the rest.
const MAPPED: &str = "push, pull_request, deployment_status, workflow_run, release, issues";

/// Maps one GitHub delivery. The event name comes from the header only: GitHub's
/// bodies do not say which event they are.
pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let event = incoming
        .header("x-github-event")
        .ok_or_else(|| MapError::new("the X-GitHub-Event header is missing"))?;
    let delivery_id = incoming.header("x-github-delivery").map(str::to_owned);
    let body = parse_json(incoming.body, event)?;
    let root = Node::root(&body, event);
    let outcome = match event {
        "ping" => Outcome::skipped("ping: nothing to map"),
        "push" => changes::push(&root)?,
        "pull_request" => changes::pull_request(&root)?,
        "deployment" => Outcome::skipped(
            "deployment: waiting for its deployment_status (the status carries the result)",
        ),
        "deployment_status" => deployments::deployment_status(&root, routing)?,
        "workflow_run" => workflow_run::workflow_run(&root, routing)?,
        "issues" => issues::issues(&root, routing)?,
        "release" => releases::release(&root, routing)?,
        other => Outcome::skipped(format!("{other}: not used; Shiplog maps {MAPPED}")),
    };
    Ok(Mapping {
        event_type: event.to_owned(),
        delivery_id,
        events: outcome.events,
        skipped: outcome.skipped,
    })
}

/// What an event's reader made of the body; the delivery's name and id are added by
/// [`map`].
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub events: Vec<Event>,
    pub skipped: Option<String>,
}

impl Outcome {
    pub fn skipped(why: impl Into<String>) -> Outcome {
        Outcome {
            events: Vec::new(),
            skipped: Some(why.into()),
        }
    }

    pub fn events(events: Vec<Event>) -> Outcome {
        Outcome {
            events,
            skipped: None,
        }
    }
}
