//! The rows behind each figure (`/explain/{metric}`), paged or as CSV. Each kind of
//! row has one definition (`sql/explain/<kind>.sql`, the `rows` CTE); the figure the
//! page shows is computed from that same CTE (`<kind>_summary.sql`) and the rows are
//! read from it (`<kind>_page.sql`), so the number of rows is the count the figure
//! shows. The tests check that both agree with the figures of every other page.

use std::io::Write;

use duckdb::types::Value;
use duckdb::{Connection, Row};
use shiplog_model::time::from_micros;
use shiplog_model::{BandTable, Level};

use super::metric::Metric;
use super::table::{Cell, CsvRows, Paging, Table};
use super::view::View;
use crate::QueryError;
use crate::figures::{Figures, midnight, set_aborted_production};
use crate::scope::{Known, Selection};
use crate::temp::set_names;

/// The four kinds of rows behind the seven figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// Deployments; `failed_only` for recovery time.
    Deployments {
        failed_only: bool,
    },
    LeadTimeSamples,
    Incidents,
    /// Completed deployments and aborted rollouts.
    Rollouts,
}

impl Rows {
    fn of(metric: Metric) -> Rows {
        match metric {
            Metric::DeploymentFrequency | Metric::ChangeFailureRate | Metric::ReworkRate => {
                Rows::Deployments { failed_only: false }
            }
            Metric::FailedDeploymentRecovery => Rows::Deployments { failed_only: true },
            Metric::LeadTime => Rows::LeadTimeSamples,
            Metric::TimeToRestore => Rows::Incidents,
            Metric::AbortedRollouts => Rows::Rollouts,
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            Rows::Deployments { .. } => &[
                "finished_at",
                "service",
                "environment",
                "sha",
                "kind",
                "change_set_size",
                "lead_time_samples",
                "failed",
                "failure_cause",
                "rolled_back_by",
                "incidents",
                "recovered_at",
                "recovery_hours",
                "rework",
                "deployment_id",
            ],
            Rows::LeadTimeSamples => &[
                "commit",
                "repo",
                "started_at",
                "start",
                "deployment_id",
                "service",
                "deployed_at",
                "hours",
            ],
            Rows::Incidents => &[
                "incident_id",
                "title",
                "service",
                "severity",
                "opened_at",
                "resolved_at",
                "hours",
                "deployment_id",
                "rule",
            ],
            Rows::Rollouts => &[
                "finished_at",
                "service",
                "environment",
                "sha",
                "outcome",
                "deployment_id",
            ],
        }
    }

