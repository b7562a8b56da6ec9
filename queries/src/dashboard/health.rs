//! `/data-health`: what Shiplog cannot see. Five checks, each a list of what a figure
//! misses (a deployment without lead time, an incident that fails nothing, a
//! delivery stored unmapped, …), and the newest delivery of each source, so that a
//! sender that stopped shows. Each check's rows have one definition
//! (`sql/health/<check>.sql`, the `rows` CTE); its count (`count.sql`) and its pages
//! (`<check>_page.sql`) are read from that same definition, as the explain pages do,
//! so the count beside a check is the number of rows it lists.

use std::io::Write;

use duckdb::types::Value;
use duckdb::{Connection, Row};
use shiplog_model::time::from_micros;
use shiplog_model::{Settings, Timestamp};

use super::table::{Cell, CsvRows, Paging, Table};
use super::view::View;
use crate::QueryError;
use crate::figures::midnight;
use crate::scope::Known;
use crate::temp::set_names;

/// One thing Shiplog cannot see, listed row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// Deployments in the period whose sha no repository stores: no lead time.
    UnstoredShas,
    /// Services with deployments but no incident ever: no incident source?
    SilentServices,
    /// Incidents in the period attributed to no deployment (SPEC §3.4 rule d).
    UnattributedIncidents,
    /// Repositories with commits that no production deployment comes from.
    UndeployedRepos,
    /// Webhook deliveries in the period stored without any typed event.
    UnmappedDeliveries,
}

impl Check {
    pub const ALL: [Check; 5] = [
        Check::UnstoredShas,
        Check::SilentServices,
        Check::UnattributedIncidents,
        Check::UndeployedRepos,
        Check::UnmappedDeliveries,
    ];

