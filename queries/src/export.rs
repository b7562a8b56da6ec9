//! The warehouse export (`shiplog export`, `POST /api/v1/admin/export`): every typed
//! and derived table as Parquet, written by DuckDB's own `COPY`, Hive-partitioned by
//! month (`deployments/month=2026-03/data_0.parquet`), for data teams to load into
//! their own warehouse (docs/export.md).
//!
//! Incremental: the directory keeps a manifest ([`MANIFEST`]) with each file's rows
//! and a fingerprint of its rows computed in SQL (`sql/export/fingerprints.sql`); an
//! export compares every month with it and writes only the months whose fingerprint
//! changed, removes the months that no longer have rows, and rewrites a table without
//! time (`environment_heads`) whole when it changed. Everything is read in one
//! transaction (one snapshot of every table) and written into a staging directory
//! beside the export first; only when every table is staged are the files renamed
//! into place, one file per month, so a reader sees a month either as it was or as it
//! is, and a failed export leaves the last one as it was. The manifest is written
//! last.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use duckdb::Connection;
use serde::{Deserialize, Serialize};

use crate::temp::set_list;

/// The manifest's name in the export's directory; its presence marks the directory
/// as a Shiplog export.
pub const MANIFEST: &str = "_shiplog_export.json";
/// The layout's version, in the manifest: another one rewrites every file.
const FORMAT: u32 = 1;
/// The one file of a month (or of a table exported whole): DuckDB's own name for the
/// first file of a partition.
const FILE: &str = "data_0.parquet";
/// Staging directories, inside the export's directory so that a rename never
/// crosses file systems; the leading `.` keeps Spark, Hive and Trino from reading them.
const STAGING_PREFIX: &str = ".shiplog-staging-";
const MANIFEST_TEMP: &str = ".shiplog-manifest.tmp";

/// One exported table: its SQL (the table's columns, and `month` for a partitioned
/// one) and whether it has a month.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub partitioned: bool,
    sql: &'static str,
}

const fn by_month(name: &'static str, sql: &'static str) -> Table {
    Table {
        name,
        partitioned: true,
        sql,
    }
}

/// Every exported table, in the order they are written.
pub const TABLES: &[Table] = &[
    by_month("changes", include_str!("sql/export/changes.sql")),
    by_month(
        "pull_requests",
        include_str!("sql/export/pull_requests.sql"),
    ),
    by_month("deployments", include_str!("sql/export/deployments.sql")),
    by_month(
        "deployment_commits",
        include_str!("sql/export/deployment_commits.sql"),
    ),
    by_month("incidents", include_str!("sql/export/incidents.sql")),
    by_month("builds", include_str!("sql/export/builds.sql")),
    by_month("annotations", include_str!("sql/export/annotations.sql")),
    by_month("deploy_facts", include_str!("sql/export/deploy_facts.sql")),
    by_month(
        "change_set_members",
        include_str!("sql/export/change_set_members.sql"),
    ),
    by_month(
        "lead_time_samples",
        include_str!("sql/export/lead_time_samples.sql"),
    ),
    by_month(
        "incident_attribution",
        include_str!("sql/export/incident_attribution.sql"),
    ),
    by_month(
        "deployment_outcomes",
        include_str!("sql/export/deployment_outcomes.sql"),
    ),
    Table {
        name: "environment_heads",
        partitioned: false,
        sql: include_str!("sql/export/environment_heads.sql"),
    },
];

/// The stored tables the export leaves out, and why (docs/export.md says the same).
pub const NOT_EXPORTED: &[(&str, &str)] = &[
    (
        "raw_events",
        "every delivery verbatim, headers included: the backup's, not a warehouse's",
    ),
    (
        "walk_reached",
        "the derivation's record of the commit-graph walks",
    ),
    (
        "walk_missing",
        "the derivation's record of the commit-graph walks",
    ),
    (
        "derivation_state",
        "the settings fingerprint of the derived tables",
    ),
    ("derivation_pending", "derived facts owed, until paid"),
    ("schema_migrations", "the schema's version"),
];

