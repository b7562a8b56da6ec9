//! `shiplog backup --out DIR` and `shiplog restore --from DIR`. A backup is copied from
//! the open database in one snapshot while its writer goes on committing
//! (`shiplog_ingest::store::backup`): through a running server's admin route
//! (`--server`, `POST /api/v1/admin/backup?out=DIR`, which shares [`backup_database`]
//! with this file), or from a database file no server holds (`--db`). A restore
//! writes a new database file from a backup, checked against its manifest.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Args;
use serde::{Deserialize, Serialize};
use shiplog_ingest::store::WriteError;
use shiplog_ingest::store::backup::{self, BackupError, Manifest};

use super::CliError;
use crate::config::Config;
use crate::store::Database;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A new or empty directory to write the backup into (created when missing). With
    /// --server it is a path on the server's machine, and must be absolute.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Back up through this running server's admin API, while it keeps ingesting.
    #[arg(long, env = "SHIPLOG_URL", value_name = "URL")]
    pub server: Option<String>,
    /// The admin token (SHIPLOG_ADMIN_TOKEN on the server), for --server.
    #[arg(long, env = "SHIPLOG_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Back up this database file directly; no server may hold it. Wins over
    /// --server [default without --server: SHIPLOG_DB, else ./shiplog.duckdb]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup's directory (what `shiplog backup --out` wrote).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The database file to create [env: SHIPLOG_DB] [default: ./shiplog.duckdb]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Replace an existing database file (still refused while a process holds it).
    #[arg(long)]
    pub force: bool,
}

/// The answer of the admin route, and what `shiplog backup` reports.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupSummary {
    /// The backup's directory, on the machine that wrote it.
    pub out: String,
    /// How long the copy took, the manifest included.
    pub seconds: f64,
    pub manifest: Manifest,
}

impl std::fmt::Display for BackupSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.manifest;
        write!(
            f,
            "backed up {} raw event(s), {} table(s), {:.1} MB, as of {}, into {} in {:.2} s",
            m.raw_events(),
            m.tables.len(),
            m.database.bytes as f64 / 1e6,
            m.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.out,
            self.seconds
        )
    }
}

/// Why [`backup_database`] failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupFailure {
    /// The writer could not bring the derived facts up to date first.
    #[error("{0}")]
    Writer(WriteError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error("cannot open a read connection: {0}")]
    Connection(duckdb::Error),
    #[error("the backup stopped: {0}")]
    Interrupted(String),
}

impl BackupFailure {
    /// The caller's directory is refused (not empty, not creatable): nothing was written.
    pub fn is_refused_directory(&self) -> bool {
        matches!(
            self,
            BackupFailure::Backup(BackupError::NotEmpty(_) | BackupError::Directory { .. })
        )
    }
}

/// Backs up `db` into `out` (`created_at` read by the caller): once the derived facts
/// cover every answered request, so that the backup owes none of them for what was
/// answered before it began, on a read connection of the same database, in one
/// snapshot, while the writer goes on committing.
pub async fn backup_database(
    db: &Arc<Database>,
    out: PathBuf,
    created_at: DateTime<Utc>,
) -> Result<BackupSummary, BackupFailure> {
    db.writer.settle().await.map_err(BackupFailure::Writer)?;
    let started = Instant::now();
    let reading = db.clone();
    let dir = out.clone();
    let manifest = tokio::task::spawn_blocking(move || {
        reading
            .readers
            .with(|conn| backup::write(conn, &dir, created_at))
    })
    .await
    .map_err(|e| BackupFailure::Interrupted(e.to_string()))?
    .map_err(BackupFailure::Connection)??;
    Ok(BackupSummary {
        out: out.display().to_string(),
        seconds: started.elapsed().as_secs_f64(),
        manifest,
    })
}

/// What a refused `--db` backup names instead, when a server holds the file.
const THROUGH_SERVER: &str = "`shiplog backup --server URL --out DIR` (SHIPLOG_ADMIN_TOKEN), \
     or POST /api/v1/admin/backup?out=DIR";

pub async fn run_backup(mut config: Config, args: BackupArgs) -> Result<(), CliError> {
    let summary = match (args.db, args.server) {
        (None, Some(server)) => through_server(&server, args.token.as_deref(), &args.out).await?,
        (db, _) => {
            if let Some(db) = db {
                config.db = db;
            }
            from_file(&config, args.out).await?
        }
    };
    eprintln!("{summary}");
    Ok(())
}

/// Opens the file as the server does (the settler pays any debt first), backs it up
/// and stops the writer.
async fn from_file(config: &Config, out: PathBuf) -> Result<BackupSummary, CliError> {
    if !config.db.exists() {
        return Err(CliError::Usage(format!(
            "no database at {}: pass --db, or --server to back up through a running server",
            config.db.display()
        )));
    }
    let db = super::open_db(config, 1, THROUGH_SERVER).await?;
    let result = backup_database(&db, out, Utc::now()).await;
    let writer = db.writer.clone();
    tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    result.map_err(|e| {
        if e.is_refused_directory() {
            CliError::Usage(e.to_string())
        } else {
            CliError::Failed(e.to_string())
        }
    })
}

/// `POST /api/v1/admin/backup?out=DIR`. No overall timeout: the copy takes as long as
/// the database's size; the server does not time admin routes out either.
async fn through_server(
    server: &str,
    token: Option<&str>,
    out: &std::path::Path,
) -> Result<BackupSummary, CliError> {
    let out = out
        .to_str()
        .ok_or_else(|| CliError::Usage(format!("--out {} is not UTF-8", out.display())))?;
    let url = format!("{}/api/v1/admin/backup", server.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let mut request = client.post(&url).query(&[("out", out)]);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| CliError::Failed(format!("cannot reach {url}: {e}")))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| CliError::Failed(format!("{url} answered {status}, then: {e}")))?;
    if status.is_success() {
        return serde_json::from_str(&body).map_err(|e| {
            CliError::Failed(format!(
                "{url} answered {status} with an unreadable summary: {e}"
            ))
        });
    }
    // SPEC §5's error body; any other body is shown as it came.
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or(body);
    let message = format!("{url} answered {status}: {message}");
    Err(if status == reqwest::StatusCode::BAD_REQUEST {
        CliError::Usage(message)
    } else {
        CliError::Failed(message)
    })
}

pub async fn run_restore(mut config: Config, args: RestoreArgs) -> Result<(), CliError> {
    if let Some(db) = args.db {
        config.db = db;
    }
    let (from, to, force) = (args.from, config.db.clone(), args.force);
    let started = Instant::now();
    let restored = tokio::task::spawn_blocking(move || backup::restore(&from, &to, force))
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let manifest = restored.map_err(|e| match e {
        BackupError::TargetExists(path) => CliError::Usage(format!(
            "{} exists; nothing was restored. Restore into a new path, or pass --force to \
             replace it",
            path.display()
        )),
        BackupError::TargetHeld { path, detail } => CliError::Usage(format!(
            "{} is held by another process ({detail}), most likely a running `shiplog serve`: \
             stop it before restoring over its database; nothing was restored",
            path.display()
        )),
        other => CliError::Failed(other.to_string()),
    })?;
    eprintln!(
        "restored {} from the backup of {} (Shiplog {}, schema {}): {} raw event(s) and {} \
         table(s) match its manifest, in {:.2} s",
        config.db.display(),
        manifest
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        manifest.shiplog_version,
        manifest.schema_version,
        manifest.raw_events(),
        manifest.tables.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
