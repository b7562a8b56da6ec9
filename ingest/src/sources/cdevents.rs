//! cdevents deliveries → typed events (SPEC §6). Placeholder until the adapter lands.

use super::{Incoming, MapError, Mapping, Routing};

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let _ = (incoming, routing);
    Err(MapError::new("cdevents: not mapped yet"))
}
pub const KEPT_HEADERS: &[&str] = &["ce-id", "ce-type", "ce-source", "ce-time", "ce-subject", "ce-specversion", "content-type"];
