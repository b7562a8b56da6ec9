//! The typed event API (SPEC §2): JSON objects with a `type`, sent as one object, an
//! array or NDJSON, by any CI system, by `shiplog import`, and produced by every
//! source adapter. Parsing refuses what SPEC §5 calls invalid and names the field.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use shiplog_model::{
    Annotation, Build, Change, CommitSha, Deployment, Event, EventId, EventKind, Incident,
    ListedCommit, NameError, PullRequest, RepoName, ServiceName, Status, Timestamp,
    parse_timestamp,
};

/// A valid typed event together with the text it arrived as.
#[derive(Debug, Clone)]
pub struct ParsedEvent {
    pub event: Event,
    /// The event as sent, kept verbatim in the raw log.
    pub raw: String,
    /// Identical events (keys in any order) share this key, so a repeat is a duplicate.
    pub delivery_key: String,
}

/// A bad event: its 1-based position in the body (NDJSON line, array element, or 1)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    pub line: usize,
    pub error: String,
}

/// A body that cannot be read as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is empty")]
    Empty,
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    #[error("the body must be a JSON object or an array of objects")]
    NotObjectOrArray,
    /// More events than one request may carry; reading stopped at the first one over.
    #[error("the body holds more than {limit} events; send at most {limit} per request")]
    TooManyEvents { limit: usize },
}

/// How the body is framed, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`: one object or an array of objects.
    Json,
    /// `application/x-ndjson`: one object per line.
    Ndjson,
    /// No content type: read by the first character (`[` an array; `{` one object,
    /// or NDJSON when more than one object follows).
    Sniff,
}

/// Parses a request body into its events, each valid or with its error. A body of
/// more than `max_events` events is refused as a whole, and reading it stops at the
/// first event over, so no body costs more than `max_events` parsed events.
pub fn parse_body(
    body: &[u8],
    format: BodyFormat,
    max_events: usize,
) -> Result<Vec<Result<ParsedEvent, LineError>>, BodyError> {
    let text =
        std::str::from_utf8(body).map_err(|e| BodyError::NotJson(format!("not UTF-8: {e}")))?;
    // A byte-order mark is not part of the first line; stripping it keeps the line
    // numbers.
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(BodyError::Empty);
    }
    let ndjson = |text| parse_ndjson(text, max_events);
    match format {
        BodyFormat::Ndjson => ndjson(text),
        BodyFormat::Json => parse_json(trimmed, max_events),
        BodyFormat::Sniff => match trimmed.as_bytes()[0] {
            b'[' => parse_json(trimmed, max_events),
            b'{' => match parse_json(trimmed, max_events) {
                Err(BodyError::NotJson(_)) if trimmed.contains('\n') => ndjson(text),
                other => other,
            },
            _ => Err(BodyError::NotObjectOrArray),
        },
    }
}

