//! Backups: a consistent copy of the database, taken on a connection of the open
//! database while its writer goes on committing, and the restore of one into a new
//! file.
//!
//! A backup is a directory holding [`DATABASE_FILE`], a complete DuckDB database, and
//! [`MANIFEST_FILE`] ([`Manifest`]): Shiplog's version, the schema version, when it
//! was taken (the caller says: nothing here reads the clock), the database file's size
//! and SHA-256, and the rows of every table. The manifest is claimed first (created
//! empty, so a second backup into the same directory is refused) and written last, so
//! a backup whose manifest is empty did not finish.
//!
//! **Consistency comes from DuckDB's snapshot, not from stopping the writer.** The row
//! counts and the copy (`COPY FROM DATABASE … (SCHEMA)`, then `(DATA)`, into a file
//! attached to the same database instance) run in one transaction, which sees the
//! commits made before its first read and none after. A batch commits whole (raw log,
//! typed tables and the debt of derived facts it leaves, `derivation_pending`, in one
//! transaction), and a payment of derived facts deletes the debt it pays in its own
//! transaction, so the copy holds whole batches and whole payments: once restored, the
//! settler pays whatever debt the copy holds, as after any stop. Pausing the writer
//! for the copy (`Writer::pause`) was the other choice, turned down: it adds nothing to
//! the snapshot and would hold ingest for as long as the copy takes (requests queue,
//! then are refused `503` once the queue is full). `CHECKPOINT` first is not needed
//! either: the copy reads through the instance, write-ahead log included.
//!
//! **A database file rather than `EXPORT DATABASE … (FORMAT parquet)`.** Measured
//! (docs/operations.md), exporting took a third to a fifth of the copy's time (no
//! primary-key indexes to build), but its restore (`IMPORT DATABASE`) builds every
//! table and index then, and took up to four and a half times as long as restoring a
//! file, which is a file copy checked against the manifest. The backup runs while the
//! server serves; the restore while it is down, when time counts.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use duckdb::{AccessMode, Connection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::migrations::MIGRATIONS;
use super::{Store, StoreError};

/// The database file in a backup directory.
pub const DATABASE_FILE: &str = "shiplog.duckdb";
/// The manifest in a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The layout of a backup directory that this version writes and reads.
pub const FORMAT: u32 = 1;

/// What a backup holds, written beside it as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    /// The directory's layout ([`FORMAT`]).
    pub format: u32,
    pub shiplog_version: String,
    /// The last migration applied to the database copied.
    pub schema_version: i32,
    /// When the copy was asked for, as the caller's clock read it.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    pub database: DatabaseFile,
    /// Rows of every table, as the copy's snapshot saw them.
    pub tables: BTreeMap<String, u64>,
}

impl Manifest {
    /// Rows of the raw log: the deliveries and events the backup holds.
    pub fn raw_events(&self) -> u64 {
        self.tables.get("raw_events").copied().unwrap_or(0)
    }
}

/// The database file of a backup, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatabaseFile {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Why a backup or a restore did not happen. Each leaves nothing behind: a failed
/// backup removes what it wrote, a failed restore its copy.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The backup's directory already holds something.
    #[error(
        "{} is not empty: a backup goes into a new or empty directory, so that nothing is overwritten",
        .0.display()
    )]
    NotEmpty(PathBuf),
    /// The backup's directory cannot be read or created.
    #[error("cannot use {} for the backup: {source}", .path.display())]
    Directory { path: PathBuf, source: io::Error },
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("copying the database failed: {0}")]
    Copy(#[from] duckdb::Error),
    /// The copy's rows differ from the snapshot's (it would be a DuckDB fault).
    #[error("the copy of {table} holds {copied} rows, the database {expected}")]
    Incomplete {
        table: String,
        copied: u64,
        expected: u64,
    },
    /// The restore's target exists; nothing was restored.
    #[error("{} exists; nothing was restored", .0.display())]
    TargetExists(PathBuf),
    /// Another process (a running server) holds the restore's target.
    #[error("{} is in use by another process ({detail}); nothing was restored", .path.display())]
    TargetHeld { path: PathBuf, detail: String },
    /// The directory is not a backup, or one that did not finish.
    #[error("{} is not a complete Shiplog backup: {reason}", .dir.display())]
    NotABackup { dir: PathBuf, reason: String },
    /// The backup's files do not match its manifest.
    #[error("the backup in {} is damaged: {reason}; nothing was restored", .dir.display())]
    Damaged { dir: PathBuf, reason: String },
}

