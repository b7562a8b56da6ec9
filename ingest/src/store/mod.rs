//! The DuckDB store: opening the file, the schema's migrations, the raw log and
//! typed tables, the single writer that owns every write, and backups (`backup.rs`).

pub mod backup;
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

/// Who holds the file, when another process does, asked of the OS after DuckDB
/// failed to open it. DuckDB locks the whole file with `fcntl(F_SETLK)`: a write lock,
/// or a read lock when it opens read-only. `F_GETLK` for a write lock reports a lock of
/// either kind held by another process (never one of this process's own, which do not
/// conflict). DuckDB's message says so too, but as text: a path or an error with
/// "block" or "clock" in it was once read as a lock.
///
/// The probe opens the file and closes it again, and closing any descriptor of a file
/// drops every `fcntl` lock the closing process holds on it (POSIX). It runs only when
/// an open failed, and Shiplog opens its database once per process (the server's
/// writer, or one command), so there is no lock of its own to drop. A holder that exits
/// between DuckDB's attempt and the probe leaves no lock: that failure is reported
/// with DuckDB's own message.
#[cfg(unix)]
fn lock_holder(path: &Path) -> Option<String> {
    use rustix::process::{Flock, FlockType, fcntl_getlk};
    let file = std::fs::File::open(path).ok()?;
    let held = fcntl_getlk(&file, &Flock::from(FlockType::WriteLock)).ok()??;
    let kind = match held.typ {
        FlockType::ReadLock => "a read lock",
        _ => "a write lock",
    };
    // The holder's pid is 0 (`None`) when it runs in another PID namespace.
    Some(match held.pid {
        Some(pid) => format!("process {pid} holds {kind} on it"),
        None => format!("a process outside this PID namespace holds {kind} on it"),
    })
}

/// Elsewhere DuckDB locks with `LockFileEx`, which this does not ask about: a held file
/// is reported as a failed open, with DuckDB's message naming the conflict.
#[cfg(not(unix))]
fn lock_holder(_path: &Path) -> Option<String> {
    None
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
        let conn = opened.map_err(|source| match lock_holder(path) {
            Some(detail) => StoreError::Locked {
                path: path.to_owned(),
                detail,
            },
            None => StoreError::Open {
                path: path.to_owned(),
                source,
            },
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
