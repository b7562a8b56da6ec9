//! The `shiplog` command line. `main.rs` parses and calls [`run`]; each command lives
//! in its own file and returns a [`CliError`] whose exit code the binary uses.

mod backfill;
pub(crate) mod backup;
mod demo;
mod digest;
mod export;
mod generate;
mod git;
mod import;
mod ingest;
mod notify;
mod progress;
mod read;
mod replay;
mod serve;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use shiplog_ingest::store::WriterOptions;

use crate::config::{Config, ConfigError};
use crate::store::{Database, OpenError, open};

pub use import::{ImportSummary, import_files};

#[derive(Debug, Parser)]
#[command(
    name = "shiplog",
    version,
    about = "Delivery-health warehouse: DORA metrics from your commits, deployments and incidents"
)]
pub struct Cli {
    /// Config file (default: ./shiplog.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Take deliveries and publish them to NATS JetStream for `shiplog serve` to store:
    /// a stateless replica, any number behind a load balancer (docs/scaling.md).
    Ingest(ingest::IngestArgs),
    /// Generate six months of sample history into a fresh database and serve it.
    Demo(DemoArgs),
    /// Load newline-delimited typed events (`-` reads standard input).
    Import(ImportArgs),
    /// Print the metrics JSON for a period.
    Metrics(PeriodArgs),
    /// Write a report.
    #[command(subcommand)]
    Report(Report),
    /// Send the digest to the targets configured in `[digest]`.
    #[command(subcommand)]
    Digest(digest::DigestCommand),
    /// Map stored webhook deliveries again with today's adapters and config.
    Replay(replay::ReplayArgs),
    /// Read history from a local git clone.
    #[command(subcommand)]
    Git(git::GitCommand),
    /// Load history from a source's API, for the time before its webhooks were set up.
    #[command(subcommand)]
    Backfill(backfill::BackfillCommand),
    /// Tell a Shiplog server about a deployment or an incident, from any CI system.
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// Leave a note on the timeline ("moved to trunk-based development"), drawn on the
    /// dashboard's charts and listed in the digest.
    Annotate(notify::AnnotateArgs),
    /// Write organisation-scale sample history as NDJSON, for benchmarks.
    Generate(generate::GenerateArgs),
    /// Copy the database into a new directory, consistently, even while a server runs.
    Backup(backup::BackupArgs),
    /// Create a database file from a backup, checked against its manifest.
    Restore(backup::RestoreArgs),
    /// Write every table as Parquet partitioned by month, for a warehouse; only the
    /// months that changed since the last export.
    Export(export::ExportArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Database file [env: SHIPLOG_DB] [default: ./shiplog.duckdb]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Listen address [env: SHIPLOG_ADDR] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Listen address [default: 127.0.0.1:8080]
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Database file to create (default: a new temporary file).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Seed of the generated history.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// NDJSON files of typed events; `-` is standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PeriodArgs {
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// First day, YYYY-MM-DD (UTC).
    #[arg(long)]
    pub from: String,
    /// Day after the last, YYYY-MM-DD (excluded).
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long)]
    pub team: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Report {
    /// The weekly report: one row per week and service, plus ALL.
    Weekly(WeeklyArgs),
    /// The digest: per team, the week's figures against the previous week, goals,
    /// failed deployments, longest lead times, open incidents and annotations.
    Digest(digest::ReportDigestArgs),
}

#[derive(Debug, Args)]
pub struct WeeklyArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ReportFormat,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Parquet,
}

/// A failed command, with the exit code it ends with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Exit 2: a server holds the database file.
    #[error(
        "{path} is held by another process, most likely a running `shiplog serve` (DuckDB lets one process \
         open a database). Use the server's HTTP API instead: {http}"
    )]
    Locked { path: PathBuf, http: &'static str },
    #[error("{0}")]
    Open(OpenError),
    #[error("{0}")]
    Usage(String),
    /// Exit 1 after the good lines were stored.
    #[error("{bad} bad line(s) were skipped; the {stored} good event(s) are stored")]
    BadLines { bad: usize, stored: usize },
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Locked { .. } | CliError::Usage(_) => 2,
            _ => 1,
        }
    }

    fn open(path: PathBuf, http: &'static str, error: OpenError) -> CliError {
        if error.is_locked() {
            CliError::Locked { path, http }
        } else {
            CliError::Open(error)
        }
    }
}

/// Opens `config.db` for a command that writes, with a writer queue of at least
/// `queue_events`. A server holding the file is exit 2, naming `http` instead.
pub(crate) async fn open_db(
    config: &Config,
    queue_events: usize,
    http: &'static str,
) -> Result<Arc<Database>, CliError> {
    let path = config.db.clone();
    let settings = config.settings.clone();
    let options = WriterOptions::bulk(config.writer_queue_events.max(queue_events));
    let db = tokio::task::spawn_blocking(move || open(&path, &settings, options))
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?
        .map_err(|e| CliError::open(config.db.clone(), http, e))?;
    Ok(Arc::new(db))
}

/// Stops the writer after its queued batches are committed and the derived facts
/// they owe are recomputed (once, for the whole load: see [`WriterOptions::bulk`]).
pub(crate) async fn close_db(db: &Arc<Database>) -> Result<(), CliError> {
    let writer = db.writer.clone();
    let bar = progress::spinner("recomputing derived facts");
    let stopped = tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .map_err(|e| CliError::Failed(e.to_string()));
    bar.finish_and_clear();
    stopped
}

/// Loads the configuration with the process environment.
pub fn load_config(file: Option<&std::path::Path>) -> Result<Config, CliError> {
    Ok(Config::load(file, |name| std::env::var(name).ok())?)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let mut config = load_config(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => {
            if let Some(db) = args.db {
                config.db = db;
            }
            if let Some(addr) = args.addr {
                config.addr = addr;
            }
            serve::serve(config).await
        }
        Command::Ingest(args) => ingest::run(config, args).await,
        Command::Demo(args) => demo::demo(config, args).await,
        Command::Import(args) => {
            if let Some(db) = args.db {
                config.db = db;
            }
            let summary = import_files(&config, &args.files).await?;
            eprintln!("{summary}");
            match summary.bad {
                0 => Ok(()),
                bad => Err(CliError::BadLines {
                    bad,
                    stored: summary.accepted + summary.duplicates,
                }),
            }
        }
        Command::Metrics(args) => read::metrics(config, args).await,
        Command::Report(Report::Weekly(args)) => read::weekly(config, args).await,
        Command::Report(Report::Digest(args)) => digest::report(config, args).await,
        Command::Digest(command) => digest::run(config, command).await,
        Command::Replay(args) => replay::run(config, args).await,
        Command::Git(command) => git::run(config, command).await,
        Command::Backfill(command) => backfill::run(config, command).await,
        Command::Notify(command) => notify::run(command).await,
        Command::Annotate(args) => notify::annotate(args).await,
        Command::Generate(args) => generate::run(args).await,
        Command::Backup(args) => backup::run_backup(config, args).await,
        Command::Restore(args) => backup::run_restore(config, args).await,
        Command::Export(args) => export::run(config, args).await,
    }
}