/// What an export did, per table and in total: the answer of the admin route, and
/// what `shiplog export` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportSummary {
    /// The export's directory, on the machine that wrote it.
    pub out: String,
    /// Tables exported.
    pub tables: usize,
    /// Months (of the partitioned tables) written because their rows changed or were new.
    pub months_written: usize,
    /// Months whose rows were already exported as they are, left untouched.
    pub months_unchanged: usize,
    /// Months that no longer have rows, removed.
    pub months_removed: usize,
    /// Tables without months (exported whole) written because they changed.
    pub whole_tables_written: usize,
    /// Rows in the export, every file.
    pub rows: u64,
    /// Bytes of the export's Parquet files, every file.
    pub bytes: u64,
    /// Bytes of the files this export wrote.
    pub bytes_written: u64,
    /// How long the export took, the comparison included.
    pub seconds: f64,
    pub details: Vec<TableExport>,
}

/// One table's part of an [`ExportSummary`]. Files are named by their path under the
/// table's directory (`month=2026-03/data_0.parquet`, or `data_0.parquet` for a
/// table exported whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TableExport {
    pub table: String,
    /// `month`, or `null` for a table exported whole.
    pub partition: Option<String>,
    /// The files this export wrote.
    pub written: Vec<String>,
    /// Files left as they were.
    pub unchanged: usize,
    /// Files removed (months without rows now).
    pub removed: Vec<String>,
    /// Rows of the table in the export.
    pub rows: u64,
    /// Bytes of the table's files in the export.
    pub bytes: u64,
}