    /// The name in URLs (`/data-health/{slug}`) and CSV file names.
    pub fn slug(self) -> &'static str {
        match self {
            Check::UnstoredShas => "unstored-shas",
            Check::SilentServices => "silent-services",
            Check::UnattributedIncidents => "unattributed-incidents",
            Check::UndeployedRepos => "undeployed-repos",
            Check::UnmappedDeliveries => "unmapped-deliveries",
        }
    }

    pub fn parse(raw: &str) -> Option<Check> {
        Self::ALL.into_iter().find(|c| c.slug() == raw)
    }

    pub fn title(self) -> &'static str {
        match self {
            Check::UnstoredShas => "Deployments of commits no repository stores",
            Check::SilentServices => "Services that never had an incident (whole history)",
            Check::UnattributedIncidents => "Incidents attributed to no deployment",
            Check::UndeployedRepos => {
                "Repositories no production deployment comes from (all services, whole history)"
            }
            Check::UnmappedDeliveries => "Webhook deliveries stored unmapped",
        }
    }

    /// What to do about it.
    pub fn advice(self) -> &'static str {
        match self {
            Check::UnstoredShas => {
                "These deployments give no lead time: Shiplog has no commit with their sha. \
                 Send the repository's pushes (the GitHub or GitLab push webhook) or import its \
                 history from a clone with `shiplog git import`."
            }
            Check::SilentServices => {
                "No incident was ever stored for these services (over their whole history, not \
                 only this period), so their change failure rate counts rollbacks only and they \
                 have no time to restore. Connect an incident source for them: PagerDuty with the \
                 service's `pagerduty_services` in `[services.NAME]`, Opsgenie with its \
                 `opsgenie_teams` or `opsgenie_tags`, Jira with its `jira_components` or \
                 `jira_projects`, GitHub issues labelled `incident`, GitLab incidents or CDEvents \
                 (see docs/configuration.md)."
            }
            Check::UnattributedIncidents => {
                "These incidents count for time to restore but fail no deployment (rule d). Have \
                 the incident name its deployment (`deployment_id`) or its commit (`sha`), or \
                 raise `attribution_window_hours` if deployments are further apart than the window."
            }
            Check::UndeployedRepos => {
                "Commits of these repositories are stored, but no successful production deployment \
                 of any service resolves to them (over all services and the whole history), so \
                 they give no lead time. Have the deployments name the repository (`repo`), or set \
                 the service's `repo` in `[services.NAME]` (see docs/configuration.md)."
            }
            Check::UnmappedDeliveries => {
                "These deliveries were stored but mapped to no event; the reason says why (the \
                 webhook's answer said it as `skipped`). Where the service map cannot place one, \
                 add what is missing to `[services.NAME]` (`repo`, `deploy_names`, `argocd_apps`, \
                 `pagerduty_services`; see docs/configuration.md), then run `shiplog replay`; an \
                 event type Shiplog does not use can be turned off in the sender's hook. Not \
                 filtered by service or team: an unmapped delivery has none."
            }
        }
    }

    /// Whether the view's period selects the rows (the others are over the whole
    /// history).
    pub fn period_bound(self) -> bool {
        !matches!(self, Check::SilentServices | Check::UndeployedRepos)
    }

    /// Whether a service or team filter narrows the rows.
    pub fn filtered(self) -> bool {
        !matches!(self, Check::UndeployedRepos | Check::UnmappedDeliveries)
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Check::UnstoredShas => &["finished_at", "service", "deployment_id", "sha"],
            Check::SilentServices => &["service", "deployments", "last_deployment_at"],
            Check::UnattributedIncidents => &[
                "incident_id",
                "title",
                "service",
                "opened_at",
                "resolved_at",
                "deployment_id",
                "sha",
                "why",
            ],
            Check::UndeployedRepos => &["repo", "commits", "latest_committed_at"],
            Check::UnmappedDeliveries => &[
                "received_at",
                "source",
                "event_type",
                "delivery_key",
                "reason",
            ],
        }
    }

    fn count_sql(self) -> &'static str {
        match self {
            Check::UnstoredShas => concat!(
                include_str!("../sql/health/unstored_shas.sql"),
                include_str!("../sql/health/count.sql")
            ),
            Check::SilentServices => concat!(
                include_str!("../sql/health/silent_services.sql"),
                include_str!("../sql/health/count.sql")
            ),
            Check::UnattributedIncidents => concat!(
                include_str!("../sql/health/unattributed_incidents.sql"),
                include_str!("../sql/health/count.sql")
            ),
            Check::UndeployedRepos => concat!(
                include_str!("../sql/health/undeployed_repos.sql"),
                include_str!("../sql/health/count.sql")
            ),
            Check::UnmappedDeliveries => concat!(
                include_str!("../sql/health/unmapped_deliveries.sql"),
                include_str!("../sql/health/count.sql")
            ),
        }
    }

    fn page_sql(self) -> &'static str {
        match self {
            Check::UnstoredShas => concat!(
                include_str!("../sql/health/unstored_shas.sql"),
                include_str!("../sql/health/unstored_shas_page.sql")
            ),
            Check::SilentServices => concat!(
                include_str!("../sql/health/silent_services.sql"),
                include_str!("../sql/health/silent_services_page.sql")
            ),
            Check::UnattributedIncidents => concat!(
                include_str!("../sql/health/unattributed_incidents.sql"),
                include_str!("../sql/health/unattributed_incidents_page.sql")
            ),
            Check::UndeployedRepos => concat!(
                include_str!("../sql/health/undeployed_repos.sql"),
                include_str!("../sql/health/undeployed_repos_page.sql")
            ),
            Check::UnmappedDeliveries => concat!(
                include_str!("../sql/health/unmapped_deliveries.sql"),
                include_str!("../sql/health/unmapped_deliveries_page.sql")
            ),
        }
    }

    /// The definition's parameters: the period, for the checks bound to it.
    fn params(self, view: &View) -> Vec<Value> {
        if self.period_bound() {
            vec![midnight(view.period.from()), midnight(view.period.to())]
        } else {
            Vec::new()
        }
    }

    /// What the page reads besides the definition's parameters, before its limit and
    /// offset: the attribution window, for why an incident is unattributed.
    fn page_params(self, settings: &Settings) -> Vec<Value> {
        match self {
            Check::UnattributedIncidents => {
                vec![Value::BigInt(i64::from(settings.attribution_window_hours))]
            }
            _ => Vec::new(),
        }
    }

    fn cells(self, row: &Row<'_>) -> duckdb::Result<Vec<Cell>> {
        let time = |i: usize| -> duckdb::Result<Cell> {
            Ok(Cell::Time(row.get::<_, Option<i64>>(i)?.map(from_micros)))
        };
        Ok(match self {
            Check::UnstoredShas => {
                let service: String = row.get(1)?;
                vec![
                    time(0)?,
                    Cell::Service(service.clone()),
                    Cell::Deployment {
                        id: row.get(2)?,
                        service: Some(service),
                    },
                    Cell::Sha(row.get(3)?),
                ]
            }
            Check::SilentServices => vec![
                Cell::Service(row.get(0)?),
                Cell::Count(row.get(1)?),
                time(2)?,
            ],
            // The deployment an incident names may not be stored: text, not a link.
            Check::UnattributedIncidents => vec![
                Cell::Text(row.get(0)?),
                Cell::Text(row.get(1)?),
                Cell::Service(row.get(2)?),
                time(3)?,
                time(4)?,
                Cell::Text(row.get(5)?),
                Cell::Sha(row.get(6)?),
                Cell::Text(row.get(7)?),
            ],
            Check::UndeployedRepos => {
                vec![Cell::Text(row.get(0)?), Cell::Count(row.get(1)?), time(2)?]
            }
            Check::UnmappedDeliveries => vec![
                time(0)?,
                Cell::Text(row.get(1)?),
                Cell::Text(row.get(2)?),
                Cell::Text(row.get(3)?),
                Cell::Text(row.get(4)?),
            ],
        })
    }
}

