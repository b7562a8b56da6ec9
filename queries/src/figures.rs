//! The figures of SPEC §4 per bucket of days and service, from `sql/figures.sql`.

use chrono::{Days, NaiveDate, NaiveTime};
use duckdb::types::{TimeUnit, Value};
use duckdb::{Connection, params};
use shiplog_model::Period;

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
    /// A bucket with nothing in it.
    pub fn empty(bucket: NaiveDate) -> Figures {
        Figures {
            bucket,
            service: None,
            deployments: 0,
            deploy_days: 0,
            lead_time_samples: 0,
            lead_time_median_hours: None,
            lead_time_p90_hours: None,
            failed: 0,
            recovered: 0,
            recovery_median_hours: None,
            incidents: 0,
            resolved: 0,
            restore_median_hours: None,
            rework: 0,
        }
    }

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

/// A bucket of whole UTC days, `[start, stop)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bucket {
    pub start: NaiveDate,
    pub stop: NaiveDate,
}

impl Bucket {
    /// The whole period as one bucket.
    pub fn whole(period: Period) -> Bucket {
        Bucket {
            start: period.from(),
            stop: period.to(),
        }
    }

    /// The seven days from `monday`.
    pub fn week(monday: NaiveDate) -> Bucket {
        Bucket {
            start: monday,
            stop: monday + Days::new(7),
        }
    }

    pub fn days(&self) -> i64 {
        (self.stop - self.start).num_days()
    }
}

/// Whether the rows break down by service or give only each bucket's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    PerService,
    TotalOnly,
}

/// Figures for `services` in each of `buckets`. Rows come per bucket in bucket
/// order: each service in code-point order (with [`Breakdown::PerService`]), then the
/// bucket's total.
pub fn figures(
    conn: &Connection,
    services: &[String],
    buckets: &[Bucket],
    breakdown: Breakdown,
) -> Result<Vec<Figures>, QueryError> {
    set_names(conn, "scope", services.iter().map(String::as_str))?;
    set_buckets(conn, buckets)?;
    let per_service = breakdown == Breakdown::PerService;
    let mut stmt = conn.prepare_cached(include_str!("sql/figures.sql"))?;
    let rows = stmt.query_map(params![per_service], |row| {
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

/// Fills the connection's temp table `figure_buckets` with `buckets`, numbered
/// from 0 in order (`i`), so that queries may also group by position when two
/// buckets start on the same day.
pub(crate) fn set_buckets(conn: &Connection, buckets: &[Bucket]) -> duckdb::Result<()> {
    // Created once per connection and emptied, as `temp::set_names` does, so that the
    // statements reading it stay prepared.
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS figure_buckets (i INTEGER, start TIMESTAMP, stop TIMESTAMP);
         DELETE FROM figure_buckets;",
    )?;
    let mut appender = conn.appender_to_catalog_and_db("figure_buckets", "temp", "main")?;
    for (i, bucket) in buckets.iter().enumerate() {
        let i = i32::try_from(i).expect("a page draws far fewer buckets than i32::MAX");
        appender.append_row(params![i, midnight(bucket.start), midnight(bucket.stop)])?;
    }
    appender.flush()
}
