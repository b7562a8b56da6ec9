//! The six DORA figures, and aborted rollouts beyond them, as one enum, so every page
//! names, values and judges them the same way: the slug in URLs, the title, the value
//! of a bucket's figures, its sample size, its level, and which direction is better.

use shiplog_model::goals::Goal;
use shiplog_model::{BandTable, Banded, Level};

use crate::figures::Figures;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    DeploymentFrequency,
    LeadTime,
    ChangeFailureRate,
    FailedDeploymentRecovery,
    TimeToRestore,
    ReworkRate,
    /// Beyond DORA: the share of production rollouts aborted before they fully
    /// reached production (canary analysis failed, or someone aborted it).
    AbortedRollouts,
}

/// How DORA 2024 groups the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Throughput,
    Instability,
    /// Time to restore, kept beside the two groups.
    Restore,
    /// Beyond DORA: how progressive releases (canary, blue-green) went.
    ProgressiveDelivery,
}

/// What a figure's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    PerDay,
    Hours,
    /// A fraction 0–1, shown as a percentage; changes are in percentage points.
    Rate,
}

/// Changes against the previous period need this many samples on both sides for a
/// median or a rate; fewer give "—" with the reason.
pub const MIN_SAMPLES: i64 = 5;

impl Metric {
    /// The goal a team can set on this figure (`model::goals`); none on aborted
    /// rollouts, where an abort is the canary doing its job.
    pub fn goal(self) -> Option<Goal> {
        Some(match self {
            Metric::DeploymentFrequency => Goal::DeploymentsPerWeek,
            Metric::LeadTime => Goal::LeadTimeMedian,
            Metric::ChangeFailureRate => Goal::ChangeFailureRate,
            Metric::FailedDeploymentRecovery => Goal::RecoveryMedian,
            Metric::TimeToRestore => Goal::RestoreMedian,
            Metric::ReworkRate => Goal::ReworkRate,
            Metric::AbortedRollouts => return None,
        })
    }

    /// Every figure a page can show: the six DORA figures, then aborted rollouts.
    pub const EVERY: [Metric; 7] = {
        let mut every = [Metric::AbortedRollouts; 7];
        let mut i = 0;
        while i < Metric::ALL.len() {
            every[i] = Metric::ALL[i];
            i += 1;
        }
        every
    };

