//! The overview's tiles as the templates show them, shared by `/` and a service's
//! page: value, level, what it is made of, the change, a sparkline and the links to
//! the metric's page and the rows behind it; and the notices for empty states.

use shiplog_model::goals::Goals;
use shiplog_queries::BuildFigures;
use shiplog_queries::dashboard::Metric;
use shiplog_queries::dashboard::metric::{Group, MIN_SAMPLES};
use shiplog_queries::dashboard::overview::{Coverage, Overview, Tile};
use shiplog_queries::figures::Figures;

use super::Links;
use crate::charts::{Svg, sparkline};
use crate::format::{self, ChangeText};

#[derive(Debug, Clone)]
pub struct TileView {
    pub slug: &'static str,
    pub title: &'static str,
    pub value: String,
    /// The unrounded value for machines (`data-value`), empty when undefined.
    pub raw: String,
    pub samples: i64,
    pub level: Option<&'static str>,
    pub basis: String,
    pub change: ChangeText,
    pub note: Option<String>,
    pub sparkline: Svg,
    pub metric_href: String,
    pub explain_href: String,
    /// The team's (or service's) own goal for this figure, met or missed.
    pub goal: Option<GoalView>,
}

/// A goal beside a figure: `met`, `missed` or `unknown` (no figure to judge), and
/// the words, e.g. "goal ≤ 24.0 h: met".
#[derive(Debug, Clone)]
pub struct GoalView {
    pub class: &'static str,
    pub text: String,
}

/// The goal `goals` set on `metric`, judged on the period's `figures` (`days` long).
pub fn goal_view(
    metric: Metric,
    figures: &Figures,
    goals: Option<&Goals>,
    days: i64,
) -> Option<GoalView> {
    let goal = metric.goal()?;
    let target = goals?.get(goal)?;
    let check = shiplog_model::goals::GoalCheck {
        goal,
        target,
        actual: figures.goal_actual(goal, days),
    };
    let (class, word) = match check.met() {
        Some(true) => ("met", "met"),
        Some(false) => ("missed", "missed"),
        None => ("unknown", "no figure to judge"),
    };
    Some(GoalView {
        class,
        text: format!("goal {}: {word}", format::goal_target(goal, target)),
    })
}

/// The view's goals and the period's length, which every tile of a page judges by.
#[derive(Debug, Clone, Copy)]
pub struct GoalScope<'a> {
    pub goals: Option<&'a Goals>,
    pub days: i64,
}

#[derive(Debug, Clone)]
pub struct TileGroup {
    pub id: &'static str,
    pub title: &'static str,
    pub tiles: Vec<TileView>,
}

/// A plain figure (build health) with what it is made of.
#[derive(Debug, Clone)]
pub struct PlainTile {
    pub title: &'static str,
    pub value: String,
    pub basis: String,
}

/// A message in words where a number would mislead or is missing.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: &'static str,
    pub text: String,
    pub code: Option<String>,
}

/// What a figure is made of, in words.
pub fn basis(metric: Metric, f: &Figures) -> String {
    match metric {
        Metric::DeploymentFrequency => {
            format!("{} deployments on {} days", f.deployments, f.deploy_days)
        }
        Metric::LeadTime => format!(
            "median of {} commits; p90 {}",
            f.lead_time_samples,
            format::optional(f.lead_time_p90_hours, format::hours)
        ),
        Metric::ChangeFailureRate => {
            format!("{} of {} deployments failed", f.failed, f.deployments)
        }
        Metric::FailedDeploymentRecovery => format!(
            "median over {} recovered of {} failed",
            f.recovered, f.failed
        ),
        Metric::TimeToRestore => format!(
            "median over {} resolved of {} incidents",
            f.resolved, f.incidents
        ),
        Metric::ReworkRate => format!(
            "{} of {} deployments followed a failure",
            f.rework, f.deployments
        ),
        Metric::AbortedRollouts => format!(
            "{} of {} rollouts aborted before reaching production",
            f.aborted,
            f.deployments + f.aborted
        ),
    }
}

/// Why a value is missing or to be read with care, if it is.
fn note(tile: &Tile, coverage: &Coverage) -> Option<String> {
    let no_incidents = coverage.incidents == 0;
    match tile.metric {
        Metric::TimeToRestore if no_incidents => {
            return Some(
                "no incident is stored: connect an incident source (PagerDuty, incident \
                 issues on GitHub or GitLab, CDEvents) to measure restore times"
                    .into(),
            );
        }
        Metric::ChangeFailureRate | Metric::FailedDeploymentRecovery if no_incidents => {
            return Some(
                "no incident source is connected: only rollbacks count as failures".into(),
            );
        }
        _ => {}
    }
    let samples = tile.samples;
    if tile.metric.is_duration() {
        if samples == 0 {
            return Some(format!(
                "no {} in this period: no median",
                tile.metric.sample_noun()
            ));
        }
        if samples < MIN_SAMPLES {
            return Some(format!(
                "only {}: too few for a reliable median",
                tile.metric.samples_counted(samples)
            ));
        }
    } else if tile.metric != Metric::DeploymentFrequency && samples == 0 {
        return Some("no deployments in this period: no rate".into());
    }
    None
}

