//! Reading a sender's JSON: field access that names the JSON path of whatever is
//! missing or malformed, so a `400` tells the sender exactly what is wrong
//! (`push: repository.full_name is missing`).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use shiplog_model::{CommitSha, EventId, RepoName, ServiceName, Timestamp, check_range};

use super::{Incoming, MapError};

/// `raw` with each `%XX` (two hex digits) replaced by its byte, read as UTF-8 (lossily);
/// a `%` not followed by two hex digits stays as it is. For package-URL versions and
/// cookie values.
pub fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a delivery body as JSON; `what` names the event for the message.
pub fn parse_json(body: &[u8], what: &str) -> Result<Value, MapError> {
    serde_json::from_slice(body)
        .map_err(|e| MapError::new(format!("{what}: the body is not valid JSON: {e}")))
}

/// A body that must be one JSON object, as every webhook sender's is.
pub fn parse_object(body: &[u8], what: &str) -> Result<Value, MapError> {
    let value = parse_json(body, what)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(MapError::new(format!(
            "{what}: the body must be a JSON object"
        )))
    }
}

/// The event a delivery is: the body's `key` (`top` is the body's root), else the
/// sender's `header`, which says the same (CircleCI, Buildkite); neither is an error
/// naming the key.
pub fn event_named<'a>(
    top: &Node<'a>,
    incoming: &Incoming<'a>,
    key: &str,
    header: &str,
) -> Result<&'a str, MapError> {
    match top.opt_str(key)? {
        Some(event) => Ok(event),
        None => incoming
            .header(header)
            .ok_or_else(|| top.error(key, "is missing")),
    }
}

/// Parses the time formats senders use: RFC 3339 (GitHub, PagerDuty, CDEvents,
/// ArgoCD) and GitLab's `2019-03-25 11:16:03 UTC` / `2015-04-11 10:14:14 -0400`,
/// within the years the model keeps ([`check_range`]).
pub fn parse_time(raw: &str) -> Option<Timestamp> {
    read_time(raw).and_then(|t| check_range(t).ok())
}

/// GitLab's formats take a year of any width (`+262142-12-31 23:59:59 UTC`), which
/// only [`check_range`] refuses.
fn read_time(raw: &str) -> Option<Timestamp> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S %z") {
        return Some(t.with_timezone(&Utc));
    }
    let naive = raw.strip_suffix(" UTC").unwrap_or(raw);
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| Utc.from_utc_datetime(&t))
}

/// A value inside a delivery, with the path it was reached by.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    value: &'a Value,
    path: String,
    what: &'a str,
}

impl<'a> Node<'a> {
    /// The body's root; `what` (the event name) prefixes every error.
    pub fn root(value: &'a Value, what: &'a str) -> Node<'a> {
        Node {
            value,
            path: String::new(),
            what,
        }
    }

    pub fn value(&self) -> &'a Value {
        self.value
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// An error about this node's `key` (or the node itself when `key` is empty).
    pub fn error(&self, key: &str, problem: &str) -> MapError {
        let path = if key.is_empty() {
            self.path.clone()
        } else {
            self.child_path(key)
        };
        let path = if path.is_empty() {
            "the body".to_owned()
        } else {
            path
        };
        MapError::new(format!("{}: {path} {problem}", self.what))
    }

    /// The child `key`, absent when missing or `null`.
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        self.value
            .get(key)
            .filter(|v| !v.is_null())
            .map(|value| Node {
                value,
                path: self.child_path(key),
                what: self.what,
            })
    }

    /// The child `key`, which must be present and an object.
    pub fn object(&self, key: &str) -> Result<Node<'a>, MapError> {
        let node = self.get(key).ok_or_else(|| self.error(key, "is missing"))?;
        if node.value.is_object() {
            Ok(node)
        } else {
            Err(self.error(key, "must be an object"))
        }
    }

    /// The child `key` when present, which must then be an object.
    pub fn opt_object(&self, key: &str) -> Result<Option<Node<'a>>, MapError> {
        match self.get(key) {
            None => Ok(None),
            Some(node) if node.value.is_object() => Ok(Some(node)),
            Some(_) => Err(self.error(key, "must be an object")),
        }
    }

    /// The elements of the array `key`; a missing or `null` array is empty.
    pub fn array(&self, key: &str) -> Result<Vec<Node<'a>>, MapError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(node) => match node.value {
                Value::Array(items) => Ok(items
                    .iter()
                    .enumerate()
                    .map(|(i, value)| Node {
                        value,
                        path: format!("{}[{i}]", node.path),
                        what: self.what,
                    })
                    .collect()),
                _ => Err(self.error(key, "must be an array")),
            },
        }
    }

    /// The strings of the array `key`; `None` when it is missing or `null`.
    pub fn opt_strings(&self, key: &str) -> Result<Option<Vec<&'a str>>, MapError> {
        if self.get(key).is_none() {
            return Ok(None);
        }
        let items = self.array(key)?;
        let strings = items.iter().enumerate().map(|(i, item)| {
            item.value
                .as_str()
                .ok_or_else(|| self.error(&format!("{key}[{i}]"), "must be a string"))
        });
        strings.collect::<Result<_, _>>().map(Some)
    }

    /// The string `key` when present (an empty string counts as absent).
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, MapError> {
        match self.value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(self.error(key, "must be a string")),
        }
    }

    /// The string `key`, which must be present and not empty.
    pub fn str(&self, key: &str) -> Result<&'a str, MapError> {
        self.opt_str(key)?
            .ok_or_else(|| self.error(key, "is missing"))
    }

    /// An id that senders write as a number or a string.
    pub fn opt_id(&self, key: &str) -> Result<Option<String>, MapError> {
        match self.value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.error(key, "must be a number or a string")),
        }
    }

    pub fn id(&self, key: &str) -> Result<String, MapError> {
        self.opt_id(key)?
            .ok_or_else(|| self.error(key, "is missing"))
    }

    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>, MapError> {
        match self.value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.error(key, "must be an integer")),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, MapError> {
        match self.value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.error(key, "must be true or false")),
        }
    }

    /// The instant `key` when present.
    pub fn opt_time(&self, key: &str) -> Result<Option<Timestamp>, MapError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(raw) => match read_time(raw).map(check_range) {
                Some(Ok(t)) => Ok(Some(t)),
                Some(Err(e)) => Err(self.error(key, &format!("{e}: {raw:?}"))),
                None => Err(self.error(key, &format!("is not a timestamp: {raw:?}"))),
            },
        }
    }

    pub fn time(&self, key: &str) -> Result<Timestamp, MapError> {
        self.opt_time(key)?
            .ok_or_else(|| self.error(key, "is missing"))
    }

    pub fn sha(&self, key: &str) -> Result<CommitSha, MapError> {
        let raw = self.str(key)?;
        CommitSha::parse(raw).map_err(|e| self.error(key, &e.to_string()))
    }

    pub fn opt_sha(&self, key: &str) -> Result<Option<CommitSha>, MapError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(raw) => CommitSha::parse(raw)
                .map(Some)
                .map_err(|e| self.error(key, &e.to_string())),
        }
    }

    pub fn repo(&self, key: &str) -> Result<RepoName, MapError> {
        let raw = self.str(key)?;
        RepoName::parse(raw).map_err(|e| self.error(key, &e.to_string()))
    }
}

