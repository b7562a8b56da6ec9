//! PagerDuty webhooks v3 deliveries → incidents (SPEC §6). Every `incident.*` event
//! whose `event.data` is an incident carries the incident's current state, so each
//! one maps to an update of one incident (`pagerduty:{data.id}`); the store merges
//! updates field by field, so they may arrive in any order.

use shiplog_model::{Event, Incident};

use super::payload::{Node, event_id, parse_json, service_name};
use super::{Incoming, MapError, Mapping, Routing};

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let value = parse_json(incoming.body, "pagerduty")?;
    let event_type = Node::root(&value, "pagerduty")
        .object("event")?
        .str("event_type")?;
    let root = Node::root(&value, event_type);
    let event = root.object("event")?;
    let delivery_id = event.opt_id("id")?;
    let skip = |why: String| -> Result<Mapping, MapError> {
        Ok(Mapping::skipped(event_type, delivery_id.clone(), why))
    };

    if !event_type.starts_with("incident.") {
        return skip(format!(
            "{event_type}: Shiplog maps incident events only (incident.triggered, incident.resolved, …)"
        ));
    }
    if let Some(resource) = event.opt_str("resource_type")?
        && resource != "incident"
    {
        return skip(format!(
            "{event_type}: the event is about a {resource}, not an incident"
        ));
    }
    let data = event.object("data")?;
    // incident.annotated, incident.responder.* and incident.status_update_published
    // carry a note, a responder or a status update, not the incident's state.
    if let Some(kind) = data.opt_str("type")?
        && kind != "incident"
    {
        return skip(format!(
            "{event_type}: event.data is an {kind}, not an incident"
        ));
    }

    let incident_id = data.id("id")?;
    let pd_service = data.opt_object("service")?;
    let (pd_id, pd_name) = match &pd_service {
        Some(s) => (s.opt_id("id")?, s.opt_str("summary")?),
        None => (None, None),
    };
    let Some(service) = routing.pagerduty_service(pd_id.as_deref(), pd_name) else {
        return skip(format!(
            "incident {incident_id}: its PagerDuty service ({}) has no name and is not listed under \
             `pagerduty_services` of any service; list it there, then run `shiplog replay`",
            pd_id.as_deref().unwrap_or("no id")
        ));
    };

    let occurred_at = event.time("occurred_at")?;
    // `data.created_at` is when the incident opened, in every event about it. Older
    // v3 payloads (the fixtures) lack it; then the event's own time is exact for
    // incident.triggered, and for any other event only a stand-in, which never moves
    // a stored open time (`Incident::opened_at_estimated`).
    let created_at = data.opt_time("created_at")?;
    let opened_at_estimated = created_at.is_none() && event_type != "incident.triggered";
    let opened_at = created_at.unwrap_or(occurred_at);
    // Only the resolution sets `resolved_at`; every other event leaves it absent, and
    // an absent field keeps the stored one (SPEC §8), so an acknowledgement delivered
    // after the resolution does not reopen the incident. A reopened incident keeps
    // its first `resolved_at` until the next resolution replaces it.
    let resolved_at = (event_type == "incident.resolved").then_some(occurred_at);
    // The priority (P1…P5) is what teams call severity; urgency (high/low) only says
    // how to page, and is the fallback for accounts without priorities.
    let priority = match data.opt_object("priority")? {
        Some(p) => p.opt_str("summary")?,
        None => None,
    };
    let severity = priority.or(data.opt_str("urgency")?).map(str::to_owned);

    let incident = Incident {
        id: event_id(&format!("pagerduty:{incident_id}"), "event.data.id")?,
        service: service_name(&service, "event.data.service")?,
        opened_at,
        opened_at_estimated,
        resolved_at,
        severity,
        deployment_id: None,
        sha: None,
        title: data.opt_str("title")?.map(str::to_owned),
    };
    Ok(Mapping::one(
        event_type,
        delivery_id,
        Event::Incident(incident),
    ))
}