pub fn tile_view(
    tile: &Tile,
    links: &Links,
    coverage: &Coverage,
    id: &str,
    goals: GoalScope<'_>,
) -> TileView {
    let metric = tile.metric;
    let unit = metric.unit();
    let points: Vec<(String, Option<f64>)> = tile
        .weekly
        .iter()
        .map(|(b, v)| (format!("week of {}", b.start), *v))
        .collect();
    let no_source = coverage.incidents == 0 && metric == Metric::TimeToRestore;
    TileView {
        slug: metric.slug(),
        title: metric.title(),
        value: if no_source {
            format::NONE.to_owned()
        } else {
            format::value(unit, tile.value)
        },
        raw: tile.value.map(|v| v.to_string()).unwrap_or_default(),
        samples: tile.samples,
        level: tile.level.map(|l| l.as_str()),
        basis: basis(metric, &tile.figures),
        change: format::change(&tile.change),
        note: note(tile, coverage),
        sparkline: sparkline(
            &format!("{id}-spark-{}", metric.slug()),
            &format!("{} per week", metric.title()),
            &points,
            format::of_unit(unit),
        ),
        metric_href: links.metric(metric),
        explain_href: links.explain(metric),
        goal: goal_view(metric, &tile.figures, goals.goals, goals.days),
    }
}

/// The tiles grouped as DORA 2024 groups them.
pub fn groups(
    overview: &Overview,
    links: &Links,
    id: &str,
    goals: GoalScope<'_>,
) -> Vec<TileGroup> {
    [
        ("throughput", "Throughput", Group::Throughput),
        ("instability", "Instability", Group::Instability),
        ("restore", "Time to restore", Group::Restore),
        (
            "progressive-delivery",
            "Progressive delivery (beyond DORA)",
            Group::ProgressiveDelivery,
        ),
    ]
    .into_iter()
    .map(|(group_id, title, group)| TileGroup {
        id: group_id,
        title,
        tiles: overview
            .tiles
            .iter()
            .filter(|t| t.metric.group() == group)
            .map(|t| tile_view(t, links, &overview.coverage, id, goals))
            .collect(),
    })
    .filter(|g| !g.tiles.is_empty())
    .collect()
}

/// SPEC §4.1's figures as tiles (no levels: DORA gives no bands for builds).
pub fn build_tiles(b: &BuildFigures) -> Vec<PlainTile> {
    vec![
        PlainTile {
            title: "Build success rate",
            value: format::optional(b.success_rate(), format::percent),
            basis: format!("{} of {} builds failed", b.failed, b.builds),
        },
        PlainTile {
            title: "Build duration",
            value: format::optional(b.duration_median_minutes, format::minutes),
            basis: format!(
                "median of builds with a start time; p90 {}",
                format::optional(b.duration_p90_minutes, format::minutes)
            ),
        },
        PlainTile {
            title: "Time to green",
            value: format::optional(b.time_to_green_median_hours, format::hours),
            basis: format!(
                "{} red spells on main branches; median of the ended ones",
                b.red_spells
            ),
        },
        PlainTile {
            title: "Main branch red",
            value: format::optional(b.red_hours_share(), format::percent),
            basis: "share of the period a main branch was red".to_owned(),
        },
    ]
}

/// The empty and partial states of a period, in words.
pub fn notices(overview: &Overview, base_url: &str) -> Vec<Notice> {
    let mut notices = Vec::new();
    let coverage = &overview.coverage;
    if coverage.deployments == 0 {
        notices.push(Notice {
            kind: "no-deployments",
            text: "No deployment is stored yet. Post one from your CI after it deploys \
                   (set SHIPLOG_INGEST_TOKEN on the server first), or connect a source: \
                   see docs/sources/."
                .into(),
            code: Some(format!(
                "curl -X POST \"{base_url}/api/v1/events\" \\\n  -H \"Authorization: Bearer $SHIPLOG_INGEST_TOKEN\" -H \"Content-Type: application/json\" \\\n  -d '{{\"type\":\"deployment\",\"id\":\"'\"$CI_PIPELINE_ID\"'\",\"service\":\"checkout\",\"environment\":\"production\",\"repo\":\"acme/shop\",\"sha\":\"'\"$GIT_SHA\"'\",\"finished_at\":\"'\"$(date -u +%FT%TZ)\"'\"}}'"
            )),
        });
    } else if overview
        .tile(Metric::DeploymentFrequency)
        .figures
        .deployments
        == 0
    {
        let newest = coverage
            .latest_deployment
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        notices.push(Notice {
            kind: "empty-period",
            text: format!(
                "No successful production deployment in this period (with this filter). \
                 The newest stored one finished on {newest}."
            ),
            code: None,
        });
    }
    if coverage.incidents == 0 && coverage.deployments > 0 {
        notices.push(Notice {
            kind: "no-incident-source",
            text: "No incident is stored, so change failure rate counts rollbacks only and \
                   time to restore is unknown: connect PagerDuty, incident issues on GitHub \
                   or GitLab, or CDEvents incidents (docs/sources/)."
                .into(),
            code: None,
        });
    }
    notices
}
