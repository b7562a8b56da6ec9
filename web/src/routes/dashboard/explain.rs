//! `GET /explain/{slug}`: the rows behind a figure, paged, or every row as CSV with
//! `?format=csv` (text cells guarded against formula injection). The figure on the
//! page is computed from the same rows (`queries::dashboard::explain`), so the row
//! count is the count the figure shows.

use crate::extract::{Path, Query};
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shiplog_queries::dashboard::explain::{explain as read_explain, write_csv};
use shiplog_queries::dashboard::{Metric, Paging};

use super::chrome::{Chrome, PageError, render};
use super::metric::parse_metric;
use super::table::{TableView, page_number, stream_csv, table_view};
use super::tiles::basis;
use crate::app::AppState;
use crate::error::ApiError;
use crate::format;
use crate::routes::ReadQuery;

#[derive(Template)]
#[template(path = "explain.html")]
struct ExplainPage {
    chrome: Chrome,
    metric: Metric,
    value: String,
    level: Option<&'static str>,
    basis: String,
    definition: &'static str,
    metric_href: String,
    table: TableView,
}

/// What the rows are and how the figure comes from them.
fn definition(metric: Metric) -> &'static str {
    match metric {
        Metric::DeploymentFrequency => {
            "Every successful production deployment that finished in the period; the figure is their number divided by the days of the period."
        }
        Metric::LeadTime => {
            "One row per commit of each deployment's change set (SPEC §3.1): the hours from its start (the commit, or its pull request's first commit when earlier) to the deployment's finish. The figure is their median (continuous, linear interpolation)."
        }
        Metric::ChangeFailureRate => {
            "Every successful production deployment that finished in the period; the figure is the share marked failed (an attributed incident, or rolled back), each counted once."
        }
        Metric::FailedDeploymentRecovery => {
            "The failed deployments that finished in the period; the figure is the median of recovered_at − finished_at over the recovered ones (the others are still failing)."
        }
        Metric::TimeToRestore => {
            "Every incident opened in the period, with the deployment it was attributed to and the rule (a: it named the deployment; b: its sha was in the change set; c: the latest deployment within the attribution window). The figure is the median of resolved − opened over the resolved ones."
        }
        Metric::ReworkRate => {
            "Every successful production deployment that finished in the period; the figure is the share whose previous deployment of the same service had failed (the rollback or the fix)."
        }
        Metric::AbortedRollouts => {
            "Every successful production deployment that finished in the period (completed) and every production rollout aborted in it (status aborted: its canary analysis failed, or someone aborted it); the figure is the share aborted. An aborted rollout never fully reached production: it is no deployment for the DORA figures and fails nothing."
        }
    }
}

pub async fn explain(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    state.count_request();
    let metric = parse_metric(&slug)?;
    let (view, preset) = Chrome::view(&state, &headers, &query)?;
    match query.format.as_deref() {
        None | Some("html") => {}
        Some("csv") => {
            return stream_csv(
                &state,
                view,
                metric.slug(),
                move |conn, _, known, view, out| write_csv(conn, known, view, metric, out),
            )
            .await;
        }
        Some(other) => {
            return Err(ApiError::BadRequest(format!("unknown format {other:?}: use csv")).into());
        }
    }
    let paging = Paging::page(page_number(&query)?);
    let path = format!("/explain/{slug}");
    let (chrome, explained) = Chrome::read(
        &state,
        &query,
        (view, preset),
        format!("{} — the rows behind it", metric.title()),
        &path,
        move |conn, _, known, view| read_explain(conn, known, view, metric, paging),
    )
    .await?;
    let page = ExplainPage {
        metric,
        value: format::value(metric.unit(), explained.value),
        level: explained.level.map(|l| l.as_str()),
        basis: basis(metric, &explained.figures),
        definition: definition(metric),
        metric_href: chrome.links.metric(metric),
        table: table_view(&explained.table, &chrome.links, &path),
        chrome,
    };
    render(&page)
}
