//! The weekly digest: per team, the week's figures against the previous week, goals,
//! failed deployments, the longest lead times, open incidents and annotations, with
//! links to the dashboard; written by `shiplog report digest`, sent by `shiplog digest
//! send` or on the schedule `shiplog serve` keeps.
//!
//! # Layout
//!
//! - [`config`]: `[digest]` in the config file: schedule, targets, SMTP, retries.
//! - [`render`]: Markdown, HTML, text, Slack, Teams and JSON from one page of lines.
//! - [`send`]: each target's payload and its delivery, retried with backoff.
//! - [`schedule`]: [`schedule::next_run`] and the server's task.
//!
//! The data is `shiplog_queries::digest`'s; nothing here runs SQL.

pub mod config;
pub mod render;
pub mod schedule;
pub mod send;

use std::collections::BTreeMap;
use std::sync::Arc;

use duckdb::Connection;
use shiplog_model::Period;
use shiplog_queries::QueryError;
use shiplog_queries::digest::{Digest, DigestRequest, digest};
use shiplog_queries::scope::Known;

pub use config::{DigestConfig, Schedule, Target, TargetKind};
pub use schedule::last_whole_week;

use crate::config::Config;

/// The digest of `period` for each of `teams` (`None`: every team), read once per
/// distinct team, in the order asked.
pub fn read_digests(
    conn: &Connection,
    config: &Config,
    period: Period,
    teams: &[Option<String>],
) -> Result<Vec<Arc<Digest>>, QueryError> {
    let known = Known::read(conn, &config.settings)?;
    let mut read: BTreeMap<Option<String>, Arc<Digest>> = BTreeMap::new();
    let mut out = Vec::with_capacity(teams.len());
    for team in teams {
        if !read.contains_key(team) {
            let d = digest(
                conn,
                &DigestRequest {
                    settings: &config.settings,
                    known: &known,
                    goals: &config.goals,
                    period,
                    team: team.as_deref(),
                },
            )?;
            read.insert(team.clone(), Arc::new(d));
        }
        out.push(read[team].clone());
    }
    Ok(out)
}
