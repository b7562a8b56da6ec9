//! Jira issue webhooks (Cloud and Server/Data Center) → incidents (SPEC §6). An
//! issue whose type is one of `[sources.jira] issue_types` (default `Incident`) or
//! that carries one of `[sources.jira] labels` is an incident, `jira:{issue.id}`.
//! Every `jira:issue_created` and `jira:issue_updated` delivery carries the issue's
//! current fields, so each maps to an update of that incident; the store merges
//! updates field by field, so they may arrive in any order.
//!
//! The id, not the key: moving an issue to another project gives it a new key
//! (`OPS-12` → `INC-3`) and keeps its id, and the incident must stay one.

use chrono::{DateTime, Utc};
use serde_json::Value;
use shiplog_model::{Event, Incident, Timestamp, check_range};

use super::payload::{Node, event_id, parse_object, parse_time, service_name};
use super::routing::JiraIssue;
use super::{Incoming, MapError, Mapping, Routing};

/// Jira Cloud's id of a delivery, the same on its retries; Jira Server sends none
/// (the raw log then keys the delivery by its body's hash).
pub const DELIVERY_HEADER: &str = "x-atlassian-webhook-identifier";

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let value = parse_object(incoming.body, "jira")?;
    let event = Node::root(&value, "jira").str("webhookEvent")?;
    let root = Node::root(&value, event);
    let delivery_id = incoming.header(DELIVERY_HEADER).map(str::to_owned);
    let skip = |why: String| -> Result<Mapping, MapError> {
        Ok(Mapping::skipped(event, delivery_id.clone(), why))
    };
    if !matches!(
        event,
        "jira:issue_created" | "jira:issue_updated" | "jira:issue_deleted"
    ) {
        return skip(format!(
            "{event}: Shiplog maps issue events only (jira:issue_created, jira:issue_updated)"
        ));
    }
    let issue = root.object("issue")?;
    let issue_id = issue.id("id")?;
    let key = issue.opt_str("key")?.unwrap_or(issue_id.as_str());
    // SPEC has no deletion: an incident once stored counts in every figure it fed,
    // and a deleted issue is most often a duplicate or a mistake filed on the wrong
    // project, which a type change already leaves alone too.
    if event == "jira:issue_deleted" {
        return skip(format!(
            "issue {key} was deleted; Shiplog never deletes an incident, so one stored for it \
             stays as it was"
        ));
    }

    let fields = issue.object("fields")?;
    let issue_type = match fields.opt_object("issuetype")? {
        Some(t) => t.opt_str("name")?,
        None => None,
    };
    let labels = fields.opt_strings("labels")?.unwrap_or_default();
    let options = &routing.jira;
    if !options.is_incident(issue_type, &labels) {
        return skip(format!(
            "issue {key} is a {} without a label that makes it an incident: Shiplog maps issues \
             whose type is in `[sources.jira] issue_types` ({}) or that carry one of \
             `[sources.jira] labels` ({}); add one there, then run `shiplog replay`",
            issue_type.unwrap_or("issue of no type"),
            listed(&options.issue_types),
            listed(&options.labels)
        ));
    }

    let mut components = Vec::new();
    for component in fields.array("components")? {
        components.extend(component.opt_str("name")?);
    }
    let project = match fields.opt_object("project")? {
        Some(p) => p.opt_str("key")?,
        None => None,
    };
    let field = match &options.service_field {
        Some(name) => field_value(&fields, name)?,
        None => None,
    };
    let Some(service) = routing.jira_service(JiraIssue {
        field: field.as_deref(),
        components: &components,
        labels: &labels,
        project,
    }) else {
        return skip(format!(
            "issue {key}: no service for it; set `[sources.jira] service_field` to a field that \
             names the service, or list one of its components ({}) under `jira_components` or its \
             project ({}) under `jira_projects` of a service, then run `shiplog replay`",
            if components.is_empty() {
                "none".to_owned()
            } else {
                components.join(", ")
            },
            project.unwrap_or("none")
        ));
    };

    let event_time = epoch_millis(&root, "timestamp")?;
    let created = jira_time(&fields, "created")?;
    // `fields.created` is in every issue delivery; without it the delivery's own
    // time is exact for the creation, and only a stand-in for an update.
    let opened_at_estimated = created.is_none() && event != "jira:issue_created";
    let opened_at = created
        .or(event_time)
        .ok_or_else(|| fields.error("created", "is missing"))?;
    // Resolved: the status is in the `done` category, or Jira set a resolution date
    // (a workflow may resolve without a done status, or close without a resolution).
    // A reopened issue carries neither, and leaves `resolved_at` absent: an absent
    // field keeps the stored one (SPEC §8 never lets null overwrite), so the incident
    // keeps its first resolution until the next one replaces it.
    let done = match fields.opt_object("status")? {
        Some(status) => match status.opt_object("statusCategory")? {
            Some(category) => category.opt_str("key")? == Some("done"),
            None => false,
        },
        None => false,
    };
    let resolution_date = jira_time(&fields, "resolutiondate")?;
    let resolved_at = if done || resolution_date.is_some() {
        Some(
            resolution_date
                .or(event_time)
                .ok_or_else(|| root.error("timestamp", "is missing"))?,
        )
    } else {
        None
    };
    let severity = match fields.opt_object("priority")? {
        Some(p) => p.opt_str("name")?.map(str::to_owned),
        None => None,
    };

    let incident = Incident {
        id: event_id(&format!("jira:{issue_id}"), "issue.id")?,
        service: service_name(&service, "the issue's service field, components or project")?,
        opened_at,
        opened_at_estimated,
        resolved_at,
        severity,
        deployment_id: None,
        sha: None,
        title: fields.opt_str("summary")?.map(str::to_owned),
    };
    Ok(Mapping::one(event, delivery_id, Event::Incident(incident)))
}

