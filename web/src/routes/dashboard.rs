//! `GET /`: the first dashboard page. The six DORA figures with their levels for the
//! period (the last 90 days by default), and the same per service, rendered on the
//! server so that the numbers show with no script at all.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use shiplog_model::{BandTable, Period};
use shiplog_queries::figures::figures;
use shiplog_queries::metrics::from_figures;
use shiplog_queries::{Filter, Metrics, scope};

use super::ReadQuery;
use super::metrics::require_read;
use crate::app::AppState;
use crate::error::ApiError;

/// One figure as a tile or a table cell shows it.
#[derive(Debug, Clone)]
pub struct Tile {
    pub title: &'static str,
    pub value: String,
    pub level: Option<&'static str>,
    /// What the figure is made of, so every number explains itself.
    pub basis: String,
}

#[derive(Debug, Clone)]
pub struct ServiceRow {
    pub service: String,
    /// The dashboard filtered to this service, same period.
    pub link: String,
    pub team: String,
    pub tiles: Vec<Tile>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    from: String,
    to: String,
    service: String,
    team: String,
    token: String,
    bands: &'static str,
    overall: Vec<Tile>,
    services: Vec<ServiceRow>,
}

fn hours(value: Option<f64>) -> String {
    value.map_or_else(
        || "—".to_owned(),
        |h| {
            if h < 48.0 {
                format!("{h:.1} h")
            } else {
                format!("{:.1} d", h / 24.0)
            }
        },
    )
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |r| format!("{:.1} %", r * 100.0))
}

/// The six figures of a metrics JSON as tiles.
pub fn tiles(m: &Metrics) -> Vec<Tile> {
    let df = &m.deployment_frequency;
    let lt = &m.lead_time;
    let cfr = &m.change_failure_rate;
    let rec = &m.failed_deployment_recovery;
    let ttr = &m.time_to_restore;
    let rw = &m.rework_rate;
    vec![
        Tile {
            title: "Deployment frequency",
            value: format!("{:.2} / day", df.per_day),
            level: df.level,
            basis: format!("{} deployments on {} days", df.deployments, df.deploy_days),
        },
        Tile {
            title: "Lead time for changes",
            value: hours(lt.median_hours),
            level: lt.level,
            basis: format!(
                "median of {} commits; p90 {}",
                lt.samples,
                hours(lt.p90_hours)
            ),
        },
        Tile {
            title: "Change failure rate",
            value: percent(cfr.rate),
            level: cfr.level,
            basis: format!("{} of {} deployments failed", cfr.failed, cfr.deployments),
        },
        Tile {
            title: "Failed deployment recovery",
            value: hours(rec.median_hours),
            level: rec.level,
            basis: format!(
                "median over {} recovered of {} failed",
                rec.recovered, rec.failed
            ),
        },
        Tile {
            title: "Time to restore",
            value: hours(ttr.median_hours),
            level: ttr.level,
            basis: format!(
                "median over {} resolved of {} incidents",
                ttr.resolved, ttr.incidents
            ),
        },
        Tile {
            title: "Deployment rework rate",
            value: percent(rw.rate),
            level: None,
            basis: format!(
                "{} of {} deployments followed a failure",
                rw.rework, rw.deployments
            ),
        },
    ]
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters pass).
fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub async fn page(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.count_request();
    require_read(&state, &headers, &query)?;
    let period: Period = query.period()?;
    let filter = query.filter();
    let settings = state.config.settings.clone();
    let bands = BandTable::of(settings.bands);
    let read_filter = filter.clone();
    let (rows, teams) = state
        .read(move |conn| {
            let teams = scope::services(conn, &settings)?;
            let selected = scope::select(conn, &settings, &read_filter)?;
            Ok((
                figures(conn, &selected, period.from(), period.to(), period.days())?,
                teams,
            ))
        })
        .await?;
    let mut overall = Vec::new();
    let mut services = Vec::new();
    for row in &rows {
        match &row.service {
            None => overall = tiles(&from_figures(row, period, &filter, &bands)),
            Some(service) => {
                let one = Filter {
                    service: Some(service.clone()),
                    team: None,
                };
                let team = teams
                    .iter()
                    .find(|t| &t.service == service)
                    .and_then(|t| t.team.clone());
                services.push(ServiceRow {
                    link: format!(
                        "/?from={}&to={}&service={}",
                        period.from(),
                        period.to(),
                        query_escape(service)
                    ),
                    service: service.clone(),
                    team: team.unwrap_or_default(),
                    tiles: tiles(&from_figures(row, period, &one, &bands)),
                });
            }
        }
    }
    let page = DashboardPage {
        from: period.from().to_string(),
        to: period.to().to_string(),
        service: filter.service.unwrap_or_default(),
        team: filter.team.unwrap_or_default(),
        token: query.token.unwrap_or_default(),
        bands: state.config.settings.bands.as_str(),
        overall,
        services,
    };
    let html = page
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Html(html).into_response())
}
