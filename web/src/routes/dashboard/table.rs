//! A `queries` table as a page shows it: each cell as text, with a link where it
//! names a service or a deployment, and the pager.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use duckdb::Connection;
use shiplog_model::Settings;
use shiplog_queries::QueryError;
use shiplog_queries::dashboard::{Cell, Table, View};
use shiplog_queries::scope::Known;

use super::Links;
use super::chrome::{PageError, query_escape};
use crate::app::AppState;
use crate::error::ApiError;
use crate::format;
use crate::routes::ReadQuery;
use crate::stream::ChannelWriter;

#[derive(Debug, Clone)]
pub struct CellView {
    pub text: String,
    pub title: Option<String>,
    pub href: Option<String>,
    pub numeric: bool,
}

#[derive(Debug, Clone)]
pub struct TableView {
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<CellView>>,
    pub total: i64,
    pub page: u32,
    pub pages: u32,
    pub first_row: i64,
    pub last_row: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub csv: String,
}

fn text(text: String) -> CellView {
    CellView {
        text,
        title: None,
        href: None,
        numeric: false,
    }
}

/// The anchor of a deployment on its service's page.
pub fn deployment_anchor(id: &str) -> String {
    format!("deployment-{}", query_escape(id))
}

pub fn cell(cell: &Cell, links: &Links) -> CellView {
    match cell {
        Cell::Text(v) => text(v.clone().unwrap_or_default()),
        Cell::Count(n) => CellView {
            numeric: true,
            ..text(n.to_string())
        },
        Cell::Hours(h) => CellView {
            numeric: true,
            ..text(format::optional(*h, format::hours))
        },
        Cell::Time(t) => text(
            t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
        ),
        Cell::Flag(b) => text(if *b { "yes" } else { "no" }.to_owned()),
        Cell::Service(s) => CellView {
            href: Some(links.service(s)),
            ..text(s.clone())
        },
        Cell::Deployment { id, service } => match (id, service) {
            (Some(id), Some(service)) => CellView {
                href: Some(format!(
                    "{}#{}",
                    links.service(service),
                    deployment_anchor(id)
                )),
                ..text(id.clone())
            },
            (id, _) => text(id.clone().unwrap_or_default()),
        },
        Cell::Sha(sha) => {
            let sha = sha.clone().unwrap_or_default();
            CellView {
                title: Some(sha.clone()),
                ..text(sha.chars().take(10).collect())
            }
        }
    }
}

/// The table at `path` (whose page links keep the view).
pub fn table_view(table: &Table, links: &Links, path: &str) -> TableView {
    let page = table.paging.page;
    let pages = table.paging.pages(table.total);
    let link = |page: u32| links.with(path, &[("page", &page.to_string())]);
    let first_row = i64::from(page - 1) * i64::from(table.paging.per_page) + 1;
    TableView {
        columns: table.columns,
        rows: table
            .rows
            .iter()
            .map(|row| row.iter().map(|c| cell(c, links)).collect())
            .collect(),
        total: table.total,
        page,
        pages,
        first_row: first_row.min(table.total),
        last_row: (first_row - 1 + table.rows.len() as i64).min(table.total),
        previous: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        csv: links.with(path, &[("format", "csv")]),
    }
}

/// The `page` a list asks for (1 when absent).
pub fn page_number(query: &ReadQuery) -> Result<u32, ApiError> {
    match query
        .page
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => Ok(1),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiError::BadRequest(format!("`page` is `{raw}`: use 1, 2, …"))),
    }
}

/// Every row `write` writes for `view`, streamed as a CSV download named after `what`
/// and the period's start; `write` gets the settings and the known services, read on
/// the same connection.
pub async fn stream_csv(
    state: &AppState,
    view: View,
    what: &str,
    write: impl FnOnce(
        &Connection,
        &Settings,
        &Known,
        &View,
        &mut ChannelWriter,
    ) -> Result<u64, QueryError>
    + Send
    + 'static,
) -> Result<Response, PageError> {
    let name = format!("{what}-{}", view.period.from());
    let settings = state.config.settings.clone();
    let body = state
        .stream(move |conn, out| {
            let known = Known::read(conn, &settings)?;
            write(conn, &settings, &known, &view, out).map(|_| ())
        })
        .await?;
    Ok(csv_download(body, &name))
}

/// A streamed CSV body as a download named `shiplog-{name}.csv`.
fn csv_download(body: Body, name: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"shiplog-{name}.csv\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
