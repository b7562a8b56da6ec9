//! HTTP routes, one file per resource.

pub mod admin;
pub mod annotations;
pub mod dashboard;
pub mod events;
pub mod health;
pub mod metrics;
pub mod prometheus;
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
    /// A preset period: the last 7, 30, 90 or 365 days (when `from`/`to` are absent).
    pub days: Option<String>,
    /// The band table judging levels: 2021, 2023 or 2024 (default: the config's).
    pub bands: Option<String>,
    /// The dashboard's bucket size: day, week or month (default: by period length).
    pub bucket: Option<String>,
    pub page: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
}

/// The presets a dashboard page offers.
pub const PRESET_DAYS: [u64; 4] = [7, 30, 90, 365];

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl ReadQuery {
    /// The period asked for: `from` and `to`, else a preset of `days`, else the last
    /// 90 days.
    pub fn period(&self) -> Result<Period, ApiError> {
        let today = chrono::Utc::now().date_naive();
        let explicit = non_empty(&self.from).is_some() || non_empty(&self.to).is_some();
        if let (false, Some(days)) = (explicit, non_empty(&self.days)) {
            let days = days
                .parse::<u64>()
                .ok()
                .filter(|d| PRESET_DAYS.contains(d))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "`days` is `{days}`: use one of 7, 30, 90 or 365, or give `from` and `to`"
                    ))
                })?;
            return Ok(Period::last_days_until(today, days));
        }
        Period::parse(
            non_empty(&self.from).as_deref(),
            non_empty(&self.to).as_deref(),
            today,
        )
        .map_err(|e| ApiError::BadRequest(e.to_string()))
    }

    /// [`Self::period`], refused when longer than `max_days` (`max_period_days`,
    /// SPEC §5): the routes that build a row per bucket take no unbounded period.
    pub fn bounded_period(&self, max_days: i64) -> Result<Period, ApiError> {
        let period = self.period()?;
        if period.days() > max_days {
            return Err(ApiError::BadRequest(format!(
                "the period is {} days; this route takes at most max_period_days = {max_days}",
                period.days()
            )));
        }
        Ok(period)
    }

    pub fn filter(&self) -> Filter {
        Filter {
            service: non_empty(&self.service),
            team: non_empty(&self.team),
        }
    }
}
