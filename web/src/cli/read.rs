//! `shiplog metrics` and `shiplog report weekly`: reads straight from the file.

use std::io::Write;
use std::path::Path;

use duckdb::Connection;
use shiplog_ingest::store::Store;
use shiplog_model::Period;
use shiplog_queries::{Filter, weekly};

use super::{CliError, PeriodArgs, ReportFormat, WeeklyArgs};
use crate::config::Config;
use crate::store::{OpenError, bring_current};

fn open_for_reading(config: &Config, http: &'static str) -> Result<Connection, CliError> {
    if !config.db.exists() {
        return Err(CliError::Usage(format!(
            "no database at {}: import events first (`shiplog import`) or pass --db",
            config.db.display()
        )));
    }
    let store = Store::open(&config.db)
        .map_err(|e| CliError::open(config.db.clone(), http, OpenError::Store(e)))?;
    let mut conn = store.into_connection();
    bring_current(&mut conn, &config.settings).map_err(|e| CliError::Failed(e.to_string()))?;
    Ok(conn)
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

pub fn metrics(mut config: Config, args: PeriodArgs) -> Result<(), CliError> {
    if let Some(db) = &args.db {
        config.db = db.clone();
    }
    let (period, filter) = period_and_filter(&args)?;
    let conn = open_for_reading(&config, "GET /api/v1/metrics?from=…&to=…")?;
    let metrics = shiplog_queries::metrics(&conn, &config.settings, period, &filter)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let json = serde_json::to_string_pretty(&metrics).expect("metrics serialize");
    println!("{json}");
    Ok(())
}

pub fn weekly(mut config: Config, args: WeeklyArgs) -> Result<(), CliError> {
    if let Some(db) = &args.period.db {
        config.db = db.clone();
    }
    let (period, filter) = period_and_filter(&args.period)?;
    let conn = open_for_reading(&config, "GET /reports/weekly.csv?from=…&to=…")?;
    let failed = |e: shiplog_queries::QueryError| CliError::Failed(e.to_string());
    let rows = weekly::weekly_report(&conn, &config.settings, period, &filter).map_err(failed)?;
    let write_failed = |path: &Path, e: std::io::Error| {
        CliError::Failed(format!("cannot write {}: {e}", path.display()))
    };
    match (args.format, &args.out) {
        (ReportFormat::Csv, Some(out)) => {
            std::fs::write(out, weekly::to_csv(&rows)).map_err(|e| write_failed(out, e))
        }
        (ReportFormat::Csv, None) => std::io::stdout()
            .write_all(weekly::to_csv(&rows).as_bytes())
            .map_err(|e| write_failed(Path::new("-"), e)),
        (ReportFormat::Parquet, Some(out)) => {
            weekly::write_parquet(&conn, &rows, out).map_err(failed)
        }
        (ReportFormat::Parquet, None) => {
            let bytes = weekly::parquet_bytes(&conn, &rows).map_err(failed)?;
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|e| write_failed(Path::new("-"), e))
        }
    }
}
