//! Mapping a stored delivery again (`shiplog replay`): the raw log keeps each
//! delivery's source, event type, kept headers and body, which is everything an
//! adapter reads, so a fixed mapping or a changed service map applies to old
//! deliveries exactly as to new ones.

use std::collections::BTreeMap;

use crate::backfill::github::{SOURCE as BACKFILL_SOURCE, map_body};
use crate::sources::generic::parse_event_text;
use crate::sources::{Incoming, Routing, Source, map_or_keep};
use crate::store::Delivery;
use crate::store::raw_log::RawDelivery;
use crate::unmapped_reason;

/// The sources Shiplog writes raw-log rows for itself, with no webhook adapter:
/// typed events (SPEC §2) posted to the API, imported from NDJSON or read from a git
/// clone, and GitHub API pages loaded by a backfill (bundles, which
/// [`crate::backfill::github`] maps, not typed events).
pub const TYPED_SOURCES: [&str; 4] = ["api", "import", "git", BACKFILL_SOURCE];

/// Maps `raw` with the current adapters and `routing`, as a delivery to merge again.
/// The error says why this one delivery cannot be mapped now; a replay reports it
/// and goes on.
///
/// A webhook delivery carries why it maps to nothing now (`unmapped`), so that the
/// writer clears the raw log's reason once a fixed config maps it, or records the
/// new reason if it still does not.
pub fn remap(raw: &RawDelivery, routing: &Routing) -> Result<Delivery, String> {
    let (events, unmapped) = if raw.source == BACKFILL_SOURCE {
        let events = map_body(&raw.body, routing)
            .map_err(|e| e.to_string())?
            .events;
        (events, None)
    } else if TYPED_SOURCES.contains(&raw.source.as_str()) {
        let event = parse_event_text(1, &raw.body).map_err(|e| e.error)?.event;
        (vec![event], None)
    } else {
        let source = Source::parse(&raw.source)
            .ok_or_else(|| format!("no adapter for source {:?}", raw.source))?;
        let headers: BTreeMap<String, String> = match &raw.headers {
            None => BTreeMap::new(),
            Some(text) => serde_json::from_str(text)
                .map_err(|e| format!("stored headers are not a JSON object: {e}"))?,
        };
        let incoming = Incoming {
            headers: &headers,
            body: raw.body.as_bytes(),
        };
        let mapping = map_or_keep(source, &incoming, routing).map_err(|e| e.to_string())?;
        let unmapped = unmapped_reason(source, &mapping);
        (mapping.events, unmapped)
    };
    Ok(Delivery {
        source: raw.source.clone(),
        event_type: raw.event_type.clone(),
        delivery_key: raw.delivery_key.clone(),
        received_at: raw.received_at,
        headers: raw.headers.clone(),
        body: raw.body.clone(),
        events,
        unmapped,
        replayed: true,
    })
}
