//! Shiplog's ingest: turning what senders post into stored facts.
//!
//! # Layout
//!
//! - [`sources`]: pure parsers, one file per source, from bytes (and headers) to
//!   typed events. No I/O.
//! - [`backfill`]: loading history from GitHub's REST API (deployments, merged pull
//!   requests), page by page into the raw log, resumable.
//! - [`remap`]: mapping a raw-log delivery again with today's adapters and config
//!   (`shiplog replay`).
//! - [`git`]: the commit graph of a local clone (`shiplog git import`), read
//!   incrementally: only commits the store does not know yet.
//! - [`store`]: the DuckDB file, its migrations, the raw log and the typed tables, and
//!   the [`store::Writer`] that owns every write.
//!
//! Nothing here knows HTTP or metrics: the web crate calls the parsers and submits to
//! the writer; the queries crate plugs its derivation into the writer through
//! [`store::Refresh`].

pub mod backfill;
pub mod git;
pub mod remap;
pub mod sources;
pub mod store;

use shiplog_model::Timestamp;
use sources::generic::ParsedEvent;
use store::Delivery;

/// The raw-log record of one typed event posted to the API or imported.
pub fn typed_delivery(source: &str, parsed: ParsedEvent, received_at: Timestamp) -> Delivery {
    Delivery {
        source: source.to_owned(),
        event_type: parsed.event.kind().as_str().to_owned(),
        delivery_key: parsed.delivery_key,
        received_at,
        headers: None,
        body: parsed.raw,
        events: vec![parsed.event],
        unmapped: None,
        replayed: false,
    }
}

/// The raw-log record of one webhook delivery and what it mapped to. The dedupe key
/// is the sender's delivery id, else a hash of the body, under the source's name.
pub fn webhook_delivery(
    source: sources::Source,
    headers: &std::collections::BTreeMap<String, String>,
    body: String,
    mapping: sources::Mapping,
    received_at: Timestamp,
) -> Delivery {
    use sha2::{Digest, Sha256};
    let unmapped = unmapped_reason(source, &mapping);
    let id = mapping
        .delivery_id
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(body.as_bytes()))));
    Delivery {
        source: source.as_str().to_owned(),
        event_type: mapping.event_type,
        delivery_key: format!("{source}:{id}"),
        received_at,
        headers: Some(serde_json::to_string(headers).expect("a string map serializes")),
        body,
        events: mapping.events,
        unmapped,
        replayed: false,
    }
}

/// Why a webhook delivery is stored unmapped (the raw log's `unmapped`): the
/// adapter's reason when it mapped to no event at all. A delivery that brought events
/// is mapped, even when the adapter skipped part of it (a deploy workflow's build
/// without its deployment). A sender's test delivery, GitHub's `ping` or PagerDuty's
/// `pagey.ping`, brings nothing by design, so it is not listed as something to fix;
/// every other reason is (an event type Shiplog does not use says which to turn off
/// in the hook).
pub(crate) fn unmapped_reason(
    source: sources::Source,
    mapping: &sources::Mapping,
) -> Option<String> {
    use sources::Source;
    let test_delivery = matches!(
        (source, mapping.event_type.as_str()),
        (Source::Github, "ping") | (Source::Pagerduty, "pagey.ping")
    );
    if !mapping.events.is_empty() || test_delivery {
        return None;
    }
    mapping.skipped.clone()
}
