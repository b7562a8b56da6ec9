//! What each dashboard page shows, composed here as typed page data from the stored
//! facts; `web` only renders it. Every page reads a few queries for all services
//! together, never one per service, so a page's cost grows with its output only.
//!
//! # Layout
//!
//! - [`view`]: what a page is asked for (period, filter, band table, bucket size)
//!   and the buckets it draws.
//! - [`metric`]: the six DORA figures as one enum: slugs, titles, values and levels.
//! - [`overview`]: `/`: each figure with its level, sample size, change against the
//!   previous period and weekly values; build health beside them.
//! - [`metric_page`]: `/metrics/{slug}`: the figure per bucket, its distribution, per
//!   service, and for lead time the breakdown by stage.
//! - [`services`]: `/services` and `/services/{name}`: the table, a service's
//!   timeline and what runs where.
//! - [`explain`]: `/explain/{slug}`: the rows behind each figure, from the same row
//!   definition the figure on that page is computed from.
//! - [`health`]: `/data-health`: what Shiplog cannot see, with counts and rows.
//! - [`table`]: rows as a page or CSV, shared by explain and data health.

pub mod explain;
pub mod health;
pub mod metric;
pub mod metric_page;
pub mod overview;
pub mod services;
pub mod table;
pub mod view;

pub use metric::Metric;
pub use table::{Cell, Paging, Table};
pub use view::{BucketSize, View};

#[cfg(test)]
mod tests;
