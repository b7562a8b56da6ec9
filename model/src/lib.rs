//! Shiplog's domain types: what a change, a deployment, an incident and a build are,
//! the names that identify them, time, and the settings the definitions depend on.
//!
//! # Layout
//!
//! - [`names`]: parsed identifiers (`ServiceName`, `CommitSha`, `RepoName`, …).
//! - [`time`]: UTC instants, RFC 3339 parsing, reporting periods and weeks.
//! - [`event`]: the typed events of SPEC §2 (and annotations) and how two versions of
//!   one merge.
//! - [`goals`]: the targets a team sets itself, and whether a period met them.
//! - [`settings`]: the configuration the metric definitions read (production
//!   environments, attribution window, the service map, band table version).
//! - [`bands`]: DORA performance levels, the band tables kept as data.
//!
//! This crate does no I/O and knows no wire format: sources and the store turn bytes
//! into these types, queries turn stored facts into figures.

pub mod bands;
pub mod event;
pub mod goals;
pub mod names;
pub mod settings;
pub mod time;

pub use bands::{BandRange, BandTable, Banded, BandsVersion, Level};
pub use event::{ABORTED, SUCCESS};
pub use event::{
    Annotation, Build, Change, Deployment, Event, EventKind, Incident, ListedCommit, PullRequest,
    Status, TEXT_MAX_BYTES, succeeded,
};
pub use names::{
    CommitSha, EventId, ID_MAX_BYTES, NAME_MAX_BYTES, NameError, RepoName, ServiceName,
};
pub use settings::{ServiceSettings, Settings, glob_match};
pub use time::{Period, PeriodError, Timestamp, TimestampError, check_range, parse_timestamp};
