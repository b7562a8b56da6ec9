//! The message a replica publishes for one delivery: what it verified and what the
//! raw log keeps, in a small versioned JSON object, never its mapping. The consumer
//! maps the body again with the same functions and config as direct ingest
//! ([`Envelope::into_delivery`]), so both modes store the same rows by construction,
//! and a message replayed from the stream is read the way `shiplog replay` reads the
//! raw log. Carrying the mapped events instead was turned down: a second wire form of
//! every event, which the two modes could disagree on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::sources::{Incoming, Mapping, Routing, Source, map_or_keep};
use shiplog_ingest::store::Delivery;
use shiplog_ingest::{typed_delivery, webhook_delivery};
use shiplog_model::Timestamp;

/// The version this build writes and reads; a consumer refuses others by name, so a
/// replica newer than the writer is found at once.
pub const VERSION: u32 = 1;

/// The source of typed events posted to `/api/v1/events`.
pub const TYPED_SOURCE: &str = "api";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    /// `api`, or the webhook sender (`github`, `gitlab`, …).
    pub source: String,
    /// The headers the adapter reads (webhooks), names lower-case.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The body as received: a webhook's whole body, or one typed event's text.
    pub body: String,
    pub received_at: Timestamp,
    /// The raw log's key, also the message's `Nats-Msg-Id`.
    pub key: String,
}

impl Envelope {
    /// The envelope of a delivery as the routes built it.
    pub fn of(delivery: &Delivery) -> Envelope {
        let headers = delivery
            .headers
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        Envelope {
            v: VERSION,
            source: delivery.source.clone(),
            headers,
            body: delivery.body.clone(),
            received_at: delivery.received_at,
            key: delivery.delivery_key.clone(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope serializes")
    }

    /// Reads a message; the error says why it can never be stored (not an envelope,
    /// another version).
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, String> {
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let Version { v } = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a Shiplog delivery envelope: {e}"))?;
        if v != VERSION {
            return Err(format!(
                "envelope version {v}; this server reads version {VERSION} (upgrade it to match the replicas)"
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| format!("a malformed envelope: {e}"))
    }

    /// The delivery to store, mapped as direct ingest maps it. The key is the
    /// envelope's (the one the sender was answered with, and JetStream deduplicated
    /// by). A body that no longer maps (a typed event this server refuses, a webhook
    /// body that is not JSON) is kept unmapped with the reason, never dropped: it was
    /// answered `202`, and `shiplog replay` maps it once the cause is fixed. Only a
    /// source with no adapter is an error.
    pub fn into_delivery(self, routing: &Routing) -> Result<Delivery, String> {
        let Envelope {
            source,
            headers,
            body,
            received_at,
            key,
            ..
        } = self;
        let mut delivery = if source == TYPED_SOURCE {
            match parse_event_text(1, &body) {
                Ok(parsed) => typed_delivery(TYPED_SOURCE, parsed, received_at),
                Err(refused) => kept_unmapped(source, body, received_at, refused.error),
            }
        } else {
            let sender = Source::parse(&source)
                .ok_or_else(|| format!("no adapter for source {source:?}"))?;
            let incoming = Incoming {
                headers: &headers,
                body: body.as_bytes(),
            };
            let mapping = map_or_keep(sender, &incoming, routing)
                .unwrap_or_else(|e| Mapping::skipped("unknown", None, e.to_string()));
            webhook_delivery(sender, &headers, body, mapping, received_at)
        };
        if delivery.delivery_key != key {
            tracing::warn!(
                envelope = %key,
                computed = %delivery.delivery_key,
                "a replica keyed this delivery differently; the envelope's key is kept"
            );
            delivery.delivery_key = key;
        }
        Ok(delivery)
    }
}

/// A typed event this server refuses although a replica accepted it (the two run
/// different versions): stored with the reason in `unmapped`.
fn kept_unmapped(source: String, body: String, received_at: Timestamp, why: String) -> Delivery {
    let event_type = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("type")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    Delivery {
        source,
        event_type,
        delivery_key: String::new(),
        received_at,
        headers: None,
        body,
        events: Vec::new(),
        unmapped: Some(format!("refused by the writer's validation: {why}")),
        replayed: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiplog_ingest::sources::generic::{BodyFormat, parse_body};

    fn at() -> Timestamp {
        "2026-02-03T04:05:06.789Z".parse().unwrap()
    }

    #[test]
    fn a_typed_event_comes_back_as_direct_ingest_builds_it() {
        let line = r#"{"type":"deployment","id":"d1","service":"checkout","environment":"production","sha":"abc1234","finished_at":"2026-01-05T10:00:00Z"}"#;
        let parsed = parse_body(line.as_bytes(), BodyFormat::Ndjson, 10)
            .unwrap()
            .remove(0)
            .unwrap();
        let direct = typed_delivery(TYPED_SOURCE, parsed, at());
        let envelope = Envelope::of(&direct);
        let read = Envelope::from_bytes(&envelope.to_bytes()).unwrap();
        assert_eq!(read, envelope);
        let consumed = read.into_delivery(&Routing::default()).unwrap();
        assert_eq!(format!("{consumed:?}"), format!("{direct:?}"));
    }

    #[test]
    fn a_webhook_comes_back_as_direct_ingest_builds_it() {
        let headers: BTreeMap<String, String> = [
            ("x-github-event", "ping"),
            ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let body = r#"{"zen":"Keep it logically awesome.","hook_id":1}"#.to_owned();
        let incoming = Incoming {
            headers: &headers,
            body: body.as_bytes(),
        };
        let routing = Routing::default();
        let mapping = map_or_keep(Source::Github, &incoming, &routing).unwrap();
        let direct = webhook_delivery(Source::Github, &headers, body, mapping, at());
        let envelope = Envelope::from_bytes(&Envelope::of(&direct).to_bytes()).unwrap();
        assert_eq!(envelope.headers, headers);
        let consumed = envelope.into_delivery(&routing).unwrap();
        assert_eq!(format!("{consumed:?}"), format!("{direct:?}"));
        assert_eq!(
            consumed.delivery_key,
            "github:72d3162e-cc78-11e3-81ab-4c9367dc0958"
        );
    }

    #[test]
    fn a_typed_event_the_writer_refuses_is_kept_unmapped_under_its_key() {
        let envelope = Envelope {
            v: VERSION,
            source: TYPED_SOURCE.into(),
            headers: BTreeMap::new(),
            body: r#"{"type":"deployment","id":"d1"}"#.into(),
            received_at: at(),
            key: "sha256:feed".into(),
        };
        let kept = envelope.into_delivery(&Routing::default()).unwrap();
        assert_eq!(kept.delivery_key, "sha256:feed");
        assert_eq!(kept.event_type, "deployment");
        assert!(kept.events.is_empty());
        assert!(kept.unmapped.unwrap().contains("service"));
    }

    #[test]
    fn other_versions_and_other_bytes_are_refused_by_name() {
        let e = Envelope::from_bytes(br#"{"v":2,"source":"api"}"#).unwrap_err();
        assert!(e.contains("version 2"), "{e}");
        let e = Envelope::from_bytes(b"hello").unwrap_err();
        assert!(e.contains("not a Shiplog delivery envelope"), "{e}");
        let unknown = Envelope {
            v: VERSION,
            source: "carrier-pigeon".into(),
            headers: BTreeMap::new(),
            body: "{}".into(),
            received_at: at(),
            key: "carrier-pigeon:1".into(),
        };
        let e = unknown.into_delivery(&Routing::default()).unwrap_err();
        assert!(e.contains("carrier-pigeon"), "{e}");
    }
}