/// The service named by field `name` of the issue: a text field, a select list's
/// option (`{"value": …}`), a user or version picker's `name`, or the first of a
/// multi-select's values.
fn field_value(fields: &Node<'_>, name: &str) -> Result<Option<String>, MapError> {
    let Some(node) = fields.get(name) else {
        return Ok(None);
    };
    let node = match node.value() {
        Value::Array(_) => match fields.array(name)?.into_iter().next() {
            Some(first) => first,
            None => return Ok(None),
        },
        _ => node,
    };
    match node.value() {
        Value::String(s) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
        Value::Object(_) => Ok(node
            .opt_str("value")?
            .or(node.opt_str("name")?)
            .map(str::to_owned)),
        _ => Err(fields.error(
            name,
            "must be text, a select list's option or a list of them to name a service",
        )),
    }
}

/// Jira's instants: `2019-02-15T19:01:52.971-0800` (an offset without a colon, which
/// RFC 3339 does not take), or any form [`parse_time`] reads.
fn jira_time(node: &Node<'_>, key: &str) -> Result<Option<Timestamp>, MapError> {
    let Some(raw) = node.opt_str(key)? else {
        return Ok(None);
    };
    DateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .and_then(|t| check_range(t).ok())
        .or_else(|| parse_time(raw))
        .map(Some)
        .ok_or_else(|| node.error(key, &format!("is not a timestamp: {raw:?}")))
}

/// The delivery's `timestamp`: milliseconds since the Unix epoch.
fn epoch_millis(node: &Node<'_>, key: &str) -> Result<Option<Timestamp>, MapError> {
    match node.opt_i64(key)? {
        None => Ok(None),
        Some(ms) => DateTime::from_timestamp_millis(ms)
            .and_then(|t| check_range(t).ok())
            .map(Some)
            .ok_or_else(|| node.error(key, &format!("is not an instant: {ms}"))),
    }
}

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
