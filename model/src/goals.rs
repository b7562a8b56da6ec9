//! The targets a team sets itself (`lead_time_median_hours = 24`,
//! `change_failure_rate = 0.10`), and whether a period met them. DORA warns against
//! ranking teams by these metrics: a goal compares a team with its own target, never
//! with another team.

use std::collections::BTreeMap;

/// One figure a goal can be set on, with its config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Goal {
    DeploymentsPerWeek,
    LeadTimeMedian,
    ChangeFailureRate,
    RecoveryMedian,
    RestoreMedian,
    ReworkRate,
}

impl Goal {
    pub const ALL: [Goal; 6] = [
        Goal::DeploymentsPerWeek,
        Goal::LeadTimeMedian,
        Goal::ChangeFailureRate,
        Goal::RecoveryMedian,
        Goal::RestoreMedian,
        Goal::ReworkRate,
    ];

    /// The key in the config's `goals` tables.
    pub fn key(self) -> &'static str {
        match self {
            Goal::DeploymentsPerWeek => "deployments_per_week",
            Goal::LeadTimeMedian => "lead_time_median_hours",
            Goal::ChangeFailureRate => "change_failure_rate",
            Goal::RecoveryMedian => "recovery_median_hours",
            Goal::RestoreMedian => "restore_median_hours",
            Goal::ReworkRate => "rework_rate",
        }
    }

    pub fn parse(key: &str) -> Option<Goal> {
        Goal::ALL.into_iter().find(|g| g.key() == key)
    }

    /// Deployments are a floor (at least so many); every other goal is a ceiling.
    pub fn higher_is_better(self) -> bool {
        self == Goal::DeploymentsPerWeek
    }

    /// Whether `value` can be a target of this goal: finite and not negative, a rate
    /// at most 1, a deployment rate above 0. The refusal says what would be.
    pub fn check_target(self, value: f64) -> Result<f64, String> {
        let rate = matches!(self, Goal::ChangeFailureRate | Goal::ReworkRate);
        if !value.is_finite() || value < 0.0 {
            Err(format!("must be a number of at least 0, not {value}"))
        } else if rate && value > 1.0 {
            Err(format!(
                "is a share between 0 and 1 (0.10 is 10 %), not {value}"
            ))
        } else if self == Goal::DeploymentsPerWeek && value == 0.0 {
            Err("must be above 0: a floor of 0 deployments is always met".into())
        } else {
            Ok(value)
        }
    }
}

/// The targets of one team or service; a goal not set is not judged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Goals(BTreeMap<Goal, f64>);

impl Goals {
    /// Sets `goal`'s target, checked by [`Goal::check_target`].
    pub fn set(&mut self, goal: Goal, target: f64) -> Result<(), String> {
        self.0.insert(goal, goal.check_target(target)?);
        Ok(())
    }

    pub fn get(&self, goal: Goal) -> Option<f64> {
        self.0.get(&goal).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each goal set, in [`Goal::ALL`]'s order, judged on the period's figure that
    /// `actual` gives (`None`: the period has no such figure).
    pub fn check(&self, actual: impl Fn(Goal) -> Option<f64>) -> Vec<GoalCheck> {
        self.0
            .iter()
            .map(|(&goal, &target)| GoalCheck {
                goal,
                target,
                actual: actual(goal),
            })
            .collect()
    }

    /// These goals, with `other`'s where these set none.
    fn or(&self, other: &Goals) -> Goals {
        let mut merged = other.0.clone();
        merged.extend(self.0.iter().map(|(&g, &t)| (g, t)));
        Goals(merged)
    }
}

/// A goal judged on one period's figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoalCheck {
    pub goal: Goal,
    pub target: f64,
    pub actual: Option<f64>,
}

impl GoalCheck {
    /// Met, missed, or `None` when the period has no figure to judge (no deployments,
    /// no recovered failure).
    pub fn met(&self) -> Option<bool> {
        let actual = self.actual?;
        Some(if self.goal.higher_is_better() {
            actual >= self.target
        } else {
            actual <= self.target
        })
    }
}

