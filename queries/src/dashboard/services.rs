//! The services table (`/services`) and a service's own page (`/services/{name}`):
//! its timeline of deployments and incidents, and what runs where.

use std::cmp::Ordering;

use duckdb::{Connection, params};
use shiplog_model::time::from_micros;
use shiplog_model::{BandTable, Level, Settings, Timestamp};

use super::metric::Metric;
use super::overview::{Overview, overview};
use super::view::View;
use crate::QueryError;
use crate::build_health::{builds_per_repo, repos_by_service};
use crate::figures::{Breakdown, Bucket, Figures, figures, midnight};
use crate::scope::{Filter, Known};

/// One row of the services table.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    pub service: String,
    pub team: Option<String>,
    pub figures: Figures,
    /// One per figure, in [`Metric::ALL`] order.
    pub values: Vec<MetricValue>,
    /// Builds of the service's repositories finishing in the period, and the failed.
    pub builds: i64,
    pub failed_builds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricValue {
    pub metric: Metric,
    pub value: Option<f64>,
    pub level: Option<Level>,
}

impl ServiceRow {
    pub fn value(&self, metric: Metric) -> Option<f64> {
        self.values
            .iter()
            .find(|v| v.metric == metric)
            .and_then(|v| v.value)
    }

    /// Successes ÷ builds; undefined without builds.
    pub fn build_success_rate(&self) -> Option<f64> {
        (self.builds > 0).then(|| (self.builds - self.failed_builds) as f64 / self.builds as f64)
    }
}

/// A column the services table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Service,
    Team,
    Metric(Metric),
    Builds,
}

impl SortKey {
    pub fn slug(self) -> &'static str {
        match self {
            SortKey::Service => "service",
            SortKey::Team => "team",
            SortKey::Metric(m) => m.slug(),
            SortKey::Builds => "builds",
        }
    }

    pub fn parse(raw: &str) -> Option<SortKey> {
        match raw {
            "service" => Some(SortKey::Service),
            "team" => Some(SortKey::Team),
            "builds" => Some(SortKey::Builds),
            other => Metric::parse(other).map(SortKey::Metric),
        }
    }
}