    /// The six DORA figures.
    pub const ALL: [Metric; 6] = [
        Metric::DeploymentFrequency,
        Metric::LeadTime,
        Metric::FailedDeploymentRecovery,
        Metric::ChangeFailureRate,
        Metric::ReworkRate,
        Metric::TimeToRestore,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Metric::DeploymentFrequency => "deployment-frequency",
            Metric::LeadTime => "lead-time",
            Metric::ChangeFailureRate => "change-failure-rate",
            Metric::FailedDeploymentRecovery => "failed-deployment-recovery",
            Metric::TimeToRestore => "time-to-restore",
            Metric::ReworkRate => "rework-rate",
            Metric::AbortedRollouts => "aborted-rollouts",
        }
    }

    pub fn parse(slug: &str) -> Option<Metric> {
        Self::EVERY.into_iter().find(|m| m.slug() == slug)
    }

    pub fn title(self) -> &'static str {
        match self {
            Metric::DeploymentFrequency => "Deployment frequency",
            Metric::LeadTime => "Lead time for changes",
            Metric::ChangeFailureRate => "Change failure rate",
            Metric::FailedDeploymentRecovery => "Failed deployment recovery time",
            Metric::TimeToRestore => "Time to restore service",
            Metric::ReworkRate => "Deployment rework rate",
            Metric::AbortedRollouts => "Aborted rollouts",
        }
    }

    pub fn group(self) -> Group {
        match self {
            Metric::DeploymentFrequency | Metric::LeadTime | Metric::FailedDeploymentRecovery => {
                Group::Throughput
            }
            Metric::ChangeFailureRate | Metric::ReworkRate => Group::Instability,
            Metric::TimeToRestore => Group::Restore,
            Metric::AbortedRollouts => Group::ProgressiveDelivery,
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::DeploymentFrequency => Unit::PerDay,
            Metric::LeadTime | Metric::FailedDeploymentRecovery | Metric::TimeToRestore => {
                Unit::Hours
            }
            Metric::ChangeFailureRate | Metric::ReworkRate | Metric::AbortedRollouts => Unit::Rate,
        }
    }

    /// Higher deployment frequency is better; for every other figure lower is.
    pub fn higher_is_better(self) -> bool {
        self == Metric::DeploymentFrequency
    }

    /// The band table row that judges this figure; rework rate and aborted rollouts
    /// have none.
    pub fn banded(self) -> Option<Banded> {
        match self {
            Metric::DeploymentFrequency => Some(Banded::DeploysPerDay),
            Metric::LeadTime => Some(Banded::LeadTimeHours),
            Metric::ChangeFailureRate => Some(Banded::ChangeFailureRate),
            Metric::FailedDeploymentRecovery | Metric::TimeToRestore => Some(Banded::RecoveryHours),
            Metric::ReworkRate | Metric::AbortedRollouts => None,
        }
    }

    /// Whether the figure is a median of durations (it has a distribution).
    pub fn is_duration(self) -> bool {
        self.unit() == Unit::Hours
    }

    /// The figure's value for `f`, a bucket of `days` days; `None` when undefined.
    pub fn value(self, f: &Figures, days: i64) -> Option<f64> {
        match self {
            Metric::DeploymentFrequency => Some(f.deployments as f64 / days.max(1) as f64),
            Metric::LeadTime => f.lead_time_median_hours,
            Metric::ChangeFailureRate => f.change_failure_rate(),
            Metric::FailedDeploymentRecovery => f.recovery_median_hours,
            Metric::TimeToRestore => f.restore_median_hours,
            Metric::ReworkRate => f.rework_rate(),
            Metric::AbortedRollouts => f.aborted_rollout_rate(),
        }
    }

    /// How many samples the value is computed from: deployments, lead-time samples,
    /// recovered deployments, resolved incidents or rollouts.
    pub fn samples(self, f: &Figures) -> i64 {
        match self {
            Metric::DeploymentFrequency | Metric::ChangeFailureRate | Metric::ReworkRate => {
                f.deployments
            }
            Metric::LeadTime => f.lead_time_samples,
            Metric::FailedDeploymentRecovery => f.recovered,
            Metric::TimeToRestore => f.resolved,
            Metric::AbortedRollouts => f.deployments + f.aborted,
        }
    }

    /// What the samples are, for "median of 313 commits" and the like.
    pub fn sample_noun(self) -> &'static str {
        match self {
            Metric::DeploymentFrequency | Metric::ChangeFailureRate | Metric::ReworkRate => {
                "deployments"
            }
            Metric::LeadTime => "commits",
            Metric::FailedDeploymentRecovery => "recovered deployments",
            Metric::TimeToRestore => "resolved incidents",
            Metric::AbortedRollouts => "rollouts",
        }
    }

    /// `n` samples with their noun: "1 commit", "6 deployments", "0 resolved incidents".
    pub fn samples_counted(self, n: i64) -> String {
        let noun = self.sample_noun();
        match n {
            1 => format!("1 {}", noun.strip_suffix('s').unwrap_or(noun)),
            n => format!("{n} {noun}"),
        }
    }

    pub fn level(self, bands: &BandTable, value: Option<f64>) -> Option<Level> {
        Some(bands.level(self.banded()?, value?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_are_distinct() {
        for m in Metric::EVERY {
            assert_eq!(Metric::parse(m.slug()), Some(m));
        }
        let mut slugs: Vec<&str> = Metric::EVERY.iter().map(|m| m.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), 7);
        assert!(Metric::ALL.iter().all(|m| m.goal().is_some()));
        assert_eq!(Metric::parse("lead_time"), None);
    }

    #[test]
    fn one_sample_is_named_in_the_singular() {
        let m = Metric::FailedDeploymentRecovery;
        assert_eq!(m.samples_counted(1), "1 recovered deployment");
        assert_eq!(m.samples_counted(0), "0 recovered deployments");
        assert_eq!(Metric::LeadTime.samples_counted(313), "313 commits");
        assert_eq!(
            Metric::TimeToRestore.samples_counted(1),
            "1 resolved incident"
        );
    }
}
