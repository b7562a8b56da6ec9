//! Shiplog's web server, dashboard and command line.
//!
//! # Layout
//!
//! - [`config`]: defaults, the TOML file and `SHIPLOG_*` variables.
//! - [`store`]: opening the database with the derivation plugged into the writer.
//! - [`history`]: pulling a git clone's commit graph (CLI and admin route).
//! - [`replay`]: mapping stored deliveries again (CLI and admin route share it).
//! - [`app`]: state, router, and the server's lifecycle (`Application`).
//! - [`serve`]: the accept loop, the connections' limits and the drain on shutdown.
//! - [`jetstream`]: ingest through NATS JetStream: `shiplog ingest` replicas publish,
//!   `shiplog serve` consumes; `intake` is the one step of the ingest routes that
//!   differs between the two (the writer, or JetStream).
//! - [`trace`]: the request log, a `tracing` span and a line per request.
//! - `routes/`: one file per resource (events, metrics, reports, health); the
//!   dashboard's pages in `routes/dashboard/`, drawing with `charts` (inline SVG) and
//!   writing numbers with `format`; `security` sets the pages' headers and turns a
//!   `?token=` into a cookie; `stream` streams long CSVs.
//! - [`openapi`]: the OpenAPI 3.1 description of the HTTP API, generated from the
//!   routes' `#[utoipa::path]` attributes and served at `/api/v1/openapi.json`.
//! - [`cli`]: the `shiplog` commands; `main.rs` only parses and dispatches.
//! - [`digest`]: the weekly digest rendered and sent (CLI, and the server's schedule).
//!
//! This crate holds no SQL: it calls `shiplog_queries` for reads and submits parsed
//! events to the `shiplog_ingest` writer.

pub mod app;
pub mod cli;
pub mod config;
pub mod digest;
pub mod history;
pub mod jetstream;
pub mod openapi;
pub mod replay;
pub mod serve;
pub mod store;
pub mod trace;

mod auth;
mod body;
mod charts;
mod error;
mod extract;
mod format;
mod intake;
mod routes;
mod security;
mod stream;

pub use app::{Application, Mode, router};
pub use config::Config;
