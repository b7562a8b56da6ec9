//! Opening the database for the server and the commands: the store, the derived
//! facts brought up to date, the writer with the derivation plugged in, and a pool
//! of read connections.

use std::path::Path;
use std::sync::Mutex;

use duckdb::Connection;
use shiplog_ingest::store::{
    Refresh, RefreshError, Store, StoreError, Touched, WriteFailure, Writer, WriterOptions, pending,
};
use shiplog_model::Settings;
use shiplog_queries::derive::Owed;
use shiplog_queries::{Deriver, QueryError};

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot bring derived facts up to date: {0}")]
    Derive(#[from] QueryError),
    #[error("cannot recompute the derived facts owed by the last run: {0}")]
    Pending(WriteFailure),
    #[error("cannot start the writer: {0}")]
    Writer(WriteFailure),
    #[error("opening the database stopped: {0}")]
    Interrupted(String),
}

impl OpenError {
    /// Another process (a running server) holds the file.
    pub fn is_locked(&self) -> bool {
        matches!(self, OpenError::Store(StoreError::Locked { .. }))
    }
}

/// The derivation, as the writer calls it for what batches touched.
struct DeriveAfterWrite(Deriver);

impl Refresh for DeriveAfterWrite {
    fn refresh(&mut self, conn: &Connection, touched: &Touched) -> Result<(), RefreshError> {
        let owed = Owed {
            services: &touched.services,
            repos: &touched.repos,
            commits: &touched.appended.commits,
            deployments: &touched.appended.deployments,
            incidents: &touched.appended.incidents,
        };
        let paid = self.0.pay(conn, owed)?;
        tracing::debug!(
            recomputed = paid.recomputed,
            extended = paid.extended,
            "derived facts paid"
        );
        Ok(())
    }
}

/// An open database: the single writer and the connections readers borrow.
#[derive(Debug)]
pub struct Database {
    pub writer: Writer,
    pub readers: ReadPool,
}

/// Opens `path`, migrates it, brings the derived facts up to date, and starts the
/// writer.
pub fn open(
    path: &Path,
    settings: &Settings,
    options: WriterOptions,
) -> Result<Database, OpenError> {
    let store = Store::open(path)?;
    let readers = ReadPool::new(store.reader()?);
    let mut conn = store.into_connection();
    let derive = bring_current(&mut conn, settings)?;
    let writer = Writer::spawn(conn, Box::new(derive), options).map_err(OpenError::Writer)?;
    Ok(Database { writer, readers })
}

/// Recomputes the derived facts if the settings changed since they were written, and
/// those a stopped writer still owed; returns the derivation for the writer.
pub fn bring_current(
    conn: &mut Connection,
    settings: &Settings,
) -> Result<impl Refresh + use<>, OpenError> {
    let deriver = Deriver::new(settings.clone());
    if deriver.ensure_current(conn)? {
        tracing::info!("derived facts recomputed for the current settings");
    }
    let mut derive = DeriveAfterWrite(deriver);
    if pending::pay_recorded(conn, &mut derive).map_err(OpenError::Pending)? {
        tracing::info!("derived facts owed by the last run recomputed");
    }
    Ok(derive)
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
            None => {
                let conn = self
                    .base
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .try_clone()?;
                // A page's reads prepare about twenty statements; keep them all.
                conn.set_prepared_statement_cache_capacity(64);
                conn
            }
        };
        let result = read(&conn);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
        Ok(result)
    }
}