/// `DIR/_shiplog_export.json`: what the directory holds, written last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub shiplog_version: String,
    pub duckdb_version: String,
    pub exported_at: DateTime<Utc>,
    pub tables: BTreeMap<String, TableManifest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableManifest {
    /// `month`, or `None` for a table exported whole.
    pub partition: Option<String>,
    /// Each column as `name TYPE`, as the files hold it (the partition column aside).
    pub columns: Vec<String>,
    /// Every file of the table, by its path under the table's directory.
    pub files: BTreeMap<String, FileManifest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileManifest {
    pub rows: u64,
    pub bytes: u64,
    /// `fingerprints.sql`'s sum of row hashes; empty while the file is being replaced.
    pub fingerprint: String,
}

/// Where an export is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The table's rows are being compared with the last export.
    Comparing { table: &'a str },
    /// Compared: `to_write` of its `files` files are to be written.
    Compared {
        table: &'a str,
        files: usize,
        to_write: usize,
    },
    /// Its files to write are written to the staging directory.
    Staged {
        table: &'a str,
        rows: u64,
        bytes: u64,
    },
}

/// Why an export failed. Until the staged files are renamed into place the export's
/// directory is as the last export left it.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "{} holds files that are not a Shiplog export ({found}): export into a new or empty \
         directory, or one an earlier export wrote (it holds {MANIFEST}); nothing was written",
        dir.display()
    )]
    Foreign { dir: PathBuf, found: String },
    #[error("{} is not a directory; nothing was written", .0.display())]
    NotDirectory(PathBuf),
    #[error(
        "{} cannot be read ({message}): remove the directory, or export into a new one; \
         nothing was written",
        path.display()
    )]
    Manifest { path: PathBuf, message: String },
    #[error("{rows} row(s) of {table} have no month (the fact they belong to is missing)")]
    NoMonth { table: &'static str, rows: u64 },
    #[error("cannot write {}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("another export is running; try again when it has finished")]
    Busy,
    #[error(transparent)]
    Sql(#[from] duckdb::Error),
}

impl ExportError {
    /// The directory is refused as it is: nothing was written to it.
    pub fn is_refused_directory(&self) -> bool {
        matches!(
            self,
            ExportError::Foreign { .. }
                | ExportError::NotDirectory(_)
                | ExportError::Manifest { .. }
        )
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |e| ExportError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// One export at a time per process: two into one directory would rename over each
/// other's files. Another process cannot open the same database meanwhile.
static RUNNING: Mutex<()> = Mutex::new(());

/// Exports every table of [`TABLES`] into `dir` (created when missing), incrementally
/// against the manifest there (`exported_at` is written into it). Reads on `conn` in
/// one transaction, rolled back at the end: nothing is written to the database.
pub fn export(
    conn: &Connection,
    dir: &Path,
    exported_at: DateTime<Utc>,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ExportSummary, ExportError> {
    let _running = match RUNNING.try_lock() {
        Ok(guard) => guard,
        // An export that panicked left nothing this one relies on.
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return Err(ExportError::Busy),
    };
    let started = Instant::now();
    let previous = open_dir(dir)?;
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(dir)
        .map_err(io(dir))?;

    let snapshot = Snapshot::begin(conn)?;
    let duckdb_version: String = conn.query_row("SELECT version()", [], |r| r.get(0))?;
    // Files written by another layout, Shiplog or DuckDB are all written again: their
    // fingerprints (DuckDB's `hash`) and their bytes need not match this one's.
    let comparable = previous.as_ref().is_some_and(|m| {
        m.format == FORMAT
            && m.shiplog_version == env!("CARGO_PKG_VERSION")
            && m.duckdb_version == duckdb_version
    });
    let mut plans = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        progress(Progress::Comparing { table: table.name });
        let before = previous.as_ref().and_then(|m| m.tables.get(table.name));
        let plan = plan_table(conn, dir, table, before, comparable)?;
        progress(Progress::Compared {
            table: table.name,
            files: plan.files.len(),
            to_write: plan.to_write.len(),
        });
        let staged = stage(conn, staging.path(), &plan)?;
        progress(Progress::Staged {
            table: table.name,
            rows: plan.to_write.iter().map(|f| plan.files[f].rows).sum(),
            bytes: staged.values().sum(),
        });
        plans.push((plan, staged));
    }
    drop(snapshot);

    // Before the first rename, a manifest that lists every file the directory may
    // hold, those about to be replaced without a fingerprint: an export that stops
    // while renaming leaves a directory the next one recognises, compares and repairs.
    let changes = plans
        .iter()
        .any(|(p, _)| !p.to_write.is_empty() || !p.removed.is_empty());
    let mut pending = previous.clone().unwrap_or_else(|| Manifest {
        format: FORMAT,
        shiplog_version: env!("CARGO_PKG_VERSION").to_owned(),
        duckdb_version: duckdb_version.clone(),
        exported_at,
        tables: BTreeMap::new(),
    });
    for (plan, _) in &plans {
        let entry = pending
            .tables
            .entry(plan.table.name.to_owned())
            .or_insert_with(|| plan.manifest(BTreeMap::new()));
        for file in &plan.to_write {
            entry.files.insert(
                file.clone(),
                FileManifest {
                    fingerprint: String::new(),
                    ..plan.files[file].clone()
                },
            );
        }
    }
    if changes {
        write_manifest(dir, &pending)?;
    }

    let mut tables = BTreeMap::new();
    let mut details = Vec::with_capacity(plans.len());
    for (plan, staged) in plans {
        let table_dir = dir.join(plan.table.name);
        let mut files = plan.files.clone();
        for file in &plan.to_write {
            let target = table_dir.join(file);
            let parent = target.parent().unwrap_or(&table_dir);
            fs::create_dir_all(parent).map_err(io(parent))?;
            let source = staging.path().join(plan.table.name).join(file);
            fs::rename(&source, &target).map_err(io(&target))?;
            files.get_mut(file).expect("planned").bytes = staged[file];
        }
        for file in &plan.removed {
            remove_file(&table_dir, file)?;
        }
        details.push(TableExport {
            table: plan.table.name.to_owned(),
            partition: plan.table.partitioned.then(|| "month".to_owned()),
            written: plan.to_write.clone(),
            unchanged: plan.files.len() - plan.to_write.len(),
            removed: plan.removed.clone(),
            rows: files.values().map(|f| f.rows).sum(),
            bytes: files.values().map(|f| f.bytes).sum(),
        });
        tables.insert(plan.table.name.to_owned(), plan.manifest(files));
    }
    let manifest = Manifest {
        format: FORMAT,
        shiplog_version: env!("CARGO_PKG_VERSION").to_owned(),
        duckdb_version,
        exported_at,
        tables,
    };
    write_manifest(dir, &manifest)?;
    let staged_bytes = |d: &TableExport| -> u64 {
        d.written
            .iter()
            .map(|f| manifest.tables[&d.table].files[f].bytes)
            .sum()
    };
    let (partitioned, whole): (Vec<&TableExport>, Vec<&TableExport>) =
        details.iter().partition(|d| d.partition.is_some());
    Ok(ExportSummary {
        out: dir.display().to_string(),
        tables: details.len(),
        months_written: partitioned.iter().map(|d| d.written.len()).sum(),
        months_unchanged: partitioned.iter().map(|d| d.unchanged).sum(),
        months_removed: partitioned.iter().map(|d| d.removed.len()).sum(),
        whole_tables_written: whole.iter().filter(|d| !d.written.is_empty()).count(),
        rows: details.iter().map(|d| d.rows).sum(),
        bytes: details.iter().map(|d| d.bytes).sum(),
        bytes_written: details.iter().map(staged_bytes).sum(),
        seconds: started.elapsed().as_secs_f64(),
        details,
    })
}

/// Checks that `dir` is new, empty, or an export (it holds the manifest), creating it
/// when missing, and returns its manifest. Staging directories left by an export that
/// stopped are removed; nothing else of the directory's is ever touched but the files
/// its manifest names.
fn open_dir(dir: &Path) -> Result<Option<Manifest>, ExportError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(io(dir))?;
            return Ok(None);
        }
        Err(e) => return Err(io(dir)(e)),
        Ok(meta) if !meta.is_dir() => return Err(ExportError::NotDirectory(dir.to_owned())),
        Ok(_) => {}
    }
    let mut stale = Vec::new();
    let mut foreign = Vec::new();
    let mut has_manifest = false;
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let name = entry.map_err(io(dir))?.file_name();
        let name = name.to_string_lossy();
        if name == MANIFEST {
            has_manifest = true;
        } else if name.starts_with(STAGING_PREFIX) || name == MANIFEST_TEMP {
            stale.push(dir.join(&*name));
        } else {
            foreign.push(name.into_owned());
        }
    }
    if !has_manifest && !foreign.is_empty() {
        foreign.sort();
        let more = foreign.len().saturating_sub(3);
        let mut found = foreign.into_iter().take(3).collect::<Vec<_>>().join(", ");
        if more > 0 {
            found.push_str(&format!(" and {more} more"));
        }
        return Err(ExportError::Foreign {
            dir: dir.to_owned(),
            found,
        });
    }
    for path in stale {
        let removed = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.map_err(io(&path))?;
    }
    if !has_manifest {
        return Ok(None);
    }
    let path = dir.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ExportError::Manifest {
            path,
            message: e.to_string(),
        })
}

