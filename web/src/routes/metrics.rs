//! `GET /api/v1/metrics`: the metrics JSON of SPEC §5 (behind the read token:
//! `auth::guard`).

use crate::extract::Query;
use axum::Json;
use axum::extract::State;
use shiplog_queries::Metrics;

use super::ReadQuery;
use crate::app::AppState;
use crate::error::ApiError;

/// SPEC §5's metrics JSON for a period and a filter.
#[utoipa::path(
    get,
    path = "/api/v1/metrics",
    tag = "read",
    params(
        crate::openapi::ReadPeriod,
    ),
    responses(
        (status = 200, description = "The metrics JSON", body = shiplog_queries::Metrics),
        (status = 400, description = "The body or the query cannot be read", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong token, or none configured (the message names the variable)", body = crate::openapi::ErrorBody),
        (status = 500, description = "A read failed (see the server log)", body = crate::openapi::ErrorBody),
        (status = 503, description = "Temporary trouble (full queue, failing storage, shutting down); see `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security((), ("read_token" = [])),
)]
pub async fn get_metrics(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
) -> Result<Json<Metrics>, ApiError> {
    state.count_request();
    let period = query.period()?;
    let filter = query.filter();
    let settings = state.config.settings.clone();
    let metrics = state
        .read(move |conn| shiplog_queries::metrics(conn, &settings, period, &filter))
        .await?;
    Ok(Json(metrics))
}
