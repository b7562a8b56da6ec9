//! `GET /data-health`: what Shiplog cannot see, each with a count, the rows and what
//! to do about it, and the newest delivery per source; `GET /data-health/{check}`
//! lists a check's rows (paged, or every row with `?format=csv`).

use crate::extract::{Path, Query};
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shiplog_queries::dashboard::Paging;
use shiplog_queries::dashboard::health::{self, Check};

use super::chrome::{Chrome, PageError, render};
use super::table::{TableView, page_number, stream_csv, table_view};
use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::ReadQuery;

#[derive(Debug, Clone)]
struct FindingLine {
    slug: &'static str,
    title: &'static str,
    count: i64,
    href: String,
    advice: &'static str,
}

#[derive(Debug, Clone)]
struct SourceLine {
    source: String,
    received_at: String,
    deliveries: i64,
}

#[derive(Template)]
#[template(path = "data_health.html")]
struct HealthPage {
    chrome: Chrome,
    findings: Vec<FindingLine>,
    sources: Vec<SourceLine>,
}

#[derive(Template)]
#[template(path = "data_health_rows.html")]
struct RowsPage {
    chrome: Chrome,
    title: &'static str,
    advice: &'static str,
    table: TableView,
}

fn parse_check(slug: &str) -> Result<Check, ApiError> {
    Check::parse(slug).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no data-health check {slug:?}: use one of {}",
            Check::ALL.map(Check::slug).join(", ")
        ))
    })
}

pub async fn data_health(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    state.count_request();
    let view = Chrome::view(&state, &headers, &query)?;
    let (chrome, found) = Chrome::read(
        &state,
        &query,
        view,
        "Data health",
        "/data-health",
        |conn, _, known, view| health::data_health(conn, known, view),
    )
    .await?;
    let page = HealthPage {
        findings: found
            .findings
            .iter()
            .map(|f| FindingLine {
                slug: f.check.slug(),
                title: f.check.title(),
                count: f.count,
                href: chrome.links.to(&format!("/data-health/{}", f.check.slug())),
                advice: f.check.advice(),
            })
            .collect(),
        sources: found
            .last_delivery
            .iter()
            .map(|d| SourceLine {
                source: d.source.clone(),
                received_at: d.received_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                deliveries: d.deliveries,
            })
            .collect(),
        chrome,
    };
    render(&page)
}

pub async fn data_health_rows(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    state.count_request();
    let check = parse_check(&slug)?;
    let (view, preset) = Chrome::view(&state, &headers, &query)?;
    if query.format.as_deref() == Some("csv") {
        return stream_csv(
            &state,
            view,
            check.slug(),
            move |conn, settings, known, view, out| {
                health::write_csv(conn, settings, known, view, check, out)
            },
        )
        .await;
    }
    let paging = Paging::page(page_number(&query)?);
    let path = format!("/data-health/{slug}");
    let (chrome, table) = Chrome::read(
        &state,
        &query,
        (view, preset),
        check.title(),
        &path,
        move |conn, settings, known, view| health::rows(conn, settings, known, view, check, paging),
    )
    .await?;
    let page = RowsPage {
        title: check.title(),
        advice: check.advice(),
        table: table_view(&table, &chrome.links, &path),
        chrome,
    };
    render(&page)
}