/// A JSON array's elements as unparsed text, refused past `limit` elements.
struct CappedArray {
    limit: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for CappedArray {
    type Value = Vec<&'de serde_json::value::RawValue>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for CappedArray {
    type Value = Vec<&'de serde_json::value::RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.limit));
        while let Some(item) = seq.next_element()? {
            if items.len() == self.limit {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// The marker [`CappedArray`] stops with, told apart from JSON that does not parse.
const TOO_MANY: &str = "more events than a request may carry";

fn parse_json(
    text: &str,
    max_events: usize,
) -> Result<Vec<Result<ParsedEvent, LineError>>, BodyError> {
    if text.starts_with('[') {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let items = serde::de::DeserializeSeed::deserialize(
            CappedArray { limit: max_events },
            &mut deserializer,
        )
        .and_then(|items| deserializer.end().map(|()| items))
        .map_err(|e| {
            if e.to_string().starts_with(TOO_MANY) {
                BodyError::TooManyEvents { limit: max_events }
            } else {
                BodyError::NotJson(e.to_string())
            }
        })?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, raw)| parse_event_text(i + 1, raw.get()))
            .collect())
    } else if text.starts_with('{') {
        serde_json::from_str::<&serde_json::value::RawValue>(text)
            .map_err(|e| BodyError::NotJson(e.to_string()))?;
        Ok(vec![parse_event_text(1, text)])
    } else {
        Err(BodyError::NotObjectOrArray)
    }
}

/// NDJSON: one event per non-blank line; line numbers count blank lines too, so
/// they match what an editor shows. Refused past `max_events` lines with events.
fn parse_ndjson(
    text: &str,
    max_events: usize,
) -> Result<Vec<Result<ParsedEvent, LineError>>, BodyError> {
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let mut items = Vec::new();
    for (i, line) in lines {
        if items.len() == max_events {
            return Err(BodyError::TooManyEvents { limit: max_events });
        }
        items.push(parse_event_text(i + 1, line.trim()));
    }
    Ok(items)
}

/// Parses one event given as JSON text.
pub fn parse_event_text(line: usize, text: &str) -> Result<ParsedEvent, LineError> {
    let fail = |error: String| LineError { line, error };
    let value: Value =
        serde_json::from_str(text).map_err(|e| fail(format!("not valid JSON: {e}")))?;
    let event = parse_event(&value).map_err(fail)?;
    Ok(ParsedEvent {
        event,
        raw: text.to_owned(),
        delivery_key: content_key(&value),
    })
}

/// The dedupe key of a typed event: SHA-256 of its canonical JSON (keys sorted, no
/// whitespace), so that an identical event with its keys in another order is a repeat.
pub fn content_key(value: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Parses one typed event, collecting every problem with it into one message.
pub fn parse_event(value: &Value) -> Result<Event, String> {
    let Value::Object(map) = value else {
        return Err("an event must be a JSON object".into());
    };
    let mut f = Fields {
        map,
        problems: Vec::new(),
    };
    let kind = match map.get("type") {
        None | Some(Value::Null) => {
            return Err(
                "`type` is required: change, deployment, incident, build or annotation".into(),
            );
        }
        Some(Value::String(t)) => EventKind::parse(t).ok_or_else(|| {
            format!("unknown `type` {t:?}: use change, deployment, incident, build or annotation")
        })?,
        Some(_) => return Err("`type` must be a string".into()),
    };
    let event = match kind {
        EventKind::Change => change(&mut f).map(Event::Change),
        EventKind::Deployment => deployment(&mut f).map(Event::Deployment),
        EventKind::Incident => incident(&mut f).map(Event::Incident),
        EventKind::Build => build(&mut f).map(Event::Build),
        EventKind::Annotation => annotation(&mut f).map(Event::Annotation),
    };
    match event {
        Some(event) if f.problems.is_empty() => match event.oversized() {
            None => Ok(event),
            Some(problem) => Err(problem),
        },
        _ => Err(f.problems.join("; ")),
    }
}

/// Reads fields of one object, recording problems instead of stopping at the first.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    problems: Vec<String>,
}

impl Fields<'_> {
    fn present(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn text(&mut self, key: &str) -> Option<String> {
        match self.present(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.problems.push(format!("`{key}` must be a string"));
                None
            }
        }
    }

    fn required_text(&mut self, key: &str) -> Option<String> {
        let missing = self.present(key).is_none();
        let value = self.text(key);
        if missing {
            self.problems.push(format!("`{key}` is required"));
        } else if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            self.problems.push(format!("`{key}` is empty"));
            return None;
        }
        value
    }

    fn name<T>(
        &mut self,
        key: &str,
        required: bool,
        parse: fn(&str) -> Result<T, NameError>,
    ) -> Option<T> {
        let raw = if required {
            self.required_text(key)?
        } else {
            self.text(key)?
        };
        parse(&raw)
            .map_err(|e| self.problems.push(format!("`{key}` {e}")))
            .ok()
    }

    fn time_value(&mut self, key: &str, value: &Value) -> Option<Timestamp> {
        match value {
            Value::String(s) => parse_timestamp(s)
                .map_err(|_| {
                    self.problems
                        .push(format!("`{key}` is not an RFC 3339 timestamp: {s:?}"))
                })
                .ok(),
            _ => {
                self.problems
                    .push(format!("`{key}` must be an RFC 3339 timestamp string"));
                None
            }
        }
    }

    fn time(&mut self, key: &str) -> Option<Timestamp> {
        let value = self.present(key)?.clone();
        self.time_value(key, &value)
    }

    fn required_time(&mut self, key: &str) -> Option<Timestamp> {
        if self.present(key).is_none() {
            self.problems.push(format!("`{key}` is required"));
            return None;
        }
        self.time(key)
    }

    fn list(&mut self, key: &str) -> Option<Vec<Value>> {
        match self.present(key)? {
            Value::Array(items) => Some(items.clone()),
            _ => {
                self.problems.push(format!("`{key}` must be a list"));
                None
            }
        }
    }
}

fn change(f: &mut Fields) -> Option<Change> {
    let repo = f.name("repo", true, RepoName::parse);
    let sha = f.name("sha", true, CommitSha::parse);
    let committed_at = f.required_time("committed_at");
    let parents = f.list("parents").map(|items| {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p.as_str().map(CommitSha::parse) {
                Some(Ok(sha)) => Some(sha),
                _ => {
                    f.problems
                        .push(format!("`parents[{i}]` must be a commit sha string"));
                    None
                }
            })
            .collect()
    });
    let pr = match f.present("pr").cloned() {
        None => None,
        Some(Value::Object(map)) => Some(pull_request(f, &map)),
        Some(_) => {
            f.problems.push("`pr` must be an object".into());
            None
        }
    };
    Some(Change {
        repo: repo?,
        sha: sha?,
        parents,
        committed_at: committed_at?,
        authored_at: f.time("authored_at"),
        author: f.text("author"),
        message: f.text("message"),
        pr,
        paths: None,
    })
}