/// The goals of every team and service the config sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoalBook {
    pub teams: BTreeMap<String, Goals>,
    pub services: BTreeMap<String, Goals>,
}

impl GoalBook {
    pub fn is_empty(&self) -> bool {
        self.teams.is_empty() && self.services.is_empty()
    }

    pub fn team(&self, team: &str) -> Option<&Goals> {
        self.teams.get(team)
    }

    /// A service's goals: its own, and its team's for every goal it does not set.
    pub fn service(&self, service: &str, team: Option<&str>) -> Option<Goals> {
        let own = self.services.get(service);
        let team = team.and_then(|t| self.teams.get(t));
        match (own, team) {
            (None, None) => None,
            (Some(own), None) => Some(own.clone()),
            (None, Some(team)) => Some(team.clone()),
            (Some(own), Some(team)) => Some(own.or(team)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goals(pairs: &[(Goal, f64)]) -> Goals {
        let mut goals = Goals::default();
        for &(goal, target) in pairs {
            goals.set(goal, target).unwrap();
        }
        goals
    }

    #[test]
    fn a_ceiling_is_met_at_or_below_and_a_floor_at_or_above() {
        let g = goals(&[
            (Goal::LeadTimeMedian, 24.0),
            (Goal::DeploymentsPerWeek, 5.0),
        ]);
        let checks = g.check(|goal| match goal {
            Goal::LeadTimeMedian => Some(24.0),
            Goal::DeploymentsPerWeek => Some(4.9),
            _ => None,
        });
        let met: Vec<_> = checks.iter().map(|c| (c.goal, c.met())).collect();
        assert_eq!(
            met,
            [
                (Goal::DeploymentsPerWeek, Some(false)),
                (Goal::LeadTimeMedian, Some(true)),
            ]
        );
    }

    #[test]
    fn a_goal_without_a_figure_is_neither_met_nor_missed() {
        let g = goals(&[(Goal::RecoveryMedian, 4.0)]);
        assert_eq!(g.check(|_| None)[0].met(), None);
    }

    #[test]
    fn targets_outside_what_the_figure_can_be_are_refused() {
        assert!(Goal::ChangeFailureRate.check_target(1.5).is_err());
        assert!(Goal::ChangeFailureRate.check_target(0.15).is_ok());
        assert!(Goal::LeadTimeMedian.check_target(-1.0).is_err());
        assert!(Goal::LeadTimeMedian.check_target(f64::NAN).is_err());
        assert!(Goal::DeploymentsPerWeek.check_target(0.0).is_err());
        assert!(Goal::LeadTimeMedian.check_target(0.0).is_ok());
    }

    #[test]
    fn a_service_inherits_each_goal_it_does_not_set_from_its_team() {
        let mut book = GoalBook::default();
        book.teams.insert(
            "payments".into(),
            goals(&[(Goal::LeadTimeMedian, 24.0), (Goal::ChangeFailureRate, 0.1)]),
        );
        book.services
            .insert("checkout".into(), goals(&[(Goal::LeadTimeMedian, 8.0)]));
        let g = book.service("checkout", Some("payments")).unwrap();
        assert_eq!(g.get(Goal::LeadTimeMedian), Some(8.0));
        assert_eq!(g.get(Goal::ChangeFailureRate), Some(0.1));
        assert_eq!(book.service("other", None), None);
        assert_eq!(
            book.service("other", Some("payments"))
                .unwrap()
                .get(Goal::LeadTimeMedian),
            Some(24.0)
        );
    }

    #[test]
    fn every_key_parses_back_to_its_goal() {
        for goal in Goal::ALL {
            assert_eq!(Goal::parse(goal.key()), Some(goal));
        }
        assert_eq!(Goal::parse("lead_time"), None);
    }
}
