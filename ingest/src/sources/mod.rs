//! Source parsers: bytes (and headers) in, typed events out, no I/O.
//!
//! [`generic`] reads the typed event API. The webhook adapters ([`github`],
//! [`gitlab`], [`argocd`], [`argo_rollouts`], [`pagerduty`], [`cdevents`], [`opsgenie`], [`jira`],
//! [`circleci`], [`buildkite`]) each read one sender's
//! deliveries and map them to typed events (SPEC §6). They share:
//!
//! - [`Incoming`]: one delivery as received (event type, the headers that matter,
//!   the body), which is also what the raw log keeps, so [`map`] can run again over
//!   old deliveries (`shiplog replay`);
//! - [`Routing`]: the config that decides which service and environment a delivery
//!   belongs to;
//! - [`Mapping`] and [`MapError`]: what came out, or why the body is not what its
//!   event type says;
//! - [`payload`]: field access that names the JSON path of whatever is missing.
//!
//! [`signature`] checks each sender's proof of origin before any of this runs;
//! `commits` holds the commit shapes GitHub and GitLab share (a pushed commit, a
//! pull request's merge commit), used by their adapters and the GitHub backfill.

pub mod argo_rollouts;
pub mod argocd;
pub mod buildkite;
pub mod cdevents;
pub mod circleci;
pub(crate) mod commits;
mod deploy_workflow;
pub mod generic;
pub mod github;
pub mod gitlab;
pub mod jenkins;
pub mod jira;
pub mod opsgenie;
pub mod pagerduty;
pub mod payload;
pub mod routing;
pub mod signature;
pub mod typed_json;
mod webhook;

pub use routing::Routing;
pub use webhook::{Incoming, MapError, Mapping, Source, map, map_or_keep};