fn failed(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.to_owned();
    move |source| BackupError::Io {
        action,
        path,
        source,
    }
}

/// Names of attached backup files, one per backup: `ATTACH` names a database for the
/// whole instance, and two backups may run at once (into different directories).
static NEXT_ALIAS: AtomicU64 = AtomicU64::new(1);

/// Copies the database `conn` is a connection of into `out` (a new or empty
/// directory, created with its parents when missing) and writes the manifest. Blocks
/// for as long as the copy takes; the database's other connections go on reading and
/// writing meanwhile.
pub fn write(
    conn: &Connection,
    out: &Path,
    created_at: DateTime<Utc>,
) -> Result<Manifest, BackupError> {
    let created_dir = prepare_directory(out)?;
    let manifest_path = out.join(MANIFEST_FILE);
    let manifest_file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&manifest_path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(BackupError::NotEmpty(out.to_owned()));
        }
        Err(source) => {
            return Err(BackupError::Directory {
                path: out.to_owned(),
                source,
            });
        }
    };
    let target = out.join(DATABASE_FILE);
    if fs::symlink_metadata(&target).is_ok() {
        // Appeared since the directory was found empty: not ours to remove.
        let _ = fs::remove_file(&manifest_path);
        return Err(BackupError::NotEmpty(out.to_owned()));
    }
    let written = copy(conn, &target)
        .and_then(|(schema_version, tables)| {
            let database = describe_file(&target)?;
            Ok(Manifest {
                format: FORMAT,
                shiplog_version: env!("CARGO_PKG_VERSION").to_owned(),
                schema_version,
                created_at,
                database,
                tables,
            })
        })
        .and_then(|manifest| {
            finish_manifest(manifest_file, &manifest_path, &manifest)?;
            sync_directory(out)?;
            Ok(manifest)
        });
    if written.is_err() {
        for file in [manifest_path, wal_of(&target), target] {
            let _ = fs::remove_file(file);
        }
        if created_dir {
            let _ = fs::remove_dir(out);
        }
    }
    written
}

/// Whether `out` was created here; refuses one that holds anything.
fn prepare_directory(out: &Path) -> Result<bool, BackupError> {
    let refused = |source| BackupError::Directory {
        path: out.to_owned(),
        source,
    };
    match fs::read_dir(out) {
        Ok(mut entries) => match entries.next() {
            None => Ok(false),
            Some(_) => Err(BackupError::NotEmpty(out.to_owned())),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(out).map_err(refused)?;
            Ok(true)
        }
        Err(e) => Err(refused(e)),
    }
}

/// A quoted SQL identifier. `ATTACH`'s alias, `COPY FROM DATABASE` and a table name in
/// `FROM` take identifiers, which no statement parameter can stand for; the names come
/// from the catalog and the alias from [`NEXT_ALIAS`], never from a request.
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Attaches `target` (a new file), copies the database into it in one transaction and
/// detaches it; returns the schema version and every table's rows.
fn copy(conn: &Connection, target: &Path) -> Result<(i32, BTreeMap<String, u64>), BackupError> {
    let path = target.to_str().ok_or_else(|| BackupError::Directory {
        path: target.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "the path is not UTF-8"),
    })?;
    let alias = identifier(&format!(
        "shiplog_backup_{}",
        NEXT_ALIAS.fetch_add(1, Ordering::Relaxed)
    ));
    conn.execute(&format!("ATTACH ? AS {alias}"), [path])?;
    let copied = in_one_transaction(conn, |conn| copy_tables(conn, &alias));
    // Written out before the file is closed, so that the file holds everything alone.
    let checkpointed = match &copied {
        Ok(_) => conn.execute_batch(&format!("CHECKPOINT {alias}")),
        Err(_) => Ok(()),
    };
    let detached = conn.execute_batch(&format!("DETACH {alias}"));
    let copied = copied?;
    checkpointed?;
    detached?;
    Ok(copied)
}