    fn summary_sql(self) -> &'static str {
        match self {
            Rows::Deployments { .. } => concat!(
                include_str!("../sql/explain/deployments.sql"),
                include_str!("../sql/explain/deployments_summary.sql")
            ),
            Rows::LeadTimeSamples => concat!(
                include_str!("../sql/explain/lead_time.sql"),
                include_str!("../sql/explain/lead_time_summary.sql")
            ),
            Rows::Incidents => concat!(
                include_str!("../sql/explain/incidents.sql"),
                include_str!("../sql/explain/incidents_summary.sql")
            ),
            Rows::Rollouts => concat!(
                include_str!("../sql/explain/rollouts.sql"),
                include_str!("../sql/explain/rollouts_summary.sql")
            ),
        }
    }

    /// Only for the duration figures' rows ([`Metric::is_duration`]).
    fn distribution_sql(self) -> &'static str {
        match self {
            Rows::Deployments { .. } => concat!(
                include_str!("../sql/explain/deployments.sql"),
                include_str!("../sql/explain/distribution.sql")
            ),
            Rows::LeadTimeSamples => concat!(
                include_str!("../sql/explain/lead_time.sql"),
                include_str!("../sql/explain/distribution.sql")
            ),
            Rows::Incidents => concat!(
                include_str!("../sql/explain/incidents.sql"),
                include_str!("../sql/explain/distribution.sql")
            ),
            Rows::Rollouts => unreachable!("aborted rollouts is a rate: it has no durations"),
        }
    }

    fn page_sql(self) -> &'static str {
        match self {
            Rows::Deployments { .. } => concat!(
                include_str!("../sql/explain/deployments.sql"),
                include_str!("../sql/explain/deployments_page.sql")
            ),
            Rows::LeadTimeSamples => concat!(
                include_str!("../sql/explain/lead_time.sql"),
                include_str!("../sql/explain/lead_time_page.sql")
            ),
            Rows::Incidents => concat!(
                include_str!("../sql/explain/incidents.sql"),
                include_str!("../sql/explain/incidents_page.sql")
            ),
            Rows::Rollouts => concat!(
                include_str!("../sql/explain/rollouts.sql"),
                include_str!("../sql/explain/rollouts_page.sql")
            ),
        }
    }

    /// The definition's parameters: the period, and the failed-only switch for
    /// deployments.
    fn params(self, view: &View) -> Vec<Value> {
        let mut params = vec![midnight(view.period.from()), midnight(view.period.to())];
        if let Rows::Deployments { failed_only } = self {
            params.push(Value::Boolean(failed_only));
        }
        params
    }

    /// The figure recomputed from the rows' summary (fields of other kinds stay 0).
    fn summary(self, row: &Row<'_>, view: &View) -> duckdb::Result<Figures> {
        let mut f = Figures::empty(view.period.from());
        match self {
            Rows::Deployments { .. } => {
                f.deployments = row.get(0)?;
                f.deploy_days = row.get(1)?;
                f.failed = row.get(2)?;
                f.recovered = row.get(3)?;
                f.recovery_median_hours = row.get(4)?;
                f.rework = row.get(5)?;
            }
            Rows::LeadTimeSamples => {
                f.lead_time_samples = row.get(0)?;
                f.lead_time_median_hours = row.get(1)?;
                f.lead_time_p90_hours = row.get(2)?;
            }
            Rows::Incidents => {
                f.incidents = row.get(0)?;
                f.resolved = row.get(1)?;
                f.restore_median_hours = row.get(2)?;
            }
            Rows::Rollouts => {
                f.deployments = row.get(0)?;
                f.aborted = row.get(1)?;
            }
        }
        Ok(f)
    }

    /// How many rows the figure counts: every row, the same as the summary's count.
    fn total(self, f: &Figures) -> i64 {
        match self {
            Rows::Deployments { failed_only: false } => f.deployments,
            Rows::Deployments { failed_only: true } => f.failed,
            Rows::LeadTimeSamples => f.lead_time_samples,
            Rows::Incidents => f.incidents,
            Rows::Rollouts => f.deployments + f.aborted,
        }
    }

    fn cells(self, row: &Row<'_>) -> duckdb::Result<Vec<Cell>> {
        let time = |i: usize| -> duckdb::Result<Cell> {
            Ok(Cell::Time(row.get::<_, Option<i64>>(i)?.map(from_micros)))
        };
        Ok(match self {
            Rows::Deployments { .. } => {
                let service: String = row.get(1)?;
                vec![
                    time(0)?,
                    Cell::Service(service.clone()),
                    Cell::Text(row.get(2)?),
                    Cell::Sha(row.get(3)?),
                    Cell::Text(row.get(4)?),
                    Cell::Count(row.get(5)?),
                    Cell::Count(row.get(6)?),
                    Cell::Flag(row.get(7)?),
                    Cell::Text(row.get(8)?),
                    Cell::Deployment {
                        id: row.get(9)?,
                        service: Some(service.clone()),
                    },
                    Cell::Text(row.get(10)?),
                    time(11)?,
                    Cell::Hours(row.get(12)?),
                    Cell::Flag(row.get(13)?),
                    Cell::Deployment {
                        id: row.get(14)?,
                        service: Some(service),
                    },
                ]
            }
            Rows::LeadTimeSamples => {
                let service: String = row.get(5)?;
                vec![
                    Cell::Sha(row.get(0)?),
                    Cell::Text(row.get(1)?),
                    time(2)?,
                    Cell::Text(row.get(3)?),
                    Cell::Deployment {
                        id: row.get(4)?,
                        service: Some(service.clone()),
                    },
                    Cell::Service(service),
                    time(6)?,
                    Cell::Hours(row.get(7)?),
                ]
            }
            Rows::Incidents => vec![
                Cell::Text(row.get(0)?),
                Cell::Text(row.get(1)?),
                Cell::Service(row.get(2)?),
                Cell::Text(row.get(3)?),
                time(4)?,
                time(5)?,
                Cell::Hours(row.get(6)?),
                Cell::Deployment {
                    id: row.get(7)?,
                    service: row.get(8)?,
                },
                Cell::Text(row.get(9)?),
            ],
            Rows::Rollouts => {
                let service: String = row.get(1)?;
                vec![
                    time(0)?,
                    Cell::Service(service.clone()),
                    Cell::Text(row.get(2)?),
                    Cell::Sha(row.get(3)?),
                    Cell::Text(row.get(4)?),
                    Cell::Deployment {
                        id: row.get(5)?,
                        service: Some(service),
                    },
                ]
            }
        })
    }
}

