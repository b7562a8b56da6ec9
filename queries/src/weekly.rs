//! The weekly report of SPEC §5: rows per week and service plus an `ALL` row per week,
//! written as CSV (fixed decimals, formula-injection guard) or as Parquet by DuckDB.

use std::fmt::Write as _;
use std::path::Path;

use chrono::NaiveDate;
use duckdb::types::Value;
use duckdb::{Connection, params};
use shiplog_model::{Period, Settings};

use crate::QueryError;
use crate::csv::{guard, quote};
use crate::figures::{Breakdown, Bucket, Figures, figures};
use crate::scope::{Filter, select};

/// The summary row's service name; `ServiceName` refuses it for real services.
pub const ALL: &str = "ALL";

/// The CSV header, exactly.
pub const HEADER: &str = "week_start,service,deployments,deploy_days,lead_time_samples,lead_time_median_hours,lead_time_p90_hours,failed_deployments,change_failure_rate,recovered_deployments,recovery_median_hours,incidents,resolved_incidents,time_to_restore_median_hours,rework_deployments,rework_rate";

/// One row of the weekly report.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyRow {
    pub week_start: NaiveDate,
    /// A service, or [`ALL`].
    pub service: String,
    pub figures: Figures,
}

/// The rows for the weeks starting in `period`, over the services `filter` selects.
pub fn weekly_report(
    conn: &Connection,
    settings: &Settings,
    period: Period,
    filter: &Filter,
) -> Result<Vec<WeeklyRow>, QueryError> {
    let weeks: Vec<Bucket> = period.week_starts().into_iter().map(Bucket::week).collect();
    if weeks.is_empty() {
        return Ok(Vec::new());
    }
    let services = select(conn, settings, filter)?;
    Ok(figures(conn, &services, &weeks, Breakdown::PerService)?
        .into_iter()
        .map(|f| WeeklyRow {
            week_start: f.bucket,
            service: f.service.clone().unwrap_or_else(|| ALL.to_owned()),
            figures: f,
        })
        .collect())
}

/// Fixed decimals from the double's exact value (`format!` rounds correctly); empty
/// when undefined.
fn decimals(value: Option<f64>, places: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.places$}"))
}

/// The report as CSV text, header first, `\n` line ends.
pub fn to_csv(rows: &[WeeklyRow]) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    out.push_str(HEADER);
    out.push('\n');
    for row in rows {
        let f = &row.figures;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            row.week_start,
            quote(&guard(&row.service)),
            f.deployments,
            f.deploy_days,
            f.lead_time_samples,
            decimals(f.lead_time_median_hours, 2),
            decimals(f.lead_time_p90_hours, 2),
            f.failed,
            decimals(f.change_failure_rate(), 4),
            f.recovered,
            decimals(f.recovery_median_hours, 2),
            f.incidents,
            f.resolved,
            decimals(f.restore_median_hours, 2),
            f.rework,
            decimals(f.rework_rate(), 4),
        );
    }
    out
}

/// The rows as Parquet bytes, for an HTTP body or standard output. DuckDB writes
/// Parquet only to files, so this goes through a temporary one.
pub fn parquet_bytes(conn: &Connection, rows: &[WeeklyRow]) -> Result<Vec<u8>, QueryError> {
    let output = |path: &Path, e: std::io::Error| QueryError::Output {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let dir = tempfile::tempdir().map_err(|e| output(&std::env::temp_dir(), e))?;
    let path = dir.path().join("weekly.parquet");
    write_parquet(conn, rows, &path)?;
    std::fs::read(&path).map_err(|e| output(&path, e))
}

/// Writes the rows to `path` as Parquet with DuckDB's own writer: `week_start` DATE,
/// `service` VARCHAR (unguarded), counts BIGINT, hours and rates DOUBLE unrounded.
pub fn write_parquet(conn: &Connection, rows: &[WeeklyRow], path: &Path) -> Result<(), QueryError> {
    conn.execute_batch(include_str!("sql/weekly_parquet_table.sql"))?;
    {
        let mut appender = conn.appender_to_catalog_and_db("weekly_report", "temp", "main")?;
        for row in rows {
            let f = &row.figures;
            let days =
                (row.week_start - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days();
            appender.append_row(params![
                Value::Date32(days as i32),
                row.service,
                f.deployments,
                f.deploy_days,
                f.lead_time_samples,
                f.lead_time_median_hours,
                f.lead_time_p90_hours,
                f.failed,
                f.change_failure_rate(),
                f.recovered,
                f.recovery_median_hours,
                f.incidents,
                f.resolved,
                f.restore_median_hours,
                f.rework,
                f.rework_rate()
            ])?;
        }
        appender.flush()?;
    }
    let target = path.to_str().ok_or_else(|| QueryError::Output {
        path: path.display().to_string(),
        message: "the path is not valid UTF-8".into(),
    })?;
    // COPY takes its target as a literal, not a parameter: quote it as SQL does. The
    // table keeps insertion order, which is the report's order.
    let copy = format!(
        "COPY weekly_report TO '{}' (FORMAT parquet)",
        target.replace('\'', "''")
    );
    conn.execute_batch(&copy)?;
    Ok(())
}
