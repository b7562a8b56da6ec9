//! Admin routes, behind `SHIPLOG_ADMIN_TOKEN` (refused while none is set):
//! `POST /api/v1/admin/replay?source=&since=`, the HTTP twin of `shiplog replay` for
//! a database a running server holds.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth;
use crate::error::ApiError;
use crate::replay::{ReplayError, ReplaySummary, replay};

#[derive(Debug, Default, Deserialize)]
pub struct ReplayQuery {
    pub source: Option<String>,
    pub since: Option<String>,
    pub token: Option<String>,
}

pub async fn post_replay(
    State(state): State<AppState>,
    Query(query): Query<ReplayQuery>,
    headers: HeaderMap,
) -> Result<Json<ReplaySummary>, ApiError> {
    state.count_request();
    auth::require(
        state.config.tokens.admin.as_ref(),
        auth::presented(&headers, query.token.as_deref()),
        "SHIPLOG_ADMIN_TOKEN",
        false,
    )?;
    let filter = crate::replay::filter(query.source.as_deref(), query.since.as_deref())
        .map_err(ApiError::BadRequest)?;
    let summary = replay(&state.db, &state.config.routing, &filter, &|_| {})
        .await
        .map_err(|e| match e {
            ReplayError::Write(w) => super::events::write_error(w),
            ReplayError::Read(r) => ApiError::Internal(r),
        })?;
    tracing::info!(%summary, "replay finished");
    Ok(Json(summary))
}
