//! Shiplog's ingest: turning what senders post into stored facts.
//!
//! # Layout
//!
//! - [`sources`]: pure parsers, one file per source, from bytes (and headers) to
//!   typed events. No I/O.
//! - [`store`]: the DuckDB file, its migrations, the raw log and the typed tables, and
//!   the [`store::Writer`] that owns every write.
//!
//! Nothing here knows HTTP or metrics: the web crate calls the parsers and submits to
//! the writer; the queries crate plugs its derivation into the writer through
//! [`store::Refresh`].

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
    }
}