/// Rolls back on drop: the export only reads, and its temp views and lists go with
/// the transaction.
struct Snapshot<'c>(&'c Connection);

impl<'c> Snapshot<'c> {
    fn begin(conn: &'c Connection) -> Result<Snapshot<'c>, ExportError> {
        conn.execute_batch("BEGIN TRANSACTION")?;
        Ok(Snapshot(conn))
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.execute_batch("ROLLBACK") {
            tracing::warn!(error = %e, "ending the export's read transaction failed");
        }
    }
}

/// What one table's export writes and removes.
#[derive(Debug)]
struct Plan {
    table: &'static Table,
    /// The table's temp view, over its `sql/export/` query.
    view: String,
    /// The exported columns as SQL (the partition column aside).
    select: String,
    /// The same, as the manifest records them (`name TYPE`).
    columns: Vec<String>,
    /// Every file the table has now, by path under its directory.
    files: BTreeMap<String, FileManifest>,
    to_write: Vec<String>,
    removed: Vec<String>,
}

impl Plan {
    fn manifest(&self, files: BTreeMap<String, FileManifest>) -> TableManifest {
        TableManifest {
            partition: self.table.partitioned.then(|| "month".to_owned()),
            columns: self.columns.clone(),
            files,
        }
    }
}

/// A part's file under its table's directory.
fn file_of(month: Option<&str>) -> String {
    match month {
        Some(month) => format!("month={month}/{FILE}"),
        None => FILE.to_owned(),
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Reads the table's parts and compares them with `before`, the last export's: a
/// file is kept only when `comparable` (the same layout, Shiplog and DuckDB wrote it)
/// and its rows are the same; one `before` lists that has no rows now is removed.
fn plan_table(
    conn: &Connection,
    dir: &Path,
    table: &'static Table,
    before: Option<&TableManifest>,
    comparable: bool,
) -> Result<Plan, ExportError> {
    let view = format!("export_{}", table.name);
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP VIEW {view} AS {}",
        table.sql
    ))?;
    // Instants are stored as UTC TIMESTAMPs; written as TIMESTAMPTZ (Parquet's
    // isAdjustedToUTC), warehouses read them as instants rather than as wall-clock
    // times of no zone (BigQuery's DATETIME, Snowflake's TIMESTAMP_NTZ).
    let mut select = Vec::new();
    let mut described = conn.prepare(&format!("DESCRIBE SELECT * FROM {view}"))?;
    let rows = described.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (name, kind) = row?;
        if table.partitioned && name == "month" {
            continue;
        }
        select.push(if kind == "TIMESTAMP" {
            format!("CAST({0} AS TIMESTAMPTZ) AS {0}", quoted(&name))
        } else {
            quoted(&name)
        });
    }
    let select = select.join(", ");
    let mut columns = Vec::new();
    let mut described = conn.prepare(&format!("DESCRIBE SELECT {select} FROM {view}"))?;
    let rows = described.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (name, kind) = row?;
        columns.push(format!("{name} {kind}"));
    }

    let part = if table.partitioned {
        "month"
    } else {
        "'all' AS month"
    };
    let sql = include_str!("sql/export/fingerprints.sql")
        .replace("/*columns*/", &format!("{select}, {part}"))
        .replace("/*view*/", &view);
    let mut files = BTreeMap::new();
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let month: Option<String> = row.get(0)?;
        let count: i64 = row.get(1)?;
        let fingerprint: Option<String> = row.get(2)?;
        let file = match month {
            None => {
                return Err(ExportError::NoMonth {
                    table: table.name,
                    rows: count as u64,
                });
            }
            Some(m) if table.partitioned => file_of(Some(&m)),
            Some(_) => file_of(None),
        };
        let manifest = FileManifest {
            rows: count as u64,
            bytes: 0,
            fingerprint: fingerprint.unwrap_or_default(),
        };
        files.insert(file, manifest);
    }
    // A table exported whole has its file even when empty, so its schema is there.
    if !table.partitioned && files.is_empty() {
        let empty = FileManifest {
            rows: 0,
            bytes: 0,
            fingerprint: "0".to_owned(),
        };
        files.insert(file_of(None), empty);
    }

    let table_dir = dir.join(table.name);
    let same_columns = comparable && before.is_some_and(|b| b.columns == columns);
    let mut to_write = Vec::new();
    for (file, now) in &mut files {
        let kept = before
            .filter(|_| same_columns)
            .and_then(|b| b.files.get(file))
            .filter(|was| was.rows == now.rows && was.fingerprint == now.fingerprint)
            // A file deleted or changed by hand since is written again.
            .filter(|was| fs::metadata(table_dir.join(file)).is_ok_and(|m| m.len() == was.bytes));
        match kept {
            Some(was) => now.bytes = was.bytes,
            None => to_write.push(file.clone()),
        }
    }
    let removed = before
        .map(|b| {
            b.files
                .keys()
                .filter(|f| !files.contains_key(*f))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Ok(Plan {
        table,
        view,
        select,
        columns,
        files,
        to_write,
        removed,
    })
}

/// Writes the plan's files to write under `staging/<table>/`, each at the path it
/// will have under the table's directory, flushed to disk; returns their sizes.
fn stage(
    conn: &Connection,
    staging: &Path,
    plan: &Plan,
) -> Result<BTreeMap<String, u64>, ExportError> {
    let mut staged = BTreeMap::new();
    if plan.to_write.is_empty() {
        return Ok(staged);
    }
    let table_dir = staging.join(plan.table.name);
    let literal = |path: &Path| -> Result<String, ExportError> {
        let text = path.to_str().ok_or_else(|| ExportError::Io {
            path: path.to_owned(),
            message: "the path is not valid UTF-8".into(),
        })?;
        // COPY takes its target as a literal, not a parameter: quoted as SQL does.
        Ok(format!("'{}'", text.replace('\'', "''")))
    };
    let (view, select) = (&plan.view, &plan.select);
    if plan.table.partitioned {
        let months: Vec<&str> = plan
            .to_write
            .iter()
            .map(|f| month_of(f).expect("a month's file"))
            .collect();
        set_list(conn, "export_months", "month", months)?;
        conn.execute_batch(&format!(
            "COPY (SELECT {select}, month FROM {view} \
                   WHERE month IN (SELECT month FROM export_months)) \
             TO {} (FORMAT parquet, PARTITION_BY (month))",
            literal(&table_dir)?
        ))?;
    } else {
        fs::create_dir_all(&table_dir).map_err(io(&table_dir))?;
        conn.execute_batch(&format!(
            "COPY (SELECT {select} FROM {view}) TO {} (FORMAT parquet)",
            literal(&table_dir.join(FILE))?
        ))?;
    }
    for file in &plan.to_write {
        let path = table_dir.join(file);
        let parent = path.parent().unwrap_or(&table_dir);
        let written: Vec<PathBuf> = fs::read_dir(parent)
            .map_err(io(parent))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io(parent))?;
        // The rename into place is atomic for one file; DuckDB writes one per
        // partition unless told to split them.
        if written != [path.clone()] {
            let message = format!(
                "DuckDB wrote {} file(s) for it, not one {FILE}",
                written.len()
            );
            return Err(ExportError::Io { path, message });
        }
        let file_handle = fs::File::open(&path).map_err(io(&path))?;
        file_handle.sync_all().map_err(io(&path))?;
        let bytes = file_handle.metadata().map_err(io(&path))?.len();
        staged.insert(file.clone(), bytes);
    }
    Ok(staged)
}

