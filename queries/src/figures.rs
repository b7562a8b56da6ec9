//! The figures of SPEC §4 per bucket of days and service, from `sql/figures.sql`.

use chrono::{NaiveDate, NaiveTime};
use duckdb::types::{TimeUnit, Value};
use duckdb::{Connection, params};

use crate::QueryError;
use crate::temp::set_names;

/// Counts and medians for one bucket and one service (or all of the scope).
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub bucket: NaiveDate,
    /// `None` for the bucket as a whole.
    pub service: Option<String>,
    pub deployments: i64,
    pub deploy_days: i64,
    pub lead_time_samples: i64,
    pub lead_time_median_hours: Option<f64>,
    pub lead_time_p90_hours: Option<f64>,
    pub failed: i64,
    pub recovered: i64,
    pub recovery_median_hours: Option<f64>,
    pub incidents: i64,
    pub resolved: i64,
    pub restore_median_hours: Option<f64>,
    pub rework: i64,
}

impl Figures {
    /// Failed ÷ deployments; undefined without deployments.
    pub fn change_failure_rate(&self) -> Option<f64> {
        (self.deployments > 0).then(|| self.failed as f64 / self.deployments as f64)
    }

    pub fn rework_rate(&self) -> Option<f64> {
        (self.deployments > 0).then(|| self.rework as f64 / self.deployments as f64)
    }
}

/// The first instant of `date` (UTC), as a query parameter.
pub(crate) fn midnight(date: NaiveDate) -> Value {
    Value::Timestamp(
        TimeUnit::Microsecond,
        date.and_time(NaiveTime::MIN).and_utc().timestamp_micros(),
    )
}

/// Figures for `services`, in buckets of `days` days starting at `first`, one every
/// `days` days while the start is before `end`. Rows come per bucket: each service
/// in code-point order, then the bucket's total.
pub fn figures(
    conn: &Connection,
    services: &[String],
    first: NaiveDate,
    end: NaiveDate,
    days: i64,
) -> Result<Vec<Figures>, QueryError> {
    set_names(conn, "scope", services.iter().map(String::as_str))?;
    let mut stmt = conn.prepare(include_str!("sql/figures.sql"))?;
    let rows = stmt.query_map(params![midnight(first), midnight(end), days], |row| {
        let bucket: String = row.get(0)?;
        Ok(Figures {
            bucket: NaiveDate::parse_from_str(&bucket, "%Y-%m-%d")
                .expect("strftime gives ISO dates"),
            service: row.get(1)?,
            deployments: row.get(2)?,
            deploy_days: row.get(3)?,
            lead_time_samples: row.get(4)?,
            lead_time_median_hours: row.get(5)?,
            lead_time_p90_hours: row.get(6)?,
            failed: row.get(7)?,
            recovered: row.get(8)?,
            recovery_median_hours: row.get(9)?,
            incidents: row.get(10)?,
            resolved: row.get(11)?,
            restore_median_hours: row.get(12)?,
            rework: row.get(13)?,
        })
    })?;
    let mut figures: Vec<Figures> = rows.collect::<Result<_, _>>()?;
    // Code-point order within each bucket, totals last, whatever the collation.
    figures.sort_by(|a, b| {
        (a.bucket, a.service.is_none(), &a.service).cmp(&(
            b.bucket,
            b.service.is_none(),
            &b.service,
        ))
    });
    Ok(figures)
}
