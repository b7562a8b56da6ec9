//! Seeded, deterministic delivery history for Shiplog's demo and benchmarks.
//!
//! [`generate`] simulates half a year of a small company's delivery: five services of
//! three teams (one pair sharing a monorepo, one shipping on a weekly train), real
//! commit graphs with merged and squashed pull requests, builds, staging and production
//! deployments with failed attempts, redeploys and rollbacks, and incidents resolved by
//! a later update. It returns SPEC §2 typed events in the order a webhook feed would
//! deliver them, quirks included: a few exact duplicates and a few late arrivals.
//!
//! [`generate_scale`] runs the same simulation for an organisation of hundreds of
//! services over years (about 14 million events at 500 services × 730 days) and streams
//! it out as NDJSON, for benchmarks: memory stays flat whatever the length.
//!
//! The same options always give the same events, byte for byte: time comes only
//! from `end` (no clock is read) and randomness only from `seed`.
//!
//! # Layout
//!
//! - `rng`: the seeded generator and its draws (counts, chances, durations, shas).
//! - `calendar`: Unix-second arithmetic, working hours, RFC 3339 text.
//! - `catalog`: the company as data: repositories, services, teams, people, words.
//! - `events`: the JSON objects of SPEC §2 as values; `ndjson`: the same as text.
//! - `sink`: where events go (the demo's collector, or `scale`'s stream).
//! - `history`: the world and its agenda of timed actions; window, duplicates, order.
//! - `git`: commit graphs and builds; `deploy`: releases and rollbacks;
//!   `incidents`: pages and their resolution.
//! - `scale`: the organisation-scale entry point, its `org` and its streaming sink.

mod calendar;
mod catalog;
mod deploy;
mod events;
mod git;
mod history;
mod incidents;
mod ndjson;
mod rng;
mod scale;
mod sink;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use serde_json::Value;

pub use scale::{ScaleOptions, ScaleSummary, generate_scale, generate_scale_with_progress};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Selects the history; the same seed gives the same events.
    pub seed: u64,
    /// The last day generated, inclusive (the demo passes today's UTC date).
    pub end: NaiveDate,
    /// Length of the history in whole UTC days, `end` included (0 counts as 1).
    pub days: u32,
}

impl Default for Options {
    /// Seed 42, 183 days ending 2026-01-01. Callers that show "now" pass today as `end`;
    /// the fixed default keeps tests and benchmarks reproducible.
    fn default() -> Self {
        Self {
            seed: 42,
            end: NaiveDate::from_ymd_opt(2026, 1, 1).expect("2026-01-01 is a date"),
            days: 183,
        }
    }
}

/// The history's typed events (SPEC §2), in a plausible arrival order.
pub fn generate(options: &Options) -> Vec<Value> {
    history::generate(options)
}

/// Newline-delimited JSON, one event a line, each line ending in `\n`: the format of
/// `shiplog import` and of `POST /api/v1/events` with `application/x-ndjson`.
pub fn to_ndjson(events: &[Value]) -> String {
    let mut out = String::new();
    for event in events {
        out.push_str(&event.to_string());
        out.push('\n');
    }
    out
}
