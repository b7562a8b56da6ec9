//! Admin routes, behind `SHIPLOG_ADMIN_TOKEN` (refused while none is set), the HTTP
//! twins of commands for a database a running server holds:
//! `POST /api/v1/admin/replay?source=&since=` (`shiplog replay`) and
//! `POST /api/v1/admin/git-import?path=&repo=` (`shiplog git import`; the path is
//! on the server's file system).

use crate::extract::Query;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use shiplog_ingest::git::repo_name_from_remote;
use shiplog_model::RepoName;

use crate::app::AppState;
use crate::auth;
use crate::error::ApiError;
use crate::history::git_import;
use crate::replay::{ReplayError, ReplaySummary, replay};

#[derive(Debug, Default, Deserialize)]
pub struct ReplayQuery {
    pub source: Option<String>,
    pub since: Option<String>,
    pub token: Option<String>,
}

fn require_admin(
    state: &AppState,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<(), ApiError> {
    state.count_request();
    auth::require(
        state.config.tokens.admin.as_ref(),
        auth::presented(headers, token),
        "SHIPLOG_ADMIN_TOKEN",
        false,
    )
}

pub async fn post_replay(
    State(state): State<AppState>,
    Query(query): Query<ReplayQuery>,
    headers: HeaderMap,
) -> Result<Json<ReplaySummary>, ApiError> {
    require_admin(&state, &headers, query.token.as_deref())?;
    let filter = crate::replay::filter(query.source.as_deref(), query.since.as_deref())
        .map_err(ApiError::BadRequest)?;
    let summary = replay(&state.db, &state.config.routing, &filter, &|_| {})
        .await
        .map_err(|e| match e {
            ReplayError::Write(w) => super::events::write_error(&state.db.writer, w),
            ReplayError::Read(r) => ApiError::Internal(r),
        })?;
    tracing::info!(%summary, "replay finished");
    Ok(Json(summary))
}

#[derive(Debug, Default, Deserialize)]
pub struct GitImportQuery {
    pub path: Option<String>,
    pub repo: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct GitImportSummary {
    pub repo: String,
    /// Commits read from the clone (those not yet stored with their parents).
    pub read: usize,
    /// Of those, the ones new to the raw log.
    pub stored: usize,
}

pub async fn post_git_import(
    State(state): State<AppState>,
    Query(query): Query<GitImportQuery>,
    headers: HeaderMap,
) -> Result<Json<GitImportSummary>, ApiError> {
    require_admin(&state, &headers, query.token.as_deref())?;
    let path = query
        .path
        .filter(|p| !p.trim().is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| {
            ApiError::BadRequest("`path` (the clone on the server) is required".into())
        })?;
    let repo = match query.repo.filter(|r| !r.trim().is_empty()) {
        Some(raw) => {
            RepoName::parse(&raw).map_err(|e| ApiError::BadRequest(format!("repo {raw:?} {e}")))?
        }
        None => repo_name_from_remote(&path)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{} has no `origin` remote to name the repository: pass repo=org/name",
                    path.display()
                ))
            })?,
    };
    let (read, stored) = git_import(&state.db, &path, &repo, |_| {})
        .await
        .map_err(ApiError::BadRequest)?;
    Ok(Json(GitImportSummary {
        repo: repo.into_string(),
        read,
        stored,
    }))
}
