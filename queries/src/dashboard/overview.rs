//! The overview (`/`): each DORA figure (and aborted rollouts, for services that
//! release by canary) with its level, its sample size, its change
//! against the previous period of the same length and its weekly values, build health
//! beside them, and what is stored at all (for the empty states).

use duckdb::Connection;
use shiplog_model::{BandTable, Level, Settings, Timestamp};

use super::metric::{MIN_SAMPLES, Metric, Unit};
use super::view::{View, weeks};
use crate::QueryError;
use crate::build_health::{BuildFigures, BuildScope, build_figures};
use crate::figures::{Breakdown, Bucket, Figures, Request, figure_sets};
use crate::scope::Known;

/// The overview page's data.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// One per figure, in [`Metric::EVERY`] order; aborted rollouts only where
    /// some production rollout was ever aborted (the services release by canary or
    /// blue-green).
    pub tiles: Vec<Tile>,
    pub builds: BuildFigures,
    pub coverage: Coverage,
}

impl Overview {
    pub fn tile(&self, metric: Metric) -> &Tile {
        self.tiles
            .iter()
            .find(|t| t.metric == metric)
            .expect("the overview has a tile for every metric")
    }
}

/// One figure as a tile shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub metric: Metric,
    /// The period's figures as a whole, for what the value is made of.
    pub figures: Figures,
    pub value: Option<f64>,
    pub level: Option<Level>,
    pub samples: i64,
    pub previous: Option<f64>,
    pub change: Change,
    /// The value of each week of the period (the first and last may be partial).
    pub weekly: Vec<(Bucket, Option<f64>)>,
}

/// The change of a figure against the previous period.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `amount` is percent for counts and hours, percentage points for rates;
    /// `better` is `None` when nothing changed.
    Delta {
        amount: f64,
        points: bool,
        better: Option<bool>,
    },
    /// Either side has too few samples (or a zero to divide by): the reason.
    Unavailable(String),
}

/// What is stored at all, whatever the period: the empty states say what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub deployments: i64,
    pub incidents: i64,
    pub latest_deployment: Option<Timestamp>,
}

/// The overview of `view`: one figure query (both periods and the weeks) and the
/// build health, for every selected service at once.
pub fn overview(
    conn: &Connection,
    settings: &Settings,
    known: &Known,
    view: &View,
) -> Result<Overview, QueryError> {
    let selection = known.select(&view.filter);
    let week_buckets = weeks(view.period);
    let sets = figure_sets(
        conn,
        &selection,
        &[
            Request {
                buckets: &[
                    Bucket::whole(view.previous_period()),
                    Bucket::whole(view.period),
                ],
                breakdown: Breakdown::TotalOnly,
            },
            Request {
                buckets: &week_buckets,
                breakdown: Breakdown::TotalOnly,
            },
        ],
    )?;
    let [both, weekly] = &sets[..] else {
        unreachable!("one set per request");
    };
    let [before, now] = &both[..] else {
        unreachable!("figures.sql gives one total row per bucket");
    };
    let bands = BandTable::of(view.bands);
    let progressive = !selection.aborted_production.is_empty();
    let tiles = Metric::EVERY
        .into_iter()
        .filter(|m| *m != Metric::AbortedRollouts || progressive)
        .map(|metric| {
            let weekly = week_buckets
                .iter()
                .zip(weekly)
                .map(|(b, f)| (*b, metric.value(f, b.days())))
                .collect();
            tile(metric, &bands, view, now, before, weekly)
        })
        .collect();
    let builds = build_figures(
        conn,
        settings,
        view.period,
        BuildScope::of(&view.filter, &selection.services),
    )?;
    Ok(Overview {
        tiles,
        builds,
        coverage: coverage(conn)?,
    })
}

/// A figure's tile from the period's figures (`now`) and the previous period's.
pub fn tile(
    metric: Metric,
    bands: &BandTable,
    view: &View,
    now: &Figures,
    before: &Figures,
    weekly: Vec<(Bucket, Option<f64>)>,
) -> Tile {
    let value = metric.value(now, view.period.days());
    let previous = metric.value(before, view.previous_period().days());
    Tile {
        metric,
        figures: now.clone(),
        value,
        level: metric.level(bands, value),
        samples: metric.samples(now),
        previous,
        change: change(metric, now, before, value, previous),
        weekly,
    }
}

/// The change from `before` to `now`, or why there is none to show.
pub fn change(
    metric: Metric,
    now: &Figures,
    before: &Figures,
    value: Option<f64>,
    previous: Option<f64>,
) -> Change {
    for (side, f) in [("this period", now), ("the previous period", before)] {
        let n = metric.samples(f);
        if n < MIN_SAMPLES {
            return Change::Unavailable(format!(
                "{} in {side}; a change needs {MIN_SAMPLES} on both sides",
                metric.samples_counted(n)
            ));
        }
    }
    let (Some(value), Some(previous)) = (value, previous) else {
        return Change::Unavailable(format!(
            "no value in one of the periods ({})",
            metric.sample_noun()
        ));
    };
    let points = metric.unit() == Unit::Rate;
    let amount = if points {
        (value - previous) * 100.0
    } else if previous == 0.0 {
        return Change::Unavailable("the previous period's value is 0".into());
    } else {
        (value - previous) / previous * 100.0
    };
    let better = (amount != 0.0).then(|| (amount > 0.0) == metric.higher_is_better());
    Change::Delta {
        amount,
        points,
        better,
    }
}

/// What is stored at all, in one query.
pub fn coverage(conn: &Connection) -> Result<Coverage, QueryError> {
    Ok(conn
        .prepare_cached(include_str!("../sql/coverage.sql"))?
        .query_row([], |row| {
            Ok(Coverage {
                deployments: row.get(0)?,
                incidents: row.get(1)?,
                latest_deployment: row
                    .get::<_, Option<i64>>(2)?
                    .map(shiplog_model::time::from_micros),
            })
        })?)
}
