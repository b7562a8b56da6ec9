//! `GET /api/v1/metrics`: the metrics JSON of SPEC §5.

use crate::extract::Query;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use shiplog_queries::Metrics;

use super::ReadQuery;
use crate::app::AppState;
use crate::auth;
use crate::error::ApiError;

/// Reads are open unless `SHIPLOG_READ_TOKEN` is set.
pub fn require_read(
    state: &AppState,
    headers: &HeaderMap,
    query: &ReadQuery,
) -> Result<(), ApiError> {
    let presented = auth::presented_for_read(headers, query.token.as_deref());
    auth::require(
        state.config.tokens.read.as_ref(),
        presented.as_deref(),
        "SHIPLOG_READ_TOKEN",
        true,
    )
}

pub async fn get_metrics(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<Metrics>, ApiError> {
    state.count_request();
    require_read(&state, &headers, &query)?;
    let period = query.period()?;
    let filter = query.filter();
    let settings = state.config.settings.clone();
    let metrics = state
        .read(move |conn| shiplog_queries::metrics(conn, &settings, period, &filter))
        .await?;
    Ok(Json(metrics))
}
