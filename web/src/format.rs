//! How the dashboard writes numbers: hours (days past 48 h), percentages, rates per
//! day, and changes. One place, so a tile, a table cell and a chart's `<title>` say
//! the same thing.

use shiplog_model::goals::Goal;
use shiplog_queries::dashboard::metric::Unit;
use shiplog_queries::dashboard::overview::Change;

/// What the dashboard shows for an undefined figure.
pub const NONE: &str = "—";

pub fn hours(h: f64) -> String {
    if h.abs() < 48.0 {
        format!("{h:.1} h")
    } else {
        format!("{:.1} d", h / 24.0)
    }
}

pub fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

pub fn per_day(n: f64) -> String {
    format!("{n:.2} / day")
}

pub fn minutes(m: f64) -> String {
    format!("{m:.1} min")
}

/// A goal's target in words: a floor of deployments, else a ceiling.
pub fn goal_target(goal: Goal, target: f64) -> String {
    match goal {
        Goal::DeploymentsPerWeek => format!("≥ {target} / week"),
        Goal::ChangeFailureRate | Goal::ReworkRate => format!("≤ {}", percent(target)),
        Goal::LeadTimeMedian | Goal::RecoveryMedian | Goal::RestoreMedian => {
            format!("≤ {}", hours(target))
        }
    }
}

/// A value of `unit`, for tiles and tables.
pub fn value(unit: Unit, v: Option<f64>) -> String {
    v.map_or_else(
        || NONE.to_owned(),
        |v| match unit {
            Unit::PerDay => per_day(v),
            Unit::Hours => hours(v),
            Unit::Rate => percent(v),
        },
    )
}

/// The chart formatter of `unit` (charts take plain `fn` pointers).
pub fn of_unit(unit: Unit) -> fn(f64) -> String {
    match unit {
        Unit::PerDay => |v| format!("{v:.2}"),
        Unit::Hours => hours,
        Unit::Rate => percent,
    }
}

pub fn optional(v: Option<f64>, f: fn(f64) -> String) -> String {
    v.map_or_else(|| NONE.to_owned(), f)
}

/// A change against the previous period as an arrow and an amount, with the CSS
/// class that colours it (`better`, `worse`, `same`) and, when unavailable, the
/// reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeText {
    pub text: String,
    pub class: &'static str,
    pub reason: Option<String>,
}

pub fn change(c: &Change) -> ChangeText {
    match c {
        Change::Unavailable(reason) => ChangeText {
            text: NONE.to_owned(),
            class: "same",
            reason: Some(reason.clone()),
        },
        Change::Delta {
            amount,
            points,
            better,
        } => {
            let arrow = match amount.total_cmp(&0.0) {
                std::cmp::Ordering::Greater => "▲",
                std::cmp::Ordering::Less => "▼",
                std::cmp::Ordering::Equal => "=",
            };
            let unit = if *points { " pts" } else { " %" };
            ChangeText {
                text: format!("{arrow} {:.1}{unit}", amount.abs()),
                class: match better {
                    Some(true) => "better",
                    Some(false) => "worse",
                    None => "same",
                },
                reason: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_switch_to_days_past_two_days() {
        assert_eq!(hours(2.45), "2.5 h");
        assert_eq!(hours(75.74), "3.2 d");
        assert_eq!(value(Unit::Rate, Some(0.2133)), "21.3 %");
        assert_eq!(value(Unit::PerDay, Some(1.786)), "1.79 / day");
        assert_eq!(value(Unit::Hours, None), NONE);
    }

    #[test]
    fn changes_show_direction_amount_and_colour() {
        let worse = change(&Change::Delta {
            amount: -12.34,
            points: false,
            better: Some(false),
        });
        assert_eq!((worse.text.as_str(), worse.class), ("▼ 12.3 %", "worse"));
        let points = change(&Change::Delta {
            amount: 2.0,
            points: true,
            better: Some(false),
        });
        assert_eq!(points.text, "▲ 2.0 pts");
        let none = change(&Change::Unavailable("too few".into()));
        assert_eq!(
            (none.text.as_str(), none.reason.as_deref()),
            (NONE, Some("too few"))
        );
    }
}
