//! github deliveries → typed events (SPEC §6). Placeholder until the adapter lands.

use super::{Incoming, MapError, Mapping, Routing};

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let _ = (incoming, routing);
    Err(MapError::new("github: not mapped yet"))
}
