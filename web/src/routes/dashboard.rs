//! `GET /`: the first dashboard page. The six DORA figures with their levels for the
//! period (the last 90 days by default), the build health of SPEC §4.1 beside them,
//! and the same per service, rendered on the server so that the numbers show with no
//! script at all.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use shiplog_model::{BandTable, Period};
use shiplog_queries::figures::figures;
use shiplog_queries::metrics::from_figures;
use shiplog_queries::{BuildScope, Filter, Metrics, build_figures, scope};

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
    build_health: Vec<Tile>,
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

fn minutes(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |m| format!("{m:.1} min"))
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

/// The build-health figures of a metrics JSON as tiles (no levels: DORA has no bands
/// for builds).
pub fn build_tiles(m: &Metrics) -> Vec<Tile> {
    let b = &m.build_health;
    vec![
        Tile {
            title: "Build success rate",
            value: percent(b.success_rate),
            level: None,
            basis: format!("{} of {} builds failed", b.failed, b.builds),
        },
        Tile {
            title: "Build duration",
            value: minutes(b.duration_median_minutes),
            level: None,
            basis: format!(
                "median of builds with a start time; p90 {}",
                minutes(b.duration_p90_minutes)
            ),
        },
        Tile {
            title: "Time to green",
            value: hours(b.time_to_green_median_hours),
            level: None,
            basis: format!(
                "{} red spells on main branches; median of the ended ones",
                b.red_spells
            ),
        },
        Tile {
            title: "Main branch red",
            value: percent(b.red_hours_share),
            level: None,
            basis: "share of the period a main branch was red".to_owned(),
        },
    ]
}

/// The services table's one build column: the success rate, with how red the main
/// branches were in its note.
fn build_cell(m: &Metrics) -> Tile {
    let b = &m.build_health;
    Tile {
        title: "Builds",
        value: percent(b.success_rate),
        level: None,
        basis: format!(
            "{} of {} failed; main red {}",
            b.failed,
            b.builds,
            percent(b.red_hours_share)
        ),
    }
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
    let (rows, teams, builds) = state
        .read(move |conn| {
            let teams = scope::services(conn, &settings)?;
            let selected = scope::select(conn, &settings, &read_filter)?;
            let rows = figures(conn, &selected, period.from(), period.to(), period.days())?;
            // One query per service rather than one grouped query: a monorepo's
            // services share a repository, so builds do not split by service.
            let mut builds = BTreeMap::new();
            builds.insert(
                None,
                build_figures(
                    conn,
                    &settings,
                    period,
                    BuildScope::of(&read_filter, &selected),
                )?,
            );
            for service in &selected {
                let one = BuildScope::Services(std::slice::from_ref(service));
                builds.insert(
                    Some(service.clone()),
                    build_figures(conn, &settings, period, one)?,
                );
            }
            Ok((rows, teams, builds))
        })
        .await?;
    let mut overall = Vec::new();
    let mut build_health = Vec::new();
    let mut services = Vec::new();
    for row in &rows {
        let Some(row_builds) = builds.get(&row.service) else {
            return Err(ApiError::Internal(format!(
                "no build figures for {:?}",
                row.service
            )));
        };
        match &row.service {
            None => {
                let metrics = from_figures(row, row_builds, period, &filter, &bands);
                overall = tiles(&metrics);
                build_health = build_tiles(&metrics);
            }
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
                    tiles: {
                        let metrics = from_figures(row, row_builds, period, &one, &bands);
                        let mut tiles = tiles(&metrics);
                        tiles.push(build_cell(&metrics));
                        tiles
                    },
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
        build_health,
        services,
    };
    let html = page
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Html(html).into_response())
}
