//! The dashboard's pages, rendered on the server with askama so every number is in
//! the HTML with no script. Each handler asks `queries::dashboard` for its typed page
//! data in one read and renders it; the filters (period, service, team, band table,
//! bucket size) travel in every link, the read token never does.

mod chrome;
mod data_health;
mod explain;
mod metric;
mod overview;
mod services;
mod table;
mod tiles;

pub use chrome::{Links, errors_as_pages, query_escape};
pub use data_health::{data_health, data_health_rows};
pub use explain::explain;
pub use metric::metric;
pub use overview::overview;
pub use services::{service, services};
