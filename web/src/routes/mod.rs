//! HTTP routes, one file per resource.

pub mod admin;
pub mod dashboard;
pub mod events;
pub mod health;
pub mod metrics;
pub mod reports;
pub mod webhooks;

use serde::Deserialize;
use shiplog_model::Period;
use shiplog_queries::Filter;

use crate::error::ApiError;

/// The query parameters every read route takes (SPEC §5).
#[derive(Debug, Default, Deserialize)]
pub struct ReadQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub service: Option<String>,
    pub team: Option<String>,
    pub token: Option<String>,
    pub format: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl ReadQuery {
    /// The period asked for, the last 90 days when none is given.
    pub fn period(&self) -> Result<Period, ApiError> {
        let today = chrono::Utc::now().date_naive();
        Period::parse(
            non_empty(&self.from).as_deref(),
            non_empty(&self.to).as_deref(),
            today,
        )
        .map_err(|e| ApiError::BadRequest(e.to_string()))
    }

    pub fn filter(&self) -> Filter {
        Filter {
            service: non_empty(&self.service),
            team: non_empty(&self.team),
        }
    }
}
