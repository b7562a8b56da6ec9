//! Loading history from a source's API, for the time before its webhooks were set up
//! (SPEC §6, "GitHub API (pull, backfill)"): deployments with their statuses, merged
//! pull requests with their commits.
//!
//! - [`github`]: the page bundle the raw log keeps, and its mapping to typed events
//!   (pure; `shiplog replay` maps stored bundles again).
//! - [`client`]: GET requests through octocrab, with rate-limit waits and retries.
//! - [`rate_limit`]: the wait an answer asks for (pure, time passed in) and the clock.
//! - [`cursor`]: where the backfill of a list stands, read from the raw log.
//! - [`walk`]: paging one list into the store, one page per transaction.

pub mod client;
pub mod cursor;
pub mod github;
pub mod rate_limit;
pub mod walk;

pub use client::{Api, ApiError, Octo, Policy};
pub use cursor::{Mode, PageCursor, Start};
pub use github::{Bundle, Kind, SOURCE};
pub use rate_limit::{Clock, SystemClock, Wait};
pub use walk::{Progress, Stopped, Target, WalkSummary, repository, walk};
