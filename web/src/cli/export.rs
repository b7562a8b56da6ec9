//! `shiplog export [--out DIR] [--db PATH]`: every typed and derived table as Parquet
//! for a data team's warehouse, partitioned by month and incremental
//! (`shiplog_queries::export`, docs/export.md). The file is opened as the server opens
//! it (the settler brings the derived facts up to date first) and read on a reader
//! connection; a running server holding it refuses with exit 2 and names its admin
//! route, which writes the same export into its `export_dir`.

use std::path::PathBuf;

use clap::Args;
use indicatif::ProgressBar;
use shiplog_queries::export::{self, ExportError, ExportSummary, Progress};

use super::{CliError, progress};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The export's directory: new, empty, or one an earlier export wrote, which is
    /// brought up to date [default: export_dir, else export/ beside the database]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Database file [env: SHIPLOG_DB] [default: ./shiplog.duckdb]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// What a refused export names instead, when a server holds the file.
const THROUGH_SERVER: &str =
    "POST /api/v1/admin/export (SHIPLOG_ADMIN_TOKEN), which writes into the server's export_dir";

/// Prints the summary as JSON on standard output (the admin route's answer) and as a
/// sentence on standard error, after a line per table.
pub async fn run(mut config: Config, args: ExportArgs) -> Result<(), CliError> {
    if let Some(db) = args.db {
        config.db = db;
    }
    let out = args.out.unwrap_or_else(|| config.export_directory());
    if !config.db.exists() {
        return Err(CliError::Usage(format!(
            "no database at {}: import events first (`shiplog import`) or pass --db",
            config.db.display()
        )));
    }
    // The queue stays empty: an export submits nothing.
    let db = super::open_db(&config, 1, THROUGH_SERVER).await?;
    let reading = db.clone();
    let exported = tokio::task::spawn_blocking(move || {
        let mut bars = Bars::default();
        reading
            .readers
            .with(|conn| export::export(conn, &out, chrono::Utc::now(), &mut |p| bars.show(p)))
    })
    .await;
    // Nothing is owed (the settler paid at start and nothing was written), so this
    // returns at once.
    let writer = db.writer.clone();
    tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let summary: ExportSummary = exported
        .map_err(|e| CliError::Failed(e.to_string()))?
        .map_err(|e| CliError::Failed(format!("cannot open a read connection: {e}")))?
        .map_err(|e| match e {
            refused if refused.is_refused_directory() => CliError::Usage(refused.to_string()),
            ExportError::Busy => CliError::Usage(ExportError::Busy.to_string()),
            other => CliError::Failed(other.to_string()),
        })?;
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).expect("a summary serializes")
    );
    eprintln!("{summary}");
    Ok(())
}

/// A bar per table: a spinner while its rows are compared and its changed months
/// written, then its line of what was written.
#[derive(Default)]
struct Bars {
    current: Option<ProgressBar>,
    to_write: usize,
    files: usize,
}

impl Bars {
    fn show(&mut self, event: Progress<'_>) {
        match event {
            Progress::Comparing { table } => {
                let bar = progress::spinner("comparing with the last export");
                bar.set_message(format!("{table}: comparing with the last export"));
                self.current = Some(bar);
            }
            Progress::Compared {
                table,
                files,
                to_write,
            } => {
                (self.files, self.to_write) = (files, to_write);
                if let Some(bar) = &self.current {
                    bar.set_message(format!("{table}: writing {to_write} of {files} file(s)"));
                }
            }
            Progress::Staged { table, rows, .. } => {
                if let Some(bar) = self.current.take() {
                    bar.finish_with_message(format!(
                        "{table}: {} file(s) written ({rows} row(s)), {} unchanged",
                        self.to_write,
                        self.files - self.to_write
                    ));
                }
            }
        }
    }
}