/// A figure and the rows it is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub metric: Metric,
    /// The figures recomputed from the rows (only the metric's own fields are set).
    pub figures: Figures,
    pub value: Option<f64>,
    pub level: Option<Level>,
    pub table: Table,
}

/// The figure `metric` of `view` and one page of its rows, newest first.
pub fn explain(
    conn: &Connection,
    known: &Known,
    view: &View,
    metric: Metric,
    paging: Paging,
) -> Result<Explained, QueryError> {
    let rows = Rows::of(metric);
    set_scope(conn, &known.select(&view.filter))?;
    let params = rows.params(view);
    let figures = conn
        .prepare_cached(rows.summary_sql())?
        .query_row(duckdb::params_from_iter(&params), |row| {
            rows.summary(row, view)
        })?;
    let table_rows = read_page(conn, rows, &params, paging.limit(), paging.offset(), Ok)?;
    let value = metric.value(&figures, view.period.days());
    Ok(Explained {
        metric,
        level: metric.level(&BandTable::of(view.bands), value),
        value,
        table: Table {
            columns: rows.columns(),
            rows: table_rows,
            total: rows.total(&figures),
            paging,
        },
        figures,
    })
}

/// How a duration figure's samples spread.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub samples: i64,
    pub p50: Option<f64>,
    pub p75: Option<f64>,
    pub p90: Option<f64>,
    pub bins: Vec<HistogramBin>,
}

/// Samples with `low <= hours < high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramBin {
    pub low: f64,
    pub high: f64,
    pub count: i64,
}

/// The distribution of a duration figure's samples over the same rows the figure and
/// its explain page read; `None` for the figures that are not durations.
pub fn distribution(
    conn: &Connection,
    selection: &Selection,
    view: &View,
    metric: Metric,
) -> Result<Option<Distribution>, QueryError> {
    if !metric.is_duration() {
        return Ok(None);
    }
    let rows = Rows::of(metric);
    set_scope(conn, selection)?;
    let mut stmt = conn.prepare_cached(rows.distribution_sql())?;
    let mut result = stmt.query(duckdb::params_from_iter(rows.params(view)))?;
    let mut distribution = Distribution {
        samples: 0,
        p50: None,
        p75: None,
        p90: None,
        bins: Vec::new(),
    };
    while let Some(row) = result.next()? {
        distribution.bins.push(HistogramBin {
            low: row.get(0)?,
            high: row.get(1)?,
            count: row.get(2)?,
        });
        distribution.p50 = row.get(3)?;
        distribution.p75 = row.get(4)?;
        distribution.p90 = row.get(5)?;
        distribution.samples = row.get(6)?;
    }
    Ok(Some(distribution))
}

/// Every row behind `metric` of `view` as CSV, header first, streamed to `out` as
/// DuckDB produces them; returns how many rows were written.
pub fn write_csv(
    conn: &Connection,
    known: &Known,
    view: &View,
    metric: Metric,
    out: &mut impl Write,
) -> Result<u64, QueryError> {
    let rows = Rows::of(metric);
    set_scope(conn, &known.select(&view.filter))?;
    let mut csv = CsvRows::start(rows.columns(), out)?;
    read_page(conn, rows, &rows.params(view), i64::MAX, 0, |cells| {
        csv.push(cells)
    })?;
    csv.finish()
}

fn set_scope(conn: &Connection, selection: &Selection) -> duckdb::Result<()> {
    set_names(conn, "scope", selection.services.iter().map(String::as_str))?;
    set_aborted_production(conn, &selection.aborted_production)
}

/// Runs the page query, handing each row's cells to `each`.
fn read_page<T>(
    conn: &Connection,
    rows: Rows,
    params: &[Value],
    limit: i64,
    offset: i64,
    mut each: impl FnMut(Vec<Cell>) -> duckdb::Result<T>,
) -> Result<Vec<T>, QueryError> {
    let mut all: Vec<Value> = params.to_vec();
    all.push(Value::BigInt(limit));
    all.push(Value::BigInt(offset));
    let mut stmt = conn.prepare_cached(rows.page_sql())?;
    let mut result = stmt.query(duckdb::params_from_iter(&all))?;
    let mut out = Vec::new();
    while let Some(row) = result.next()? {
        out.push(each(rows.cells(row)?)?);
    }
    Ok(out)
}
