//! Source parsers: bytes (and headers) in, typed events out, no I/O.

pub mod generic;
