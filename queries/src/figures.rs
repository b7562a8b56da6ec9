//! The figures of SPEC §4 per bucket of days and service, from `sql/figures.sql`.

use std::sync::LazyLock;

use chrono::{Days, NaiveDate, NaiveTime};
use duckdb::types::{TimeUnit, Value};
use duckdb::{Connection, params};
use shiplog_model::Period;
use shiplog_model::goals::Goal;

use crate::QueryError;
use crate::scope::Selection;
use crate::temp::{set_list, set_names};

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
    /// Production rollouts aborted before they fully reached production.
    pub aborted: i64,
}

impl Figures {
    /// The figures of one row of `figures.sql` (columns 2 on; 0 is the bucket's
    /// position, 1 the service), for `bucket` and `service`.
    pub(crate) fn from_row(
        row: &duckdb::Row<'_>,
        bucket: NaiveDate,
        service: Option<String>,
    ) -> duckdb::Result<Figures> {
        Ok(Figures {
            bucket,
            service,
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
            aborted: row.get(14)?,
        })
    }

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
            aborted: 0,
        }
    }

    /// Failed ÷ deployments; undefined without deployments.
    pub fn change_failure_rate(&self) -> Option<f64> {
        (self.deployments > 0).then(|| self.failed as f64 / self.deployments as f64)
    }

    pub fn rework_rate(&self) -> Option<f64> {
        (self.deployments > 0).then(|| self.rework as f64 / self.deployments as f64)
    }

    /// Aborted ÷ (deployments + aborted): of the releases that went out, the share
    /// stopped before they fully reached production; undefined with neither.
    pub fn aborted_rollout_rate(&self) -> Option<f64> {
        let rollouts = self.deployments + self.aborted;
        (rollouts > 0).then(|| self.aborted as f64 / rollouts as f64)
    }

    /// The figure `goal` is judged on, for a bucket of `days` days: deployments per
    /// week (defined even when 0), medians in hours, rates as shares.
    pub fn goal_actual(&self, goal: Goal, days: i64) -> Option<f64> {
        match goal {
            Goal::DeploymentsPerWeek => {
                (days > 0).then(|| self.deployments as f64 * 7.0 / days as f64)
            }
            Goal::LeadTimeMedian => self.lead_time_median_hours,
            Goal::ChangeFailureRate => self.change_failure_rate(),
            Goal::RecoveryMedian => self.recovery_median_hours,
            Goal::RestoreMedian => self.restore_median_hours,
            Goal::ReworkRate => self.rework_rate(),
        }
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

/// Buckets of one figure read, with or without their per-service rows.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub buckets: &'a [Bucket],
    pub breakdown: Breakdown,
}

/// Figures for the selected services in each of `buckets`. Rows come per bucket in
/// bucket order: each service in code-point order (with [`Breakdown::PerService`]),
/// then the bucket's total.
pub fn figures(
    conn: &Connection,
    selection: &Selection,
    buckets: &[Bucket],
    breakdown: Breakdown,
) -> Result<Vec<Figures>, QueryError> {
    let mut sets = figure_sets(conn, selection, &[Request { buckets, breakdown }])?;
    Ok(sets.pop().expect("one set per request"))
}

/// The figures of several requests in one read (a page's two periods and its chart),
/// one set of rows per request, each as [`figures`] gives it.
pub fn figure_sets(
    conn: &Connection,
    selection: &Selection,
    requests: &[Request],
) -> Result<Vec<Vec<Figures>>, QueryError> {
    let all: Vec<(Bucket, bool)> = requests
        .iter()
        .flat_map(|r| {
            let per_service = r.breakdown == Breakdown::PerService;
            r.buckets.iter().map(move |b| (*b, per_service))
        })
        .collect();
    let mut sets: Vec<Vec<Figures>> = requests.iter().map(|_| Vec::new()).collect();
    let (Some(first), Some(last)) = (
        all.iter().map(|(b, _)| b.start).min(),
        all.iter().map(|(b, _)| b.stop).max(),
    ) else {
        return Ok(sets);
    };
    set_names(conn, "scope", selection.services.iter().map(String::as_str))?;
    set_aborted_production(conn, &selection.aborted_production)?;
    set_figure_buckets(conn, &all)?;
    let mut stmt = if selection.filtered {
        conn.prepare_cached(&FIGURES_IN_SCOPE)?
    } else {
        conn.prepare_cached(FIGURES)?
    };
    // Which request each bucket position belongs to.
    let owner: Vec<usize> = requests
        .iter()
        .enumerate()
        .flat_map(|(n, r)| std::iter::repeat_n(n, r.buckets.len()))
        .collect();
    let rows = stmt.query_map(params![midnight(first), midnight(last)], |row| {
        let i: i32 = row.get(0)?;
        let i = usize::try_from(i).expect("bucket positions start at 0");
        Ok((i, Figures::from_row(row, all[i].0.start, row.get(1)?)?))
    })?;
    let mut rows: Vec<(usize, Figures)> = rows.collect::<Result<_, _>>()?;
    // Bucket order, then code-point order within each bucket, totals last, whatever
    // the collation.
    rows.sort_by(|(i, a), (j, b)| {
        (i, a.service.is_none(), &a.service).cmp(&(j, b.service.is_none(), &b.service))
    });
    for (i, row) in rows {
        sets[owner[i]].push(row);
    }
    Ok(sets)
}

const FIGURES: &str = include_str!("sql/figures.sql");

/// `figures.sql` checking each row against the scope, for a filtered selection.
static FIGURES_IN_SCOPE: LazyLock<String> =
    LazyLock::new(|| FIGURES.replace("/*scope*/", "AND service IN (SELECT service FROM scope)"));

/// Fills the connection's temp table `figure_buckets` with `buckets`, numbered
/// from 0 in order (`i`), so that queries group by position (two buckets may start
/// on the same day), each marked whether its rows break down by service.
fn set_figure_buckets(conn: &Connection, buckets: &[(Bucket, bool)]) -> duckdb::Result<()> {
    // Created once per connection and emptied, as `temp::set_names` does, so that the
    // statements reading it stay prepared.
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS figure_buckets
             (i INTEGER, start TIMESTAMP, stop TIMESTAMP, per_service BOOLEAN);
         DELETE FROM figure_buckets;",
    )?;
    let mut appender = conn.appender_to_catalog_and_db("figure_buckets", "temp", "main")?;
    for (i, (bucket, per_service)) in buckets.iter().enumerate() {
        let i = i32::try_from(i).expect("a page draws far fewer buckets than i32::MAX");
        appender.append_row(params![
            i,
            midnight(bucket.start),
            midnight(bucket.stop),
            per_service
        ])?;
    }
    appender.flush()
}

/// Fills `aborted_production` with the production environments of stored aborted
/// rollouts, which `figures.sql` and the explain rows count.
pub(crate) fn set_aborted_production(conn: &Connection, names: &[String]) -> duckdb::Result<()> {
    set_list(
        conn,
        "aborted_production",
        "environment",
        names.iter().map(String::as_str),
    )
}

/// Fills `figure_buckets` with `buckets`, none broken down by service.
pub(crate) fn set_buckets(conn: &Connection, buckets: &[Bucket]) -> duckdb::Result<()> {
    let all: Vec<(Bucket, bool)> = buckets.iter().map(|b| (*b, false)).collect();
    set_figure_buckets(conn, &all)
}