/// `2026-03` of `month=2026-03/data_0.parquet`.
fn month_of(file: &str) -> Option<&str> {
    file.strip_prefix("month=")?.split('/').next()
}

/// Removes a month's file the export wrote, and its directory unless it holds
/// something else.
fn remove_file(table_dir: &Path, file: &str) -> Result<(), ExportError> {
    let path = table_dir.join(file);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&path)(e)),
    }
    if let Some(parent) = path.parent().filter(|p| *p != table_dir) {
        let _ = fs::remove_dir(parent);
    }
    Ok(())
}

/// Writes the manifest beside its final name, flushed, and renames it into place.
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), ExportError> {
    let temp = dir.join(MANIFEST_TEMP);
    let text = serde_json::to_string_pretty(manifest).expect("a manifest serializes");
    {
        use std::io::Write as _;
        let mut file = fs::File::create(&temp).map_err(io(&temp))?;
        file.write_all(text.as_bytes()).map_err(io(&temp))?;
        file.sync_all().map_err(io(&temp))?;
    }
    let path = dir.join(MANIFEST);
    fs::rename(&temp, &path).map_err(io(&path))
}

impl std::fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exported {} table(s) into {}: {} month(s) written, {} unchanged, {} removed, {} \
             table(s) without months written; {} row(s), {:.1} MB ({:.1} MB written) in {:.2} s",
            self.tables,
            self.out,
            self.months_written,
            self.months_unchanged,
            self.months_removed,
            self.whole_tables_written,
            self.rows,
            self.bytes as f64 / 1e6,
            self.bytes_written as f64 / 1e6,
            self.seconds
        )
    }
}
