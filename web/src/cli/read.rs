//! `shiplog metrics` and `shiplog report weekly`: read the file as the server does,
//! through `open` (whose writer's settler brings the derived facts up to date first)
//! and a reader connection; nothing is written.

use std::io::Write;
use std::path::Path;

use duckdb::Connection;
use shiplog_model::Period;
use shiplog_queries::{Filter, weekly};

use super::{CliError, PeriodArgs, ReportFormat, WeeklyArgs};
use crate::config::Config;

/// Opens `config.db`, runs `read` on a reader connection (on a blocking thread), and
/// stops the writer. A server holding the file is exit 2, naming `http` instead.
pub(super) async fn read_from<T: Send + 'static>(
    config: &Config,
    http: &'static str,
    read: impl FnOnce(&Connection) -> Result<T, CliError> + Send + 'static,
) -> Result<T, CliError> {
    if !config.db.exists() {
        return Err(CliError::Usage(format!(
            "no database at {}: import events first (`shiplog import`) or pass --db",
            config.db.display()
        )));
    }
    // The queue stays empty: a read submits nothing.
    let db = super::open_db(config, 1, http).await?;
    let reading = db.clone();
    let result = tokio::task::spawn_blocking(move || reading.readers.with(read))
        .await
        .map_err(|e| CliError::Failed(e.to_string()))
        .and_then(|pooled| {
            pooled.map_err(|e| CliError::Failed(format!("cannot open a read connection: {e}")))?
        });
    // Nothing is owed (the settler paid at start and nothing was written), so this
    // returns at once; `close_db`'s "recomputing" spinner would say otherwise.
    let writer = db.writer.clone();
    tokio::task::spawn_blocking(move || writer.shutdown())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    result
}

fn period_and_filter(args: &PeriodArgs) -> Result<(Period, Filter), CliError> {
    let today = chrono::Utc::now().date_naive();
    let period = Period::parse(Some(args.from.as_str()), Some(args.to.as_str()), today)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok((
        period,
        Filter {
            service: args.service.clone(),
            team: args.team.clone(),
        },
    ))
}

pub async fn metrics(mut config: Config, args: PeriodArgs) -> Result<(), CliError> {
    if let Some(db) = &args.db {
        config.db = db.clone();
    }
    let (period, filter) = period_and_filter(&args)?;
    let settings = config.settings.clone();
    let metrics = read_from(&config, "GET /api/v1/metrics?from=…&to=…", move |conn| {
        shiplog_queries::metrics(conn, &settings, period, &filter)
            .map_err(|e| CliError::Failed(e.to_string()))
    })
    .await?;
    let json = serde_json::to_string_pretty(&metrics).expect("metrics serialize");
    println!("{json}");
    Ok(())
}

pub async fn weekly(mut config: Config, args: WeeklyArgs) -> Result<(), CliError> {
    if let Some(db) = &args.period.db {
        config.db = db.clone();
    }
    let (period, filter) = period_and_filter(&args.period)?;
    let settings = config.settings.clone();
    read_from(
        &config,
        "GET /reports/weekly.csv?from=…&to=…",
        move |conn| {
            write_weekly(
                conn,
                &settings,
                period,
                &filter,
                args.format,
                args.out.as_deref(),
            )
        },
    )
    .await
}

fn write_weekly(
    conn: &Connection,
    settings: &shiplog_model::Settings,
    period: Period,
    filter: &Filter,
    format: ReportFormat,
    out: Option<&Path>,
) -> Result<(), CliError> {
    let failed = |e: shiplog_queries::QueryError| CliError::Failed(e.to_string());
    let rows = weekly::weekly_report(conn, settings, period, filter).map_err(failed)?;
    let write_failed = |path: &Path, e: std::io::Error| {
        CliError::Failed(format!("cannot write {}: {e}", path.display()))
    };
    match (format, out) {
        (ReportFormat::Csv, Some(out)) => {
            std::fs::write(out, weekly::to_csv(&rows)).map_err(|e| write_failed(out, e))
        }
        (ReportFormat::Csv, None) => std::io::stdout()
            .write_all(weekly::to_csv(&rows).as_bytes())
            .map_err(|e| write_failed(Path::new("-"), e)),
        (ReportFormat::Parquet, Some(out)) => {
            weekly::write_parquet(conn, &rows, out).map_err(failed)
        }
        (ReportFormat::Parquet, None) => {
            let bytes = weekly::parquet_bytes(conn, &rows).map_err(failed)?;
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|e| write_failed(Path::new("-"), e))
        }
    }
}
