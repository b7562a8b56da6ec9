//! The wire form of a typed event (SPEC §2), the inverse of [`super::generic`]'s
//! parser: what Shiplog writes to the raw log for events it made itself (a git
//! import, a backfill), so that every stored fact has a raw record that
//! `shiplog replay` can read again.

use chrono::SecondsFormat;
use serde_json::{Map, Value, json};
use shiplog_model::{Event, Timestamp};

use super::generic::{ParsedEvent, content_key};

fn time(t: Timestamp) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

fn text(value: &Option<String>) -> Option<Value> {
    value.clone().map(Value::String)
}

/// The JSON object of `event`; absent fields are left out, not `null`.
pub fn to_json(event: &Event) -> Value {
    let mut map = Map::new();
    match event {
        Event::Change(c) => {
            map.insert("type".into(), json!("change"));
            map.insert("repo".into(), json!(c.repo.as_str()));
            map.insert("sha".into(), json!(c.sha.as_str()));
            put(
                &mut map,
                "parents",
                c.parents
                    .as_ref()
                    .map(|p| json!(p.iter().map(|s| s.as_str()).collect::<Vec<_>>())),
            );
            map.insert("committed_at".into(), time(c.committed_at));
            put(&mut map, "authored_at", c.authored_at.map(time));
            put(&mut map, "author", text(&c.author));
            put(&mut map, "message", text(&c.message));
            if let Some(pr) = &c.pr {
                let mut p = Map::new();
                put(&mut p, "number", pr.number.map(|n| json!(n)));
                put(&mut p, "first_commit_at", pr.first_commit_at.map(time));
                put(&mut p, "opened_at", pr.opened_at.map(time));
                put(&mut p, "merged_at", pr.merged_at.map(time));
                map.insert("pr".into(), Value::Object(p));
            }
        }
        Event::Deployment(d) => {
            map.insert("type".into(), json!("deployment"));
            map.insert("id".into(), json!(d.id.as_str()));
            map.insert("service".into(), json!(d.service.as_str()));
            put(&mut map, "environment", text(&d.environment));
            put(&mut map, "repo", d.repo.as_ref().map(|r| json!(r.as_str())));
            map.insert("sha".into(), json!(d.sha.as_str()));
            put(&mut map, "status", d.status.as_deref().map(|s| json!(s)));
            put(&mut map, "started_at", d.started_at.map(time));
            map.insert("finished_at".into(), time(d.finished_at));
            put(&mut map, "team", text(&d.team));
            if let Some(commits) = &d.commits {
                let list = commits
                    .iter()
                    .map(|c| {
                        let mut m = Map::new();
                        m.insert("sha".into(), json!(c.sha.as_str()));
                        put(&mut m, "committed_at", c.committed_at.map(time));
                        Value::Object(m)
                    })
                    .collect();
                map.insert("commits".into(), Value::Array(list));
            }
        }
        Event::Incident(i) => {
            map.insert("type".into(), json!("incident"));
            map.insert("id".into(), json!(i.id.as_str()));
            map.insert("service".into(), json!(i.service.as_str()));
            map.insert("opened_at".into(), time(i.opened_at));
            put(&mut map, "resolved_at", i.resolved_at.map(time));
            put(&mut map, "severity", text(&i.severity));
            put(
                &mut map,
                "deployment_id",
                i.deployment_id.as_ref().map(|d| json!(d.as_str())),
            );
            put(&mut map, "sha", i.sha.as_ref().map(|s| json!(s.as_str())));
            put(&mut map, "title", text(&i.title));
        }
        Event::Build(b) => {
            map.insert("type".into(), json!("build"));
            map.insert("id".into(), json!(b.id.as_str()));
            map.insert("repo".into(), json!(b.repo.as_str()));
            map.insert("sha".into(), json!(b.sha.as_str()));
            map.insert("status".into(), json!(b.status.as_str()));
            put(&mut map, "branch", text(&b.branch));
            put(&mut map, "started_at", b.started_at.map(time));
            map.insert("finished_at".into(), time(b.finished_at));
            put(&mut map, "provider", text(&b.provider));
        }
        Event::Annotation(a) => {
            map.insert("type".into(), json!("annotation"));
            map.insert("id".into(), json!(a.id.as_str()));
            map.insert("at".into(), time(a.at));
            map.insert("text".into(), json!(a.text));
            put(
                &mut map,
                "service",
                a.service.as_ref().map(|s| json!(s.as_str())),
            );
            put(&mut map, "team", text(&a.team));
        }
    }
    Value::Object(map)
}

/// `event` as if it had been posted: its text and its content key.
pub fn to_parsed(event: Event) -> ParsedEvent {
    let value = to_json(&event);
    ParsedEvent {
        raw: value.to_string(),
        delivery_key: content_key(&value),
        event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::generic::parse_event;

    /// Every field of every type survives writing and parsing back.
    #[test]
    fn wire_form_parses_back_to_the_same_event() {
        let lines = [
            r#"{"type":"change","repo":"acme/shop","sha":"b2","parents":["a1","c3"],"committed_at":"2026-03-02T10:15:00Z","authored_at":"2026-03-01T09:00:00.5Z","author":"Ana","message":"Fix","pr":{"number":42,"first_commit_at":"2026-02-27T09:00:00Z","opened_at":"2026-02-28T09:00:00Z","merged_at":"2026-03-02T10:15:00Z"}}"#,
            r#"{"type":"change","repo":"acme/shop","sha":"a1","parents":[],"committed_at":"2026-03-02T10:15:00Z"}"#,
            r#"{"type":"deployment","id":"d1","service":"shop","environment":"staging","repo":"acme/shop","sha":"b2","status":"failure","started_at":"2026-03-02T10:50:00Z","finished_at":"2026-03-02T11:00:00Z","team":"payments","commits":[{"sha":"b2","committed_at":"2026-03-02T10:15:00Z"},{"sha":"a1"}]}"#,
            r#"{"type":"incident","id":"PD-17","service":"shop","opened_at":"2026-03-02T12:00:00Z","resolved_at":"2026-03-02T13:00:00Z","severity":"sev2","deployment_id":"d1","sha":"b2","title":"Checkout down"}"#,
            r#"{"type":"build","id":"ci-77","repo":"acme/shop","sha":"b2","status":"success","branch":"main","started_at":"2026-03-02T10:20:00Z","finished_at":"2026-03-02T10:30:00Z","provider":"jenkins"}"#,
        ];
        for line in lines {
            let event = parse_event(&serde_json::from_str(line).unwrap()).unwrap();
            let again = parse_event(&to_json(&event)).unwrap();
            assert_eq!(again, event, "{line}");
            assert_eq!(
                to_parsed(event.clone()).delivery_key,
                content_key(&to_json(&again)),
                "the key is stable"
            );
        }
    }
}
