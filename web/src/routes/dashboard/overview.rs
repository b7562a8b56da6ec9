//! `GET /`: the six DORA figures grouped as DORA 2024 groups them, each with its
//! level, sample size, change against the previous period and weekly sparkline;
//! build health beside them; the empty states in words.

use crate::extract::Query;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shiplog_queries::dashboard::overview::overview as read_overview;

use super::chrome::{Chrome, PageError, render};
use super::tiles::{Notice, PlainTile, TileGroup, build_tiles, groups, notices};
use crate::app::AppState;
use crate::routes::ReadQuery;

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    previous: String,
    notices: Vec<Notice>,
    groups: Vec<TileGroup>,
    builds: Vec<PlainTile>,
}

/// The address this server was reached at, for copyable commands.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    format!("http://{host}")
}

pub async fn overview(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    state.count_request();
    let view = Chrome::view(&state, &headers, &query)?;
    let (chrome, data) = Chrome::read(&state, &query, view, "Overview", "/", read_overview).await?;
    let previous = chrome.view.previous_period();
    let page = OverviewPage {
        previous: format!(
            "previous {} days ({} to {})",
            previous.days(),
            previous.from(),
            previous.to()
        ),
        notices: notices(&data, &base_url(&headers)),
        groups: groups(&data, &chrome.links, "overview", chrome.goal_scope()),
        builds: build_tiles(&data.builds),
        chrome,
    };
    render(&page)
}
