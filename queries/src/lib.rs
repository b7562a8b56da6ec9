//! Shiplog's queries: the derived facts of SPEC §3 and the metrics of SPEC §4 over
//! the DuckDB store.
//!
//! # Layout
//!
//! - [`derive`]: change sets, rollbacks, attribution, failure, recovery and rework,
//!   recomputed per service inside the writer's transaction ([`Deriver`]).
//! - [`scope`]: which services a service or team filter selects.
//! - [`figures`]: one SQL query that computes the figures for buckets of days.
//! - [`build_health`]: SPEC §4.1's build counts, durations and red spells on main
//!   branches, read from the stored builds at query time.
//! - [`metrics`]: the metrics JSON for a period, with performance levels and build
//!   health.
//! - [`weekly`]: the weekly report as rows, CSV and Parquet.
//! - [`dashboard`]: what each dashboard page shows, as typed page data.
//! - [`digest`]: the weekly digest's data, per team, for a period and the one before.
//! - [`annotations`]: the notes teams leave on their timelines that a view shows.
//!
//! SQL lives in `sql/*.sql`, each file opening with the definition it implements, and
//! runs as prepared statements. Time is passed in; nothing here reads the clock.

pub mod annotations;
pub mod build_health;
pub mod dashboard;
pub mod derive;
pub mod digest;
pub mod export;
pub mod figures;
pub mod metrics;
pub mod prometheus;
pub mod scope;
pub mod weekly;

mod csv;
mod temp;

pub use build_health::{BuildFigures, BuildScope, build_figures};
pub use derive::Deriver;
pub use metrics::{BuildHealth, Metrics, metrics};
pub use scope::Filter;
pub use weekly::{WeeklyRow, weekly_report};

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Sql(#[from] duckdb::Error),
    #[error("cannot write {path}: {message}")]
    Output { path: String, message: String },
    /// A stored value that no longer parses (every one was parsed when stored).
    #[error("a stored value does not parse: {0}")]
    Stored(String),
}