/// Wraps a name refused by the model into a message naming where it came from.
pub fn service_name(raw: &str, from: &str) -> Result<ServiceName, MapError> {
    ServiceName::parse(raw)
        .map_err(|e| MapError::new(format!("service name {raw:?} from {from} {e}")))
}

pub fn event_id(raw: &str, from: &str) -> Result<EventId, MapError> {
    EventId::parse(raw).map_err(|e| MapError::new(format!("id {raw:?} from {from} {e}")))
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("sha256%3A0b31"), "sha256:0b31");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
    }

    #[test]
    fn times_in_every_sender_format() {
        let want = Utc.with_ymd_and_hms(2019, 3, 25, 11, 16, 3).unwrap();
        assert_eq!(parse_time("2019-03-25T11:16:03Z"), Some(want));
        assert_eq!(parse_time("2019-03-25 11:16:03 UTC"), Some(want));
        assert_eq!(parse_time("2019-03-25 07:16:03 -0400"), Some(want));
        assert_eq!(parse_time("2019-03-25T13:16:03+02:00"), Some(want));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn times_past_the_years_0000_to_9999_are_refused() {
        // chrono's own limits, which GitLab's free-width year reaches.
        let extremes = [
            ("+262142-12-31 23:59:59 UTC", 262_142),
            ("-262143-01-01 00:00:00 +0000", -262_143),
        ];
        for (raw, year) in extremes {
            assert_eq!(read_time(raw).map(|t| t.year()), Some(year), "{raw}");
            assert_eq!(parse_time(raw), None, "{raw}");
        }
        let v: Value = serde_json::json!({"at": "+262142-12-31 23:59:59 UTC"});
        assert_eq!(
            Node::root(&v, "push").time("at").unwrap_err().0,
            "push: at is outside the years 0000 to 9999 (UTC): \"+262142-12-31 23:59:59 UTC\""
        );
        let edge = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(parse_time("9999-12-31 23:59:59 UTC"), Some(edge));
        assert_eq!(parse_time("9999-12-31 23:59:59 -0100"), None);
    }

    #[test]
    fn errors_name_the_path() {
        let v: Value = serde_json::json!({"a": {"list": [{"t": "x"}], "n": 3}});
        let root = Node::root(&v, "push");
        let first = &root.object("a").unwrap().array("list").unwrap()[0];
        assert_eq!(
            first.time("t").unwrap_err().0,
            "push: a.list[0].t is not a timestamp: \"x\""
        );
        assert_eq!(
            root.str("missing").unwrap_err().0,
            "push: missing is missing"
        );
        assert_eq!(
            root.object("a").unwrap().str("n").unwrap_err().0,
            "push: a.n must be a string"
        );
        assert_eq!(root.object("a").unwrap().id("n").unwrap(), "3");
    }
}
