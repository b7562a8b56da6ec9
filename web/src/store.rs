//! Opening the database for the server and the commands: the store, the writer with
//! the derivation plugged in (its settler brings the derived facts up to date before
//! `open` returns), and a pool of read connections.

use std::path::Path;
use std::sync::Mutex;

use duckdb::Connection;
use shiplog_ingest::store::{
    Refresh, RefreshError, StartFailure, Store, StoreError, Touched, WriteFailure, Writer,
    WriterOptions,
};
use shiplog_model::Settings;
use shiplog_queries::Deriver;
use shiplog_queries::derive::Owed;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot bring derived facts up to date: {0}")]
    Derive(RefreshError),
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

impl From<StartFailure> for OpenError {
    fn from(failure: StartFailure) -> Self {
        match failure {
            StartFailure::Writer(e) => OpenError::Writer(e),
            StartFailure::Current(e) => OpenError::Derive(e),
            StartFailure::Owed(e) => OpenError::Pending(e),
        }
    }
}

/// What the batches that wrote `touched` owe the derivation.
pub fn owed(touched: &Touched) -> Owed<'_> {
    Owed {
        services: &touched.services,
        repos: &touched.repos,
        commits: &touched.appended.commits,
        deployments: &touched.appended.deployments,
        incidents: &touched.appended.incidents,
    }
}

/// The derivation, as the writer's settler calls it.
struct DeriveAfterWrite(Deriver);

impl Refresh for DeriveAfterWrite {
    fn refresh(&mut self, conn: &Connection, touched: &Touched) -> Result<(), RefreshError> {
        let paid = self.0.pay(conn, owed(touched))?;
        tracing::debug!(
            recomputed = paid.recomputed,
            extended = paid.extended,
            "derived facts paid"
        );
        Ok(())
    }

    /// Everything again when the settings' fingerprint (or the derivation's version)
    /// differs from the one the derived tables were written with.
    fn bring_current(&mut self, conn: &Connection) -> Result<bool, RefreshError> {
        Ok(self.0.ensure_current(conn)?)
    }
}

/// An open database: the single writer and the connections readers borrow.
#[derive(Debug)]
pub struct Database {
    pub writer: Writer,
    pub readers: ReadPool,
}

/// Opens `path`, migrates it, and starts the writer; returns once the writer's
/// settler has brought the derived facts up to date (recomputed them for changed
/// settings, paid what a stopped writer still owed), so reads see current facts.
/// Blocks: call it from a blocking thread.
pub fn open(
    path: &Path,
    settings: &Settings,
    options: WriterOptions,
) -> Result<Database, OpenError> {
    let store = Store::open(path)?;
    let readers = ReadPool::new(store.reader()?);
    let derive = DeriveAfterWrite(Deriver::new(settings.clone()));
    let writer = Writer::spawn(store.into_connection(), Box::new(derive), options)?;
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

#[cfg(test)]
mod tests {
    //! `open` returns with the derived facts current; the settler does the work
    //! (`ingest`'s writer tests check which thread, with a recording derivation).

    use shiplog_ingest::sources::generic::parse_event_text;
    use shiplog_ingest::store::{Submission, pending};
    use shiplog_ingest::typed_delivery;
    use shiplog_model::Period;
    use shiplog_queries::Filter;

    use super::*;

    fn deployment(id: &str, environment: &str) -> Submission {
        let text = format!(
            r#"{{"type":"deployment","id":"{id}","service":"api","environment":"{environment}","repo":"acme/shop","sha":"aaaaaaa","finished_at":"2026-03-02T11:00:00Z"}}"#
        );
        let parsed = parse_event_text(1, &text).unwrap();
        Submission {
            deliveries: vec![typed_delivery("api", parsed, chrono::Utc::now())],
        }
    }

    /// Production deployments in the first week of March, as read right after `open`.
    fn deployments(db: &Database, settings: &Settings) -> i64 {
        let period = Period::parse(
            Some("2026-03-01"),
            Some("2026-03-08"),
            chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        )
        .unwrap();
        let read = |conn: &Connection| {
            shiplog_queries::metrics(conn, settings, period, &Filter::default()).unwrap()
        };
        db.readers
            .with(read)
            .unwrap()
            .deployment_frequency
            .deployments
    }

    fn eu_prod() -> Settings {
        let mut settings = Settings::default();
        settings.set_production_environments(["eu-prod"]);
        settings
    }

    #[tokio::test]
    async fn opening_with_other_settings_recomputes_the_facts_before_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.duckdb");
        let db = open(&path, &Settings::default(), WriterOptions::default()).unwrap();
        db.writer
            .submit(deployment("d-1", "eu-prod"))
            .await
            .unwrap();
        db.writer.settle().await.unwrap();
        assert_eq!(
            deployments(&db, &Settings::default()),
            0,
            "not production yet"
        );
        db.writer.shutdown();
        drop(db);

        // The facts on disk were derived with `eu-prod` as not production.
        let db = open(&path, &eu_prod(), WriterOptions::bulk(1)).unwrap();
        assert_eq!(deployments(&db, &eu_prod()), 1);
        db.writer.shutdown();
    }

    /// Fails every payment, so the debt stays on disk as a stopped writer leaves it.
    struct Failing;

    impl Refresh for Failing {
        fn refresh(&mut self, _: &Connection, _: &Touched) -> Result<(), RefreshError> {
            Err("not now".into())
        }
    }

    #[tokio::test]
    async fn opening_pays_what_a_stopped_writer_owed_before_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.duckdb");
        // Derived once with these settings, so the next open has nothing to recompute
        // for them and only the debt brings the deployment in.
        open(&path, &Settings::default(), WriterOptions::default())
            .unwrap()
            .writer
            .shutdown();
        let store = Store::open(&path).unwrap();
        let writer = Writer::spawn(
            store.into_connection(),
            Box::new(Failing),
            WriterOptions::bulk(1),
        )
        .unwrap();
        writer
            .submit(deployment("d-1", "production"))
            .await
            .unwrap();
        writer.shutdown();
        drop(writer);

        let db = open(&path, &Settings::default(), WriterOptions::bulk(1)).unwrap();
        assert!(db.readers.with(pending::load).unwrap().unwrap().is_empty());
        assert_eq!(deployments(&db, &Settings::default()), 1);
        db.writer.shutdown();
    }
}
