//! `GET /reports/weekly.csv`: the weekly report as CSV, or Parquet with `?format=parquet`
//! (behind the read token: `auth::guard`).

use crate::extract::Query;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use shiplog_queries::weekly;

use super::ReadQuery;
use crate::app::AppState;
use crate::error::ApiError;

pub const PARQUET_TYPE: &str = "application/vnd.apache.parquet";

/// SPEC §5's weekly report.
#[utoipa::path(
    get,
    path = "/reports/weekly.csv",
    tag = "read",
    params(
        crate::openapi::ReadPeriod,
        ("format" = Option<crate::openapi::ReportFormat>, Query, description = "`csv` (default) or `parquet`"),
    ),
    responses(
        (status = 200, description = "The weekly report: CSV (SPEC §5's header), or Parquet with `format=parquet`", content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.apache.parquet"),
        )),
        (status = 400, description = "The body or the query cannot be read", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong token, or none configured (the message names the variable)", body = crate::openapi::ErrorBody),
        (status = 500, description = "A read failed (see the server log)", body = crate::openapi::ErrorBody),
        (status = 503, description = "Temporary trouble (full queue, failing storage, shutting down); see `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security((), ("read_token" = [])),
)]
pub async fn weekly(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
) -> Result<Response, ApiError> {
    state.count_request();
    let period = query.bounded_period(state.config.max_period_days)?;
    let filter = query.filter();
    let settings = state.config.settings.clone();
    let parquet = match query.format.as_deref() {
        None | Some("csv") => false,
        Some("parquet") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "unknown format {other:?}: use csv or parquet"
            )));
        }
    };
    let body = state
        .read(move |conn| {
            let rows = weekly::weekly_report(conn, &settings, period, &filter)?;
            if !parquet {
                return Ok(weekly::to_csv(&rows).into_bytes());
            }
            weekly::parquet_bytes(conn, &rows)
        })
        .await?;
    let (content_type, name) = if parquet {
        (PARQUET_TYPE, "weekly.parquet")
    } else {
        ("text/csv; charset=utf-8", "weekly.csv")
    };
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"shiplog-{}-{name}\"", period.from());
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
