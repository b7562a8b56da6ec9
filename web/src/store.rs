//! Opening the database for the server and the commands: the store, the derived
//! facts brought up to date, the writer with the derivation plugged in, and a pool
//! of read connections.

use std::path::Path;
use std::sync::Mutex;

use duckdb::Connection;
use shiplog_ingest::store::{Refresh, Store, StoreError, Touched, Writer, WriterOptions};
use shiplog_model::Settings;
use shiplog_queries::{Deriver, QueryError};

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot bring derived facts up to date: {0}")]
    Derive(#[from] QueryError),
    #[error("{0}")]
    Writer(String),
}

impl OpenError {
    /// Another process (a running server) holds the file.
    pub fn is_locked(&self) -> bool {
        matches!(self, OpenError::Store(StoreError::Locked { .. }))
    }
}

/// The derivation, as the writer calls it after each batch.
struct DeriveAfterWrite(Deriver);

impl Refresh for DeriveAfterWrite {
    fn refresh(&mut self, conn: &Connection, touched: &Touched) -> Result<(), String> {
        self.0
            .refresh(conn, &touched.services, &touched.repos)
            .map_err(|e| e.to_string())
    }
}

/// An open database: the single writer and the connections readers borrow.
#[derive(Debug)]
pub struct Database {
    pub writer: Writer,
    pub readers: ReadPool,
}

/// Opens `path`, migrates it, recomputes derived facts if the settings changed, and
/// starts the writer.
pub fn open(
    path: &Path,
    settings: &Settings,
    options: WriterOptions,
) -> Result<Database, OpenError> {
    let store = Store::open(path)?;
    let deriver = Deriver::new(settings.clone());
    if deriver.ensure_current(store.connection())? {
        tracing::info!("derived facts recomputed for the current settings");
    }
    let readers = ReadPool::new(store.reader()?);
    let writer = Writer::spawn(
        store.into_connection(),
        Box::new(DeriveAfterWrite(deriver)),
        options,
    )
    .map_err(OpenError::Writer)?;
    Ok(Database { writer, readers })
}

/// Read connections, cloned from one base connection and reused.
#[derive(Debug)]
pub struct ReadPool {
    base: Mutex<Connection>,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub fn new(base: Connection) -> ReadPool {
        ReadPool {
            base: Mutex::new(base),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a pooled connection (call from a blocking thread).
    pub fn with<T>(&self, read: impl FnOnce(&Connection) -> T) -> Result<T, duckdb::Error> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => self
                .base
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_clone()?,
        };
        let result = read(&conn);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
        Ok(result)
    }
}