/// Sorts by `key`, ascending unless `descending`; undefined values go last either
/// way, and ties keep the service order.
pub fn sort_rows(rows: &mut [ServiceRow], key: SortKey, descending: bool) {
    let ordered = |o: Ordering| if descending { o.reverse() } else { o };
    let numbers = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => ordered(a.total_cmp(&b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    rows.sort_by(|a, b| {
        let by = match key {
            SortKey::Service => ordered(a.service.cmp(&b.service)),
            SortKey::Team => match (&a.team, &b.team) {
                (Some(x), Some(y)) => ordered(x.cmp(y)),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            SortKey::Metric(m) => numbers(a.value(m), b.value(m)),
            SortKey::Builds => numbers(a.build_success_rate(), b.build_success_rate()),
        };
        by.then_with(|| a.service.cmp(&b.service))
    });
}

/// Every selected service's figures for the period, in code-point order: one figure
/// query for all services, one for their repositories and one for the builds.
pub fn services_table(
    conn: &Connection,
    settings: &Settings,
    known: &Known,
    view: &View,
) -> Result<Vec<ServiceRow>, QueryError> {
    let selection = known.select(&view.filter);
    let rows = figures(
        conn,
        &selection,
        &[Bucket::whole(view.period)],
        Breakdown::PerService,
    )?;
    let repos = repos_by_service(conn, settings, &selection.services)?;
    let builds = builds_per_repo(conn, view.period)?;
    let bands = BandTable::of(view.bands);
    Ok(rows
        .into_iter()
        .filter_map(|f| {
            let service = f.service.clone()?;
            let (built, failed) = repos
                .get(&service)
                .into_iter()
                .flatten()
                .filter_map(|r| builds.get(r))
                .fold((0, 0), |(b, x), (nb, nx)| (b + nb, x + nx));
            Some(ServiceRow {
                team: known.team_of(&service).map(str::to_owned),
                values: Metric::ALL
                    .into_iter()
                    .map(|metric| {
                        let value = metric.value(&f, view.period.days());
                        MetricValue {
                            metric,
                            value,
                            level: metric.level(&bands, value),
                        }
                    })
                    .collect(),
                service,
                figures: f,
                builds: built,
                failed_builds: failed,
            })
        })
        .collect())
}

/// A service's own page.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePage {
    pub service: String,
    pub team: Option<String>,
    pub overview: Overview,
    /// Every deployment finishing in the period, oldest first.
    pub deployments: Vec<DeploymentMark>,
    /// Incidents open at any time in the period, oldest first.
    pub incidents: Vec<IncidentSpan>,
    /// Each environment's newest successful deployment, newest first.
    pub running: Vec<Running>,
    /// Production against the newest pre-production deployment.
    pub pending: Option<Pending>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentMark {
    pub id: String,
    pub environment: Option<String>,
    pub sha: String,
    pub status: Option<String>,
    pub finished_at: Timestamp,
    /// Successful and in production: it counts in the figures.
    pub counts: bool,
    /// In a production environment (`production_environments`).
    pub production: bool,
    /// `first`, `change`, `rollback` or `redeploy` (SPEC §3), for those that count.
    pub kind: Option<String>,
    pub change_set_size: Option<i64>,
    /// The rollback that failed this deployment.
    pub rolled_back_by: Option<String>,
    pub failed: bool,
    pub failure_cause: Option<String>,
    pub rework: bool,
    pub recovered_at: Option<Timestamp>,
}

impl DeploymentMark {
    /// How the timeline colours it: a failed attempt, a failed deployment, a
    /// rollback, a redeploy, a release reaching another region (counted once, with
    /// `multi_region_window_hours`), a pre-production deployment, or a healthy one.
    pub fn outcome(&self) -> &'static str {
        if !self.counts {
            return match (
                shiplog_model::succeeded(self.status.as_deref()),
                self.production,
            ) {
                (false, _) => "attempt",
                (true, true) => "region",
                (true, false) => "preproduction",
            };
        }
        match (self.failed, self.kind.as_deref()) {
            (true, _) => "failed",
            (false, Some("rollback")) => "rollback",
            (false, Some("redeploy")) => "redeploy",
            _ => "ok",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentSpan {
    pub id: String,
    pub title: Option<String>,
    pub severity: Option<String>,
    pub opened_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub deployment_id: Option<String>,
    /// `a`, `b` or `c` (SPEC §3.4); `None` when unattributed.
    pub rule: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub environment: Option<String>,
    pub production: bool,
    pub deployment_id: String,
    pub sha: String,
    pub since: Timestamp,
    pub repo: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub production: Running,
    pub preproduction: Running,
    /// Commits reachable from the pre-production sha and not from production's, on
    /// the stored graph; `None` when either sha is not stored in the repository.
    pub commits_behind: Option<usize>,
}

/// The page of `service`, or `None` when no deployment or incident names it.
pub fn service_page(
    conn: &Connection,
    settings: &Settings,
    known: &Known,
    view: &View,
    service: &str,
) -> Result<Option<ServicePage>, QueryError> {
    let Some(this) = known.get(service) else {
        return Ok(None);
    };
    let own = View {
        filter: Filter {
            service: Some(service.to_owned()),
            team: None,
        },
        ..view.clone()
    };
    let (from, to) = (midnight(view.period.from()), midnight(view.period.to()));
    let deployments = conn
        .prepare_cached(include_str!("../sql/service_timeline.sql"))?
        .query_map(params![service, from, to], |row| {
            let environment: Option<String> = row.get(1)?;
            let status: Option<String> = row.get(3)?;
            let kind: Option<String> = row.get(5)?;
            Ok(DeploymentMark {
                id: row.get(0)?,
                counts: kind.is_some(),
                production: settings.is_production(environment.as_deref()),
                sha: row.get(2)?,
                finished_at: from_micros(row.get(4)?),
                kind,
                change_set_size: row.get(6)?,
                rolled_back_by: row.get(7)?,
                failed: row.get::<_, Option<bool>>(8)?.unwrap_or(false),
                failure_cause: row.get(9)?,
                rework: row.get::<_, Option<bool>>(10)?.unwrap_or(false),
                recovered_at: row.get::<_, Option<i64>>(11)?.map(from_micros),
                environment,
                status,
            })
        })?
        .collect::<Result<_, _>>()?;
    let incidents = conn
        .prepare_cached(include_str!("../sql/service_incidents.sql"))?
        .query_map(params![service, from, to], |row| {
            Ok(IncidentSpan {
                id: row.get(0)?,
                title: row.get(1)?,
                severity: row.get(2)?,
                opened_at: from_micros(row.get(3)?),
                resolved_at: row.get::<_, Option<i64>>(4)?.map(from_micros),
                deployment_id: row.get(5)?,
                rule: row.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut running: Vec<Running> = Vec::new();
    let mut ahead: Vec<Option<i64>> = Vec::new();
    let mut stmt = conn.prepare_cached(include_str!("../sql/service_running.sql"))?;
    let mut rows = stmt.query(params![service])?;
    while let Some(row) = rows.next()? {
        running.push(Running {
            environment: row.get(0)?,
            production: row.get(1)?,
            deployment_id: row.get(2)?,
            sha: row.get(3)?,
            since: from_micros(row.get(4)?),
            repo: row.get(5)?,
        });
        ahead.push(row.get(6)?);
    }
    let newest = |production: bool| running.iter().position(|r| r.production == production);
    let pending = match (newest(true), newest(false)) {
        (Some(production), Some(preproduction)) => Some(Pending {
            production: running[production].clone(),
            preproduction: running[preproduction].clone(),
            commits_behind: ahead[preproduction].map(|n| n as usize),
        }),
        _ => None,
    };
    Ok(Some(ServicePage {
        service: service.to_owned(),
        team: this.team.clone(),
        overview: overview(conn, settings, known, &own)?,
        deployments,
        incidents,
        running,
        pending,
    }))
}
