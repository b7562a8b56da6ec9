//! `shiplog replay` and `POST /api/v1/admin/replay`: every stored delivery that the
//! filter selects is mapped again with today's adapters and config, in storage
//! order, and its events merged as if it had just arrived. The raw log itself is
//! never changed but for `unmapped`, why a delivery maps to nothing: cleared by the
//! writer when a delivery maps now, replaced when it still maps to nothing (a
//! delivery that cannot be read at all is only reported, its stored reason kept).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use shiplog_ingest::remap::remap;
use shiplog_ingest::sources::Routing;
use shiplog_ingest::store::raw_log::{self, RawFilter};
use shiplog_ingest::store::{Delivery, Submission, WriteError};

use crate::store::Database;

/// Deliveries read and merged per transaction.
const PAGE: usize = 500;
/// Failures listed in the summary; the rest are counted.
const LISTED_FAILURES: usize = 20;

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReplaySummary {
    /// Deliveries the filter selected.
    pub deliveries: u64,
    /// Typed events they map to now.
    pub events: u64,
    /// Deliveries that cannot be mapped now (each listed up to a limit).
    pub failed: u64,
    pub failures: Vec<String>,
}

impl std::fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "replayed {} deliveries: {} typed event(s) merged, {} not mappable",
            self.deliveries, self.events, self.failed
        )
    }
}

/// Why a replay stopped early. What was merged before stays merged (each page is
/// one transaction), and a replay can simply be run again.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read the raw log: {0}")]
    Read(String),
    #[error("cannot store the replayed events: {0}")]
    Write(WriteError),
}

async fn read<T: Send + 'static>(
    db: &Arc<Database>,
    f: impl FnOnce(&duckdb::Connection) -> duckdb::Result<T> + Send + 'static,
) -> Result<T, ReplayError> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || db.readers.with(f))
        .await
        .map_err(|e| ReplayError::Read(e.to_string()))?
        .map_err(|e| ReplayError::Read(e.to_string()))?
        .map_err(|e| ReplayError::Read(e.to_string()))
}

/// How many deliveries `filter` selects (for a progress bar's length).
pub async fn count(db: &Arc<Database>, filter: &RawFilter) -> Result<u64, ReplayError> {
    let filter = filter.clone();
    read(db, move |conn| raw_log::count(conn, &filter)).await
}

/// Replays the deliveries `filter` selects; `progress` gets the number done so far.
pub async fn replay(
    db: &Arc<Database>,
    routing: &Routing,
    filter: &RawFilter,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ReplaySummary, ReplayError> {
    let mut summary = ReplaySummary::default();
    let mut after = 0i64;
    loop {
        let page_filter = filter.clone();
        let page = read(db, move |conn| {
            raw_log::page(conn, &page_filter, after, PAGE)
        })
        .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.seq;
        let mut deliveries: Vec<Delivery> = Vec::with_capacity(page.len());
        for raw in &page {
            summary.deliveries += 1;
            match remap(raw, routing) {
                Ok(delivery) => {
                    summary.events += delivery.events.len() as u64;
                    deliveries.push(delivery);
                }
                Err(reason) => {
                    summary.failed += 1;
                    if summary.failures.len() < LISTED_FAILURES {
                        summary
                            .failures
                            .push(format!("{} ({}): {reason}", raw.delivery_key, raw.source));
                    }
                }
            }
        }
        submit(db, deliveries).await?;
        progress(summary.deliveries);
    }
    Ok(summary)
}

/// Submits one page, waiting while a running server's queue is full: a replay is
/// background work and yields to live deliveries.
async fn submit(db: &Arc<Database>, deliveries: Vec<Delivery>) -> Result<(), ReplayError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    loop {
        match db
            .writer
            .submit(Submission {
                deliveries: deliveries.clone(),
            })
            .await
        {
            Ok(_) => return Ok(()),
            Err(WriteError::Busy) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => return Err(ReplayError::Write(e)),
        }
    }
}

/// The filter from the CLI's or the route's `source` and `since` (`YYYY-MM-DD` or
/// an RFC 3339 instant), with a message naming what is wrong.
pub fn filter(source: Option<&str>, since: Option<&str>) -> Result<RawFilter, String> {
    let source = source.map(str::trim).filter(|s| !s.is_empty());
    if let Some(source) = source {
        let known = shiplog_ingest::sources::Source::parse(source).is_some()
            || shiplog_ingest::remap::TYPED_SOURCES.contains(&source);
        if !known {
            return Err(format!(
                "unknown source {source:?}: use github, gitlab, argocd, pagerduty, cdevents, opsgenie, jira, circleci, argo-rollouts, buildkite, api or import"
            ));
        }
    }
    let since = match since.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                .or_else(|_| shiplog_model::parse_timestamp(raw))
                .map_err(|_| {
                    format!("since {raw:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant")
                })?,
        ),
    };
    Ok(RawFilter {
        source: source.map(str::to_owned),
        since,
    })
}