/// Runs `work` in a transaction: committed when it succeeds, rolled back otherwise, so
/// that the pooled connection is handed back with none open.
fn in_one_transaction<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, BackupError>,
) -> Result<T, BackupError> {
    conn.execute_batch("BEGIN TRANSACTION")?;
    match work(conn) {
        Ok(value) => {
            conn.execute_batch("COMMIT")?;
            Ok(value)
        }
        Err(error) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

/// The copy, in the caller's transaction. The first read (the schema version) takes
/// the snapshot (DuckDB takes it at a transaction's first read, not at `BEGIN`).
fn copy_tables(
    conn: &Connection,
    alias: &str,
) -> Result<(i32, BTreeMap<String, u64>), BackupError> {
    let schema_version: i32 = conn.query_row(
        "SELECT COALESCE(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let main: String = conn.query_row("SELECT current_database()", [], |r| r.get(0))?;
    let tables = table_names(conn)?;
    let main = identifier(&main);
    conn.execute_batch(&format!(
        "COPY FROM DATABASE {main} TO {alias} (SCHEMA);
         COPY FROM DATABASE {main} TO {alias} (DATA);"
    ))?;
    let mut counts = BTreeMap::new();
    for table in tables {
        let name = identifier(&table);
        let (expected, copied): (i64, i64) = conn.query_row(
            &format!(
                "SELECT (SELECT count(*) FROM {main}.main.{name}),
                        (SELECT count(*) FROM {alias}.main.{name})"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (expected, copied) = (expected as u64, copied as u64);
        if copied != expected {
            return Err(BackupError::Incomplete {
                table,
                copied,
                expected,
            });
        }
        counts.insert(table, copied);
    }
    Ok((schema_version, counts))
}

/// The tables of the connection's own database (not an attached one, not its
/// connection-local temp tables).
fn table_names(conn: &Connection) -> duckdb::Result<Vec<String>> {
    conn.prepare(
        "SELECT table_name FROM duckdb_tables()
         WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary
         ORDER BY table_name",
    )?
    .query_map([], |r| r.get(0))?
    .collect()
}

fn describe_file(path: &Path) -> Result<DatabaseFile, BackupError> {
    let file = File::open(path).map_err(failed("read", path))?;
    let (bytes, sha256) = copy_hashing(file, io::sink()).map_err(failed("read", path))?;
    Ok(DatabaseFile {
        file: DATABASE_FILE.to_owned(),
        bytes,
        sha256,
    })
}

/// Copies `from` into `to`, returning the bytes copied and their SHA-256 (hex).
fn copy_hashing(mut from: impl Read, mut to: impl Write) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
        to.write_all(&buffer[..n])?;
        bytes += n as u64;
    }
    to.flush()?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

fn finish_manifest(mut file: File, path: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let mut json = serde_json::to_vec_pretty(manifest).expect("a manifest serializes");
    json.push(b'\n');
    file.write_all(&json).map_err(failed("write", path))?;
    file.sync_all().map_err(failed("write", path))
}

/// Makes the directory's new entries durable (a file's own `fsync` does not).
fn sync_directory(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(failed("sync", dir))
}

/// The last schema version this build knows.
fn latest_schema() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Reads and checks the manifest of the backup in `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let not_a_backup = |reason: String| BackupError::NotABackup {
        dir: dir.to_owned(),
        reason,
    };
    if !dir.is_dir() {
        return Err(not_a_backup("no such directory".into()));
    }
    let path = dir.join(MANIFEST_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(not_a_backup(format!("it has no {MANIFEST_FILE}")));
        }
        Err(source) => return Err(failed("read", &path)(source)),
    };
    if text.trim().is_empty() {
        return Err(not_a_backup(format!(
            "its {MANIFEST_FILE} is empty: the backup did not finish"
        )));
    }
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| BackupError::Damaged {
        dir: dir.to_owned(),
        reason: format!("its {MANIFEST_FILE} cannot be read ({e})"),
    })?;
    if manifest.format != FORMAT {
        return Err(not_a_backup(format!(
            "its layout is format {}, this Shiplog reads format {FORMAT}",
            manifest.format
        )));
    }
    if manifest.schema_version > latest_schema() {
        return Err(not_a_backup(format!(
            "it was made by a newer Shiplog ({}, schema {}; this one knows schema {})",
            manifest.shiplog_version,
            manifest.schema_version,
            latest_schema()
        )));
    }
    if manifest.database.file != DATABASE_FILE {
        return Err(BackupError::Damaged {
            dir: dir.to_owned(),
            reason: format!(
                "its manifest names {:?} as the database, not {DATABASE_FILE}",
                manifest.database.file
            ),
        });
    }
    Ok(manifest)
}

/// The write-ahead log DuckDB keeps beside `db`.
fn wal_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".wal");
    PathBuf::from(name)
}

/// Restores the backup in `from` as the database file `to`: copies its database file
/// beside `to`, checks the copy's size and SHA-256 and every table's rows against the
/// manifest, then moves it into place. Refuses when `to` (or a write-ahead log of
/// that name) exists, unless `replace`, and then still when a process holds it.
pub fn restore(from: &Path, to: &Path, replace: bool) -> Result<Manifest, BackupError> {
    let manifest = read_manifest(from)?;
    let source = from.join(DATABASE_FILE);
    let damaged = |reason: String| BackupError::Damaged {
        dir: from.to_owned(),
        reason,
    };
    let backup = match File::open(&source) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(damaged(format!("it has no {DATABASE_FILE}")));
        }
        Err(e) => return Err(failed("read", &source)(e)),
    };
    let wal = wal_of(to);
    if to.exists() || wal.exists() {
        if !replace {
            return Err(BackupError::TargetExists(to.to_owned()));
        }
        refuse_if_held(to)?;
    }
    let parent = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(failed("create", &parent))?;
    let name = to.file_name().map_or_else(
        || DATABASE_FILE.to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let staged = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    let placed = stage(backup, &staged, &manifest, &damaged)
        .and_then(|()| place(&staged, to, &wal, replace))
        .and_then(|()| sync_directory(&parent));
    if placed.is_err() {
        let _ = fs::remove_file(&staged);
    }
    placed.map(|()| manifest)
}

/// Opens `db` as the server does: a process that holds it makes this fail with
/// [`StoreError::Locked`]. A file that does not open for another reason (a damaged
/// one) is what a forced restore replaces.
fn refuse_if_held(db: &Path) -> Result<(), BackupError> {
    match Store::open(db) {
        Err(StoreError::Locked { path, detail }) => Err(BackupError::TargetHeld { path, detail }),
        // Dropped at once: closing checkpoints the file and removes its log.
        _ => Ok(()),
    }
}

/// Writes the backup's database file to `staged` and checks it against `manifest`.
fn stage(
    backup: File,
    staged: &Path,
    manifest: &Manifest,
    damaged: &dyn Fn(String) -> BackupError,
) -> Result<(), BackupError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(staged)
        .map_err(failed("create", staged))?;
    let (bytes, sha256) = copy_hashing(backup, &mut file).map_err(failed("write", staged))?;
    file.sync_all().map_err(failed("write", staged))?;
    drop(file);
    let expected = &manifest.database;
    if bytes != expected.bytes || sha256 != expected.sha256 {
        return Err(damaged(format!(
            "{DATABASE_FILE} is {bytes} bytes with SHA-256 {sha256}, its manifest says {} bytes with {}",
            expected.bytes, expected.sha256
        )));
    }
    let config = duckdb::Config::default().access_mode(AccessMode::ReadOnly)?;
    let conn = Connection::open_with_flags(staged, config)
        .map_err(|e| damaged(format!("{DATABASE_FILE} does not open ({e})")))?;
    let schema_version: i32 = conn
        .query_row(
            "SELECT COALESCE(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(|e| damaged(format!("its schema cannot be read ({e})")))?;
    if schema_version != manifest.schema_version {
        return Err(damaged(format!(
            "its database is at schema {schema_version}, its manifest says {}",
            manifest.schema_version
        )));
    }
    for (table, &expected) in &manifest.tables {
        let rows: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM main.{}", identifier(table)),
                [],
                |r| r.get(0),
            )
            .map_err(|e| damaged(format!("its table {table} cannot be read ({e})")))?;
        if rows as u64 != expected {
            return Err(damaged(format!(
                "its table {table} holds {rows} rows, its manifest says {expected}"
            )));
        }
    }
    Ok(())
}

/// Moves the checked copy to `to`. Without `replace`, a hard link, which fails rather
/// than replace a file that appeared since the check; with it, a rename over the old
/// file, whose write-ahead log goes first (DuckDB would replay it onto the restored
/// file).
fn place(staged: &Path, to: &Path, wal: &Path, replace: bool) -> Result<(), BackupError> {
    if replace {
        if let Err(e) = fs::remove_file(wal)
            && e.kind() != io::ErrorKind::NotFound
        {
            return Err(failed("remove", wal)(e));
        }
        return fs::rename(staged, to).map_err(failed("move the restored file to", to));
    }
    match fs::hard_link(staged, to) {
        Ok(()) => fs::remove_file(staged).map_err(failed("remove", staged)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(BackupError::TargetExists(to.to_owned()))
        }
        // A file system without hard links: a rename, after one more look.
        Err(_) if to.exists() => Err(BackupError::TargetExists(to.to_owned())),
        Err(_) => fs::rename(staged, to).map_err(failed("move the restored file to", to)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_events(path: &Path) -> Store {
        let store = Store::open(path).unwrap();
        store
            .connection()
            .execute_batch(
                "INSERT INTO raw_events (delivery_key, seq, source, event_type, received_at, body)
                 VALUES ('a', 1, 'api', 'deployment', TIMESTAMP '2026-03-02 11:00', '{}'),
                        ('b', 2, 'api', 'deployment', TIMESTAMP '2026-03-02 12:00', '{}')",
            )
            .unwrap();
        store
    }

    fn at() -> DateTime<Utc> {
        "2026-03-02T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_backup_restores_to_a_file_with_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_events(&dir.path().join("s.duckdb"));
        let out = dir.path().join("backup");
        let manifest = write(store.connection(), &out, at()).unwrap();
        assert_eq!(manifest.raw_events(), 2);
        assert_eq!(manifest.schema_version, latest_schema());
        assert_eq!(manifest.created_at, at());
        assert_eq!(read_manifest(&out).unwrap(), manifest);

        let restored = dir.path().join("restored.duckdb");
        assert_eq!(restore(&out, &restored, false).unwrap(), manifest);
        let conn = Connection::open(&restored).unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT delivery_key FROM raw_events ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys, ["a", "b"]);
    }

    #[test]
    fn a_backup_is_refused_into_a_directory_that_holds_anything() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_events(&dir.path().join("s.duckdb"));
        let out = dir.path().join("backup");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("notes.txt"), "keep").unwrap();
        let refused = write(store.connection(), &out, at());
        assert!(
            matches!(refused, Err(BackupError::NotEmpty(_))),
            "{refused:?}"
        );
        assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "keep");
        assert_eq!(fs::read_dir(&out).unwrap().count(), 1);
    }

    #[test]
    fn a_restore_is_refused_over_a_file_and_over_a_damaged_backup() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_events(&dir.path().join("s.duckdb"));
        let out = dir.path().join("backup");
        write(store.connection(), &out, at()).unwrap();

        let existing = dir.path().join("existing.duckdb");
        fs::write(&existing, "not mine to overwrite").unwrap();
        let refused = restore(&out, &existing, false);
        assert!(
            matches!(refused, Err(BackupError::TargetExists(_))),
            "{refused:?}"
        );
        assert_eq!(
            fs::read_to_string(&existing).unwrap(),
            "not mine to overwrite"
        );
        // Forced, a file no process holds is replaced (this one is not even a database).
        restore(&out, &existing, true).unwrap();

        let mut bytes = fs::read(out.join(DATABASE_FILE)).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        fs::write(out.join(DATABASE_FILE), bytes).unwrap();
        let target = dir.path().join("new.duckdb");
        let refused = restore(&out, &target, false);
        assert!(
            matches!(refused, Err(BackupError::Damaged { .. })),
            "{refused:?}"
        );
        assert!(!target.exists());
        let staged = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(staged, 0, "no staged copy is left");

        fs::write(out.join(MANIFEST_FILE), "").unwrap();
        let refused = restore(&out, &target, false);
        assert!(
            matches!(&refused, Err(BackupError::NotABackup { reason, .. }) if reason.contains("did not finish")),
            "{refused:?}"
        );
    }
}
