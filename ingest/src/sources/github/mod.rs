//! GitHub webhook deliveries → typed events (SPEC §6).
//!
//! [`delivery`] reads the event name from `X-GitHub-Event` and hands the body to the
//! reader of that event: [`changes`] (`push`, `pull_request`), [`deployments`]
//! (`deployment_status`), [`workflow_run`] (builds, and deployments for configured
//! deploy workflows), [`releases`] (published releases of the repositories configured
//! as releasing) and [`issues`] (issues labelled `incident`). Every other event is
//! stored and skipped with the reason.

mod changes;
mod delivery;
mod deployments;
mod issues;
mod releases;
mod workflow_run;

pub use delivery::map;
pub(crate) use deployments::payload_service;
