//! Opsgenie webhook integration deliveries → incidents (SPEC §6). Each alert action
//! the integration forwards carries the alert's current state, so `Create`,
//! `Acknowledge` and `Close` map to updates of one incident (`opsgenie:{alertId}`);
//! the store merges updates field by field, so they may arrive in any order. Other
//! actions (`AddNote`, `AssignOwnership`, `Escalate`, …) change nothing Shiplog keeps
//! and are stored and skipped.
//!
//! Opsgenie writes instants as numbers since the Unix epoch: `createdAt` in
//! milliseconds, `updatedAt` (the time of the action) in nanoseconds.

use chrono::DateTime;
use serde_json::Value;
use shiplog_model::{Event, Incident, Timestamp, check_range};

use super::payload::{Node, event_id, parse_object, service_name};
use super::routing::OpsgenieAlert;
use super::{Incoming, MapError, Mapping, Routing};

/// The actions that map to an incident; every other one is stored and skipped.
pub const MAPPED_ACTIONS: &[&str] = &["Create", "Acknowledge", "Close"];

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let value = parse_object(incoming.body, "opsgenie")?;
    let action = Node::root(&value, "opsgenie").str("action")?;
    let what = format!("opsgenie {action}");
    let root = Node::root(&value, &what);
    let alert = root.object("alert")?;
    let alert_id = alert.id("alertId")?;
    // The integration sends no delivery id: the raw log keys the delivery by its
    // body's hash, and every action's body differs (`updatedAt`), while a retry of
    // one action repeats it exactly.
    let skip =
        |why: String| -> Result<Mapping, MapError> { Ok(Mapping::skipped(action, None, why)) };
    if !MAPPED_ACTIONS.contains(&action) {
        return skip(format!(
            "alert {alert_id}: the {action} action changes nothing Shiplog keeps; it maps {}",
            MAPPED_ACTIONS.join(", ")
        ));
    }

    let teams = teams(&alert)?;
    let tags = alert.opt_strings("tags")?.unwrap_or_default();
    let entity = alert.opt_str("entity")?;
    let Some(service) = routing.opsgenie_service(OpsgenieAlert {
        teams: &teams,
        tags: &tags,
        entity,
    }) else {
        return skip(format!(
            "alert {alert_id}: no service claims it and it names no entity; list one of its teams \
             ({}) under `opsgenie_teams` or one of its tags ({}) under `opsgenie_tags` of a \
             service, then run `shiplog replay`",
            listed(&teams),
            listed(&tags)
        ));
    };

    let created_at = epoch(&alert, "createdAt")?;
    let updated_at = epoch(&alert, "updatedAt")?;
    let is_create = action == "Create";
    // `createdAt` is when the alert opened, in every action about it. Without it the
    // action's own time is exact for Create, and for any other action only a stand-in,
    // which never moves a stored open time (`Incident::opened_at_estimated`).
    let opened_at_estimated = created_at.is_none() && !is_create;
    let opened_at = created_at
        .or(updated_at)
        .ok_or_else(|| alert.error("createdAt", "is missing"))?;
    // Only Close sets `resolved_at`; an absent field keeps the stored one (SPEC §8),
    // so an acknowledgement delivered after the close leaves the incident closed.
    let resolved_at = match action {
        "Close" => Some(updated_at.ok_or_else(|| alert.error("updatedAt", "is missing"))?),
        _ => None,
    };

    let incident = Incident {
        id: event_id(&format!("opsgenie:{alert_id}"), "alert.alertId")?,
        service: service_name(&service, "the alert's team, tags or entity")?,
        opened_at,
        opened_at_estimated,
        resolved_at,
        severity: priority(&alert)?,
        deployment_id: None,
        sha: None,
        title: alert.opt_str("message")?.map(str::to_owned),
    };
    Ok(Mapping::one(action, None, Event::Incident(incident)))
}

/// The alert's teams: `alert.teams` (names or ids, or `{id, name}` objects), the
/// single `alert.team`, and the `responders` of type `team` (their names and ids).
fn teams<'a>(alert: &Node<'a>) -> Result<Vec<&'a str>, MapError> {
    let mut teams = Vec::new();
    for team in alert.array("teams")? {
        match team.value() {
            Value::String(s) if !s.trim().is_empty() => teams.push(s.as_str()),
            Value::Object(_) => push_named(&mut teams, &team)?,
            _ => {}
        }
    }
    for responder in alert.array("responders")? {
        if responder.value().is_object() && responder.opt_str("type")? == Some("team") {
            push_named(&mut teams, &responder)?;
        }
    }
    teams.extend(alert.opt_str("team")?);
    Ok(teams)
}

/// A team's `name` and `id`, as far as it has them.
fn push_named<'a>(teams: &mut Vec<&'a str>, node: &Node<'a>) -> Result<(), MapError> {
    teams.extend(node.opt_str("name")?);
    teams.extend(node.opt_str("id")?);
    Ok(())
}

/// The alert's priority as Opsgenie names it (`P1`…`P5`); a bare number (`3`, as some
/// integrations send it) is that priority.
fn priority(alert: &Node<'_>) -> Result<Option<String>, MapError> {
    match alert.get("priority").map(|p| p.value()) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(Some(format!("P{n}"))),
        Some(_) => Ok(alert.opt_str("priority")?.map(str::to_owned)),
    }
}

/// An instant written as a number since the Unix epoch, in whichever unit its size
/// says: seconds, milliseconds, microseconds or nanoseconds (Opsgenie uses the last
/// three; each unit's range covers a different span of years, so a value is never
/// ambiguous between 1973 and 5138). A string of digits is read the same way, any
/// other string as a timestamp. Kept to microseconds, as the store keeps instants.
fn epoch(node: &Node<'_>, key: &str) -> Result<Option<Timestamp>, MapError> {
    let number = match node.get(key).map(|v| v.value()) {
        None => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) if s.trim().chars().all(|c| c.is_ascii_digit()) => {
            s.trim().parse().ok()
        }
        Some(Value::String(_)) => return node.opt_time(key),
        Some(_) => return Err(node.error(key, "must be a number of milliseconds since 1970")),
    };
    let n = number.ok_or_else(|| node.error(key, "is not an integer"))?;
    let micros = match n.unsigned_abs() {
        0..100_000_000_000 => n.checked_mul(1_000_000),
        100_000_000_000..100_000_000_000_000 => n.checked_mul(1_000),
        100_000_000_000_000..100_000_000_000_000_000 => Some(n),
        _ => Some(n / 1_000),
    };
    micros
        .and_then(DateTime::from_timestamp_micros)
        .and_then(|t| check_range(t).ok())
        .map(Some)
        .ok_or_else(|| node.error(key, &format!("is not an instant: {n}")))
}

fn listed(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