/// How many rows a check lists for the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub check: Check,
    pub count: i64,
}

/// The newest delivery of one source of the raw log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastDelivery {
    pub source: String,
    pub received_at: Timestamp,
    /// Deliveries of this source stored in all.
    pub deliveries: i64,
}

/// The data-health page's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataHealth {
    /// One per check, in [`Check::ALL`] order.
    pub findings: Vec<Finding>,
    /// One per raw-log source, newest first; not filtered by the view.
    pub last_delivery: Vec<LastDelivery>,
}

impl DataHealth {
    pub fn count(&self, check: Check) -> i64 {
        self.findings
            .iter()
            .find(|f| f.check == check)
            .map_or(0, |f| f.count)
    }
}

/// Every check's count for `view`, and the newest delivery of each source: one query
/// per check and one for the sources, whatever the number of services.
pub fn data_health(
    conn: &Connection,
    known: &Known,
    view: &View,
) -> Result<DataHealth, QueryError> {
    prepare(conn, known, view, &Check::ALL)?;
    let findings = Check::ALL
        .into_iter()
        .map(|check| {
            Ok(Finding {
                check,
                count: count(conn, view, check)?,
            })
        })
        .collect::<Result<Vec<_>, QueryError>>()?;
    let last_delivery = conn
        .prepare_cached(include_str!("../sql/health/last_delivery.sql"))?
        .query_map([], |row| {
            Ok(LastDelivery {
                source: row.get(0)?,
                received_at: from_micros(row.get(1)?),
                deliveries: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(DataHealth {
        findings,
        last_delivery,
    })
}

/// One page of `check`'s rows for `view`; `total` is the count [`data_health`] gives.
pub fn rows(
    conn: &Connection,
    settings: &Settings,
    known: &Known,
    view: &View,
    check: Check,
    paging: Paging,
) -> Result<Table, QueryError> {
    prepare(conn, known, view, &[check])?;
    let total = count(conn, view, check)?;
    let rows = read_page(
        conn,
        settings,
        view,
        check,
        paging.limit(),
        paging.offset(),
        Ok,
    )?;
    Ok(Table {
        columns: check.columns(),
        rows,
        total,
        paging,
    })
}

/// Every row of `check` for `view` as CSV, header first, streamed to `out` as DuckDB
/// produces them; returns how many rows were written.
pub fn write_csv(
    conn: &Connection,
    settings: &Settings,
    known: &Known,
    view: &View,
    check: Check,
    out: &mut impl Write,
) -> Result<u64, QueryError> {
    prepare(conn, known, view, &[check])?;
    let mut csv = CsvRows::start(check.columns(), out)?;
    read_page(conn, settings, view, check, i64::MAX, 0, |cells| {
        csv.push(cells)
    })?;
    csv.finish()
}

/// Fills the connection's temp table `scope` with the services the view's filter
/// selects, for the checks that it narrows.
fn prepare(
    conn: &Connection,
    known: &Known,
    view: &View,
    checks: &[Check],
) -> Result<(), QueryError> {
    if checks.iter().any(|c| c.filtered()) {
        let selection = known.select(&view.filter);
        set_names(conn, "scope", selection.services.iter().map(String::as_str))?;
    }
    Ok(())
}

fn count(conn: &Connection, view: &View, check: Check) -> Result<i64, QueryError> {
    Ok(conn
        .prepare_cached(check.count_sql())?
        .query_row(duckdb::params_from_iter(check.params(view)), |row| {
            row.get(0)
        })?)
}

/// Runs `check`'s page query, handing each row's cells to `each`.
fn read_page<T>(
    conn: &Connection,
    settings: &Settings,
    view: &View,
    check: Check,
    limit: i64,
    offset: i64,
    mut each: impl FnMut(Vec<Cell>) -> duckdb::Result<T>,
) -> Result<Vec<T>, QueryError> {
    let mut params = check.params(view);
    params.extend(check.page_params(settings));
    params.push(Value::BigInt(limit));
    params.push(Value::BigInt(offset));
    let mut stmt = conn.prepare_cached(check.page_sql())?;
    let mut result = stmt.query(duckdb::params_from_iter(&params))?;
    let mut out = Vec::new();
    while let Some(row) = result.next()? {
        out.push(each(check.cells(row)?)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
