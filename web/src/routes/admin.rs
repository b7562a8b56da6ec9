//! Admin routes, behind `SHIPLOG_ADMIN_TOKEN` (refused while none is set, checked by
//! `auth::guard` before the handler runs), the HTTP twins of commands for a database
//! a running server holds: `POST /api/v1/admin/replay?source=&since=`
//! (`shiplog replay`) and
//! `POST /api/v1/admin/git-import?path=&repo=` (`shiplog git import`; the path is
//! on the server's file system) and `POST /api/v1/admin/backup?out=` (`shiplog backup
//! --server`; the directory too is on the server's file system), and
//! `POST /api/v1/admin/export` (`shiplog export`, into the configured `export_dir`).

use crate::extract::Query;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shiplog_ingest::git::repo_name_from_remote;
use shiplog_model::RepoName;

use crate::app::AppState;
use crate::cli::backup::{BackupFailure, BackupSummary, backup_database};
use crate::error::ApiError;
use crate::history::git_import;
use crate::replay::{ReplayError, ReplaySummary, replay};

#[derive(Debug, Default, Deserialize)]
pub struct ReplayQuery {
    pub source: Option<String>,
    pub since: Option<String>,
}

/// Maps stored deliveries again (`shiplog replay`).
#[utoipa::path(
    post,
    path = "/api/v1/admin/replay",
    tag = "admin",
    params(
        ("source" = Option<crate::openapi::ReplaySource>, Query, description = "Only this sender's deliveries"),
        ("since" = Option<String>, Query, description = "Only deliveries received since this day (`YYYY-MM-DD`) or RFC 3339 instant"),
        ("token" = Option<String>, Query, description = "The token, when no `Authorization` header can be sent"),
    ),
    responses(
        (status = 200, description = "Done", body = crate::replay::ReplaySummary),
        (status = 400, description = "The body or the query cannot be read", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong token, or none configured (the message names the variable)", body = crate::openapi::ErrorBody),
        (status = 500, description = "A read failed (see the server log)", body = crate::openapi::ErrorBody),
        (status = 503, description = "Temporary trouble (full queue, failing storage, shutting down); see `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("admin_token" = [])),
)]
pub async fn post_replay(
    State(state): State<AppState>,
    Query(query): Query<ReplayQuery>,
) -> Result<Json<ReplaySummary>, ApiError> {
    state.count_request();
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
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GitImportSummary {
    pub repo: String,
    /// Commits read from the clone (those not yet stored with their parents).
    pub read: usize,
    /// Of those, the ones new to the raw log.
    pub stored: usize,
}

/// Imports a clone's commit graph (`shiplog git import`).
#[utoipa::path(
    post,
    path = "/api/v1/admin/git-import",
    tag = "admin",
    params(
        ("path" = String, Query, description = "The clone, on the server's file system"),
        ("repo" = Option<String>, Query, description = "`org/name` (default: from the clone's `origin`)"),
        ("token" = Option<String>, Query, description = "The token, when no `Authorization` header can be sent"),
    ),
    responses(
        (status = 200, description = "Done", body = GitImportSummary),
        (status = 400, description = "The body or the query cannot be read", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong token, or none configured (the message names the variable)", body = crate::openapi::ErrorBody),
        (status = 500, description = "A read failed (see the server log)", body = crate::openapi::ErrorBody),
        (status = 503, description = "Temporary trouble (full queue, failing storage, shutting down); see `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("admin_token" = [])),
)]
pub async fn post_git_import(
    State(state): State<AppState>,
    Query(query): Query<GitImportQuery>,
) -> Result<Json<GitImportSummary>, ApiError> {
    state.count_request();
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

#[derive(Debug, Default, Deserialize)]
pub struct BackupQuery {
    pub out: Option<String>,
}

/// A consistent copy of the database into `out`, taken while ingest goes on
/// (`cli/backup.rs`); answers when the backup, its manifest included, is written.
/// A consistent copy of the database (`shiplog backup --server`).
#[utoipa::path(
    post,
    path = "/api/v1/admin/backup",
    tag = "admin",
    params(
        ("out" = String, Query, description = "A new or empty directory, an absolute path on the server"),
        ("token" = Option<String>, Query, description = "The token, when no `Authorization` header can be sent"),
    ),
    responses(
        (status = 200, description = "Done", body = crate::cli::backup::BackupSummary),
        (status = 400, description = "The body or the query cannot be read", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong token, or none configured (the message names the variable)", body = crate::openapi::ErrorBody),
        (status = 500, description = "A read failed (see the server log)", body = crate::openapi::ErrorBody),
        (status = 503, description = "Temporary trouble (full queue, failing storage, shutting down); see `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("admin_token" = [])),
)]
pub async fn post_backup(
    State(state): State<AppState>,
    Query(query): Query<BackupQuery>,
) -> Result<Json<BackupSummary>, ApiError> {
    state.count_request();
    let out = query
        .out
        .filter(|p| !p.trim().is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "`out` (a new or empty directory on the server) is required".into(),
            )
        })?;
    // Relative to the server's working directory, which the caller cannot see.
    if !out.is_absolute() {
        return Err(ApiError::BadRequest(format!(
            "`out` must be an absolute path on the server, not {}",
            out.display()
        )));
    }
    let summary = backup_database(&state.db, out, chrono::Utc::now())
        .await
        .map_err(|e| match e {
            BackupFailure::Writer(w) => super::events::write_error(&state.db.writer, w),
            refused if refused.is_refused_directory() => ApiError::BadRequest(refused.to_string()),
            other => ApiError::Internal(other.to_string()),
        })?;
    tracing::info!(%summary, "backup written");
    Ok(Json(summary))
}

/// The warehouse export (`shiplog export`) into the configured `export_dir`: the
/// request names no path, so the admin token cannot write anywhere else. Answers once
/// the export, its manifest included, is written.
#[utoipa::path(
    post,
    path = "/api/v1/admin/export",
    tag = "admin",
    params(
        ("token" = Option<String>, Query, description = "The token, when no `Authorization` header can be sent"),
    ),
    responses(
        (status = 200, description = "Done: what was written, what was already up to date", body = shiplog_queries::export::ExportSummary),
        (status = 400, description = "The configured `export_dir` holds files that are not a Shiplog export (nothing was written), or the query cannot be read", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong token, or none configured (the message names the variable)", body = crate::openapi::ErrorBody),
        (status = 500, description = "A read or a write failed (see the server log); the last export is as it was", body = crate::openapi::ErrorBody),
        (status = 503, description = "Another export is running, or temporary trouble (failing storage, shutting down); see `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("admin_token" = [])),
)]
pub async fn post_export(
    State(state): State<AppState>,
) -> Result<Json<shiplog_queries::export::ExportSummary>, ApiError> {
    use shiplog_queries::export::{ExportError, export};
    state.count_request();
    let dir = state.config.export_directory();
    let exported = state
        .read(move |conn| Ok(export(conn, &dir, chrono::Utc::now(), &mut |_| {})))
        .await?;
    let summary = exported.map_err(|e| match e {
        refused if refused.is_refused_directory() => {
            ApiError::BadRequest(format!("{refused} (export_dir in the server's config)"))
        }
        ExportError::Busy => ApiError::Unavailable {
            message: ExportError::Busy.to_string(),
            retry_after: 10,
        },
        other => ApiError::Internal(other.to_string()),
    })?;
    tracing::info!(%summary, "export written");
    Ok(Json(summary))
}