fn pull_request(f: &mut Fields, map: &Map<String, Value>) -> PullRequest {
    let mut time = |key: &str| {
        map.get(key)
            .filter(|v| !v.is_null())
            .and_then(|v| f.time_value(&format!("pr.{key}"), v))
    };
    let first_commit_at = time("first_commit_at");
    let opened_at = time("opened_at");
    let merged_at = time("merged_at");
    let number = match map.get("number") {
        None | Some(Value::Null) => None,
        Some(v) => v.as_i64().or_else(|| {
            f.problems.push("`pr.number` must be an integer".into());
            None
        }),
    };
    PullRequest {
        number,
        first_commit_at,
        opened_at,
        merged_at,
    }
}

fn deployment(f: &mut Fields) -> Option<Deployment> {
    let id = f.name("id", true, EventId::parse);
    let service = f.name("service", true, ServiceName::parse);
    let sha = f.name("sha", true, CommitSha::parse);
    let finished_at = f.required_time("finished_at");
    let commits = f.list("commits").map(|items| {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| listed_commit(f, i, item))
            .collect()
    });
    Some(Deployment {
        id: id?,
        service: service?,
        environment: f.text("environment").filter(|e| !e.trim().is_empty()),
        repo: f.name("repo", false, RepoName::parse),
        sha: sha?,
        status: f.text("status").map(Status::new),
        started_at: f.time("started_at"),
        finished_at: finished_at?,
        team: f.text("team").filter(|t| !t.trim().is_empty()),
        commits,
    })
}

fn listed_commit(f: &mut Fields, i: usize, item: &Value) -> Option<ListedCommit> {
    let key = format!("commits[{i}]");
    let (sha, committed_at) = match item {
        Value::String(sha) => (Some(sha.as_str()), None),
        Value::Object(map) => (
            map.get("sha").and_then(Value::as_str),
            map.get("committed_at").filter(|v| !v.is_null()),
        ),
        _ => (None, None),
    };
    let Some(Ok(sha)) = sha.map(CommitSha::parse) else {
        f.problems
            .push(format!("`{key}` must be an object with a `sha` string"));
        return None;
    };
    let committed_at = match committed_at {
        Some(v) => Some(f.time_value(&format!("{key}.committed_at"), v)?),
        None => None,
    };
    Some(ListedCommit { sha, committed_at })
}

fn incident(f: &mut Fields) -> Option<Incident> {
    let id = f.name("id", true, EventId::parse);
    let service = f.name("service", true, ServiceName::parse);
    let opened_at = f.required_time("opened_at");
    Some(Incident {
        id: id?,
        service: service?,
        opened_at: opened_at?,
        opened_at_estimated: false,
        resolved_at: f.time("resolved_at"),
        severity: f.text("severity"),
        deployment_id: f.name("deployment_id", false, EventId::parse),
        sha: f.name("sha", false, CommitSha::parse),
        title: f.text("title"),
    })
}

fn build(f: &mut Fields) -> Option<Build> {
    let id = f.name("id", true, EventId::parse);
    let repo = f.name("repo", true, RepoName::parse);
    let sha = f.name("sha", true, CommitSha::parse);
    let status = f.required_text("status");
    let finished_at = f.required_time("finished_at");
    Some(Build {
        id: id?,
        repo: repo?,
        sha: sha?,
        status: Status::new(status?),
        branch: f.text("branch"),
        started_at: f.time("started_at"),
        finished_at: finished_at?,
        provider: f.text("provider"),
    })
}

