//! The metrics JSON of SPEC §5 for one period, with DORA performance levels and the
//! build health of SPEC §4.1.

use duckdb::Connection;
use serde::Serialize;
use shiplog_model::{BandTable, Level, Period, Settings};

use crate::QueryError;
use crate::build_health::{BuildFigures, BuildScope, build_figures};
use crate::figures::{Breakdown, Bucket, Figures, figures};
use crate::scope::{Filter, select};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Metrics {
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
    pub service: Option<String>,
    pub team: Option<String>,
    pub deployment_frequency: DeploymentFrequency,
    pub lead_time: LeadTime,
    pub change_failure_rate: ChangeFailureRate,
    pub failed_deployment_recovery: Recovery,
    pub time_to_restore: TimeToRestore,
    pub rework_rate: ReworkRate,
    pub aborted_rollouts: AbortedRollouts,
    pub build_health: BuildHealth,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeploymentFrequency {
    pub deployments: i64,
    pub deploy_days: i64,
    pub per_day: f64,
    pub level: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeadTime {
    pub samples: i64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    pub level: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChangeFailureRate {
    pub deployments: i64,
    pub failed: i64,
    pub rate: Option<f64>,
    pub level: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Recovery {
    pub failed: i64,
    pub recovered: i64,
    pub median_hours: Option<f64>,
    pub level: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimeToRestore {
    pub incidents: i64,
    pub resolved: i64,
    pub median_hours: Option<f64>,
    pub level: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReworkRate {
    pub deployments: i64,
    pub rework: i64,
    pub rate: Option<f64>,
}

/// Beyond DORA, for teams that release by canary or blue-green: of the releases that
/// went out to production (the deployments, and the rollouts aborted on the way), the
/// share stopped before they fully reached it. No level: a canary caught by its
/// analysis is the practice working, not a failure DORA bands judge.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AbortedRollouts {
    /// Deployments + aborted.
    pub rollouts: i64,
    pub aborted: i64,
    pub rate: Option<f64>,
}

/// SPEC §4.1, beyond DORA: no level, since DORA gives no bands for builds.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BuildHealth {
    pub builds: i64,
    pub failed: i64,
    pub success_rate: Option<f64>,
    pub duration_median_minutes: Option<f64>,
    pub duration_p90_minutes: Option<f64>,
    pub red_spells: i64,
    pub time_to_green_median_hours: Option<f64>,
    pub red_hours_share: Option<f64>,
}

/// Rounds for display as SPEC §5's example does, from the exact binary value.
fn round(value: f64, places: usize) -> f64 {
    format!("{value:.places$}")
        .parse()
        .expect("a formatted float parses")
}

fn rounded(value: Option<f64>, places: usize) -> Option<f64> {
    value.map(|v| round(v, places))
}

fn level(value: Option<f64>, judge: impl Fn(f64) -> Level) -> Option<&'static str> {
    value.map(|v| judge(v).as_str())
}

/// The metrics of `period` over the services `filter` selects.
pub fn metrics(
    conn: &Connection,
    settings: &Settings,
    period: Period,
    filter: &Filter,
) -> Result<Metrics, QueryError> {
    let services = select(conn, settings, filter)?;
    let rows = figures(
        conn,
        &services,
        &[Bucket::whole(period)],
        Breakdown::TotalOnly,
    )?;
    let total = rows
        .into_iter()
        .find(|f| f.service.is_none())
        .expect("figures.sql always has a total row");
    let builds = build_figures(
        conn,
        settings,
        period,
        BuildScope::of(filter, &services.services),
    )?;
    Ok(from_figures(
        &total,
        &builds,
        period,
        filter,
        &BandTable::of(settings.bands),
    ))
}

/// Levels are judged on unrounded values (SPEC §8); the JSON carries rounded ones.
pub fn from_figures(
    f: &Figures,
    builds: &BuildFigures,
    period: Period,
    filter: &Filter,
    bands: &BandTable,
) -> Metrics {
    let per_day = f.deployments as f64 / period.days() as f64;
    Metrics {
        from: period.from().to_string(),
        to: period.to().to_string(),
        service: filter.service.clone(),
        team: filter.team.clone(),
        deployment_frequency: DeploymentFrequency {
            deployments: f.deployments,
            deploy_days: f.deploy_days,
            per_day: round(per_day, 3),
            level: Some(bands.deploys_per_day(per_day).as_str()),
        },
        lead_time: LeadTime {
            samples: f.lead_time_samples,
            median_hours: rounded(f.lead_time_median_hours, 2),
            p90_hours: rounded(f.lead_time_p90_hours, 2),
            level: level(f.lead_time_median_hours, |v| bands.lead_time(v)),
        },
        change_failure_rate: ChangeFailureRate {
            deployments: f.deployments,
            failed: f.failed,
            rate: rounded(f.change_failure_rate(), 4),
            level: level(f.change_failure_rate(), |v| bands.change_failure_rate(v)),
        },
        failed_deployment_recovery: Recovery {
            failed: f.failed,
            recovered: f.recovered,
            median_hours: rounded(f.recovery_median_hours, 2),
            level: level(f.recovery_median_hours, |v| bands.recovery(v)),
        },
        time_to_restore: TimeToRestore {
            incidents: f.incidents,
            resolved: f.resolved,
            median_hours: rounded(f.restore_median_hours, 2),
            level: level(f.restore_median_hours, |v| bands.recovery(v)),
        },
        rework_rate: ReworkRate {
            deployments: f.deployments,
            rework: f.rework,
            rate: rounded(f.rework_rate(), 4),
        },
        aborted_rollouts: AbortedRollouts {
            rollouts: f.deployments + f.aborted,
            aborted: f.aborted,
            rate: rounded(f.aborted_rollout_rate(), 4),
        },
        build_health: build_health(builds),
    }
}

/// Minutes and hours to 2 decimals, shares to 4, as the DORA figures round.
fn build_health(b: &BuildFigures) -> BuildHealth {
    BuildHealth {
        builds: b.builds,
        failed: b.failed,
        success_rate: rounded(b.success_rate(), 4),
        duration_median_minutes: rounded(b.duration_median_minutes, 2),
        duration_p90_minutes: rounded(b.duration_p90_minutes, 2),
        red_spells: b.red_spells,
        time_to_green_median_hours: rounded(b.time_to_green_median_hours, 2),
        red_hours_share: rounded(b.red_hours_share(), 4),
    }
}
