//! The DuckDB store: opening the file, the schema's migrations, the raw log and
//! typed tables, and the single writer that owns every write.

mod batch;
pub mod commits;
mod known;
mod migrations;
pub mod pending;
pub mod raw_log;
mod writer;

use std::path::{Path, PathBuf};

use duckdb::Connection;

pub use batch::{Appended, BatchResult, Delivery, Staging, Touched, write_batch};
pub use migrations::MIGRATIONS;
pub use writer::{
    DEFAULT_LINGER, DEFAULT_MAX_BATCH_EVENTS, Outcome, PauseGuard, Refresh, RefreshError,
    StartFailure, Submission, WriteError, WriteFailure, Writer, WriterHealth, WriterOptions,
    WriterStats,
};

/// A name read back from the store, parsed again: the store holds only names parsed at
/// the edge, so a refusal means the file was written by something else.
fn stored_name<T>(
    raw: &str,
    parse: fn(&str) -> Result<T, shiplog_model::NameError>,
) -> duckdb::Result<T> {
    parse(raw).map_err(|e| {
        duckdb::Error::FromSqlConversionFailure(0, duckdb::types::Type::Text, Box::new(e))
    })
}

/// Why the store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the file: DuckDB lets one process write a database.
    #[error("{path} is in use by another process ({detail})")]
    Locked { path: PathBuf, detail: String },
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        source: duckdb::Error,
    },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i32,
        name: &'static str,
        source: duckdb::Error,
    },
    #[error(transparent)]
    Sql(#[from] duckdb::Error),
}

/// The write-ahead log's size at which DuckDB checkpoints it into the file (its
/// default is 16 MB). Each checkpoint rewrites and recompresses the newest, partly
/// filled row group of every table it touches, so small checkpoints repeat that work:
/// a 2-year import of 50 services spent more than half its writer's time there, and
/// took 55 s instead of 87.5 s with 64 MB, at less peak memory; a server under load
/// checkpoints less often and holds a little more (docs/performance.md).
const CHECKPOINT_THRESHOLD: &str = "64MB";

/// An open database with its schema up to date.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let opened = duckdb::Config::default()
            .with("checkpoint_threshold", CHECKPOINT_THRESHOLD)
            .and_then(|config| Connection::open_with_flags(path, config));
        let conn = opened.map_err(|source| {
            let text = source.to_string();
            if text.contains("lock") {
                let detail = text
                    .split("Conflicting lock")
                    .nth(1)
                    .map_or(text.clone(), |d| format!("conflicting lock{d}"));
                StoreError::Locked {
                    path: path.to_owned(),
                    detail,
                }
            } else {
                StoreError::Open {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        Self::with_connection(conn)
    }

    /// An in-memory database, for tests that need no file.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(mut conn: Connection) -> Result<Store, StoreError> {
        migrations::apply(&mut conn)?;
        Ok(Store { conn })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A second connection to the same database, for reads on another thread.
    pub fn reader(&self) -> Result<Connection, StoreError> {
        Ok(self.conn.try_clone()?)
    }

    pub fn into_connection(self) -> Connection {
        self.conn
    }
}