fn annotation(f: &mut Fields) -> Option<Annotation> {
    let id = f.name("id", true, EventId::parse);
    let at = f.required_time("at");
    let text = f.required_text("text");
    Some(Annotation {
        id: id?,
        at: at?,
        text: text?,
        service: f.name("service", false, ServiceName::parse),
        team: f.text("team"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        parse_event_text(1, text).unwrap_err().error
    }

    #[test]
    fn deployment_with_defaults_parses() {
        let p = parse_event_text(1, r#"{"type":"deployment","id":"d1","service":"shop","sha":"abc","finished_at":"2026-03-02T11:00:00+01:00"}"#).unwrap();
        let Event::Deployment(d) = p.event else {
            panic!("not a deployment")
        };
        assert_eq!(d.environment, None);
        assert!(d.succeeded());
        assert_eq!(d.finished_at.to_rfc3339(), "2026-03-02T10:00:00+00:00");
    }

    #[test]
    fn every_problem_of_an_event_is_named() {
        let e =
            error_of(r#"{"type":"deployment","id":"","service":"ALL","finished_at":"yesterday"}"#);
        assert!(e.contains("`id` is empty"), "{e}");
        assert!(e.contains("`service` is `ALL`"), "{e}");
        assert!(e.contains("`sha` is required"), "{e}");
        assert!(
            e.contains("`finished_at` is not an RFC 3339 timestamp"),
            "{e}"
        );
    }

    #[test]
    fn unknown_type_and_non_list_parents_are_refused() {
        assert!(error_of(r#"{"type":"release"}"#).contains("unknown `type`"));
        let e = error_of(
            r#"{"type":"change","repo":"r","sha":"s","committed_at":"2026-01-01T00:00:00Z","parents":"a"}"#,
        );
        assert_eq!(e, "`parents` must be a list");
    }

    #[test]
    fn identical_events_with_keys_in_another_order_share_a_key() {
        let a = parse_event_text(
            1,
            r#"{"type":"incident","id":"I","service":"s","opened_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let b = parse_event_text(
            1,
            r#"{ "service":"s", "opened_at":"2026-01-01T00:00:00Z","id":"I","type":"incident"}"#,
        )
        .unwrap();
        assert_eq!(a.delivery_key, b.delivery_key);
    }

    #[test]
    fn bodies_are_read_as_object_array_or_ndjson() {
        let ev = r#"{"type":"incident","id":"I","service":"s","opened_at":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(
            parse_body(ev.as_bytes(), BodyFormat::Json, 10)
                .unwrap()
                .len(),
            1
        );
        let array = format!("[{ev},{ev}, 3]");
        let items = parse_body(array.as_bytes(), BodyFormat::Json, 10).unwrap();
        assert_eq!(
            items[2].as_ref().unwrap_err(),
            &LineError {
                line: 3,
                error: "an event must be a JSON object".into()
            }
        );
        let ndjson = format!("{ev}\n\n{{\"type\":\"x\"}}\n");
        let items = parse_body(ndjson.as_bytes(), BodyFormat::Sniff, 10).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap_err().line, 3);
        assert_eq!(
            parse_body(b"{\"type\":", BodyFormat::Json, 10)
                .unwrap_err()
                .to_string()
                .split(':')
                .next(),
            Some("the body is not valid JSON")
        );
        assert_eq!(
            parse_body(b"  ", BodyFormat::Json, 10).unwrap_err(),
            BodyError::Empty
        );
    }

    #[test]
    fn a_byte_order_mark_does_not_cost_the_first_line() {
        let ev = r#"{"type":"incident","id":"I","service":"s","opened_at":"2026-01-01T00:00:00Z"}"#;
        let ndjson = format!("\u{feff}{ev}\n{{\"type\":\"x\"}}\n");
        for format in [BodyFormat::Ndjson, BodyFormat::Sniff] {
            let items = parse_body(ndjson.as_bytes(), format, 10).unwrap();
            assert!(items[0].is_ok(), "{format:?}: {:?}", items[0]);
            assert_eq!(items[1].as_ref().unwrap_err().line, 2, "{format:?}");
        }
    }

    #[test]
    fn a_body_of_more_events_than_the_limit_is_refused_whole() {
        let ev = r#"{"type":"incident","id":"I","service":"s","opened_at":"2026-01-01T00:00:00Z"}"#;
        let three = format!("[{ev},{ev},{ev}]");
        assert_eq!(
            parse_body(three.as_bytes(), BodyFormat::Json, 3)
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            parse_body(three.as_bytes(), BodyFormat::Json, 2).unwrap_err(),
            BodyError::TooManyEvents { limit: 2 }
        );
        // Elements that are not events count too: `[1,1,1,…]` is not 8 million errors.
        let ones = format!("[{}1]", "1,".repeat(1_000_000));
        assert_eq!(
            parse_body(ones.as_bytes(), BodyFormat::Sniff, 10_000).unwrap_err(),
            BodyError::TooManyEvents { limit: 10_000 }
        );
        let lines = format!("{ev}\n\n{ev}\n{ev}\n");
        assert_eq!(
            parse_body(lines.as_bytes(), BodyFormat::Ndjson, 3)
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            parse_body(lines.as_bytes(), BodyFormat::Ndjson, 2).unwrap_err(),
            BodyError::TooManyEvents { limit: 2 }
        );
        // Bad JSON after the last element is still bad JSON, not too many events.
        assert!(matches!(
            parse_body(b"[1,2", BodyFormat::Json, 5).unwrap_err(),
            BodyError::NotJson(_)
        ));
        assert!(matches!(
            parse_body(b"[1,2] x", BodyFormat::Json, 5).unwrap_err(),
            BodyError::NotJson(_)
        ));
    }
}
