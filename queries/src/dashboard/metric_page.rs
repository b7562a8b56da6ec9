//! A metric's own page (`/metrics/{slug}`): the figure per bucket with the level
//! bands behind it, the distribution of a duration's samples, the figure per service,
//! and for lead time the median of each stage (coding, review, waiting to deploy).

use duckdb::{Connection, params};
use shiplog_model::{BandRange, BandTable, Level};

use super::explain::{Distribution, distribution};
use super::metric::Metric;
use super::overview::{Tile, tile};
use super::view::{View, buckets};
use crate::QueryError;
use crate::figures::{Breakdown, Bucket, Figures, Request, figure_sets, midnight, set_buckets};
use crate::scope::Known;
use crate::temp::set_names;

#[derive(Debug, Clone, PartialEq)]
pub struct MetricPage {
    pub metric: Metric,
    pub headline: Tile,
    /// One per bucket of the view's size.
    pub series: Vec<Point>,
    /// The level bands behind the chart, best first (empty for rework rate).
    pub bands: Vec<BandRange>,
    /// For the durations only.
    pub distribution: Option<Distribution>,
    /// Every selected service, in code-point order.
    pub services: Vec<ServiceValue>,
    /// For lead time, where pull requests say when they were opened and merged.
    pub stages: Option<StageBreakdown>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub bucket: Bucket,
    pub value: Option<f64>,
    pub samples: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceValue {
    pub service: String,
    pub team: Option<String>,
    pub value: Option<f64>,
    pub level: Option<Level>,
    pub samples: i64,
    pub figures: Figures,
}

/// The stages of lead time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Coding,
    Review,
    Waiting,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Coding, Stage::Review, Stage::Waiting];

    pub fn title(self) -> &'static str {
        match self {
            Stage::Coding => "coding (first commit → pull request opened)",
            Stage::Review => "review (opened → merged)",
            Stage::Waiting => "waiting to deploy (merged → deployed)",
        }
    }
}

/// Stage medians in hours over the samples that have pull-request times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageMedians {
    pub samples: i64,
    pub coding: Option<f64>,
    pub review: Option<f64>,
    pub waiting: Option<f64>,
}

impl StageMedians {
    pub fn of(&self, stage: Stage) -> Option<f64> {
        match stage {
            Stage::Coding => self.coding,
            Stage::Review => self.review,
            Stage::Waiting => self.waiting,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageBreakdown {
    pub period: StageMedians,
    pub previous: StageMedians,
    pub buckets: Vec<(Bucket, StageMedians)>,
    /// The stage whose median grew most against the previous period, and by how
    /// many hours; `None` when none grew or either period has no samples.
    pub grew_most: Option<(Stage, f64)>,
}

/// The page of `metric` for `view`: one figure query (both periods per service and
/// the buckets), the distribution, and the stages for lead time.
pub fn metric_page(
    conn: &Connection,
    known: &Known,
    view: &View,
    metric: Metric,
) -> Result<MetricPage, QueryError> {
    let selection = known.select(&view.filter);
    let previous = view.previous_period();
    let chart_buckets = buckets(view.period, view.bucket);
    let sets = figure_sets(
        conn,
        &selection,
        &[
            Request {
                buckets: &[Bucket::whole(previous)],
                breakdown: Breakdown::TotalOnly,
            },
            Request {
                buckets: &[Bucket::whole(view.period)],
                breakdown: Breakdown::PerService,
            },
            Request {
                buckets: &chart_buckets,
                breakdown: Breakdown::TotalOnly,
            },
        ],
    )?;
    let [before, period, series_figures] = &sets[..] else {
        unreachable!("one set per request");
    };
    let total = |rows: &'_ [Figures]| -> Figures {
        rows.last()
            .filter(|f| f.service.is_none())
            .cloned()
            .expect("figures.sql gives a total row per bucket, last")
    };
    let (before, now) = (total(before), total(period));
    let bands = BandTable::of(view.bands);
    let series: Vec<Point> = chart_buckets
        .iter()
        .zip(series_figures)
        .map(|(b, f)| Point {
            bucket: *b,
            value: metric.value(f, b.days()),
            samples: metric.samples(f),
        })
        .collect();
    let weekly = if view.bucket == super::BucketSize::Week {
        series.iter().map(|p| (p.bucket, p.value)).collect()
    } else {
        Vec::new()
    };
    let services = period
        .iter()
        .filter_map(|f| {
            let service = f.service.clone()?;
            let value = metric.value(f, view.period.days());
            Some(ServiceValue {
                team: known.team_of(&service).map(str::to_owned),
                service,
                value,
                level: metric.level(&bands, value),
                samples: metric.samples(f),
                figures: f.clone(),
            })
        })
        .collect();
    let stages = if metric == Metric::LeadTime {
        stage_breakdown(conn, &selection.services, view, &chart_buckets)?
    } else {
        None
    };
    Ok(MetricPage {
        metric,
        headline: tile(metric, &bands, view, &now, &before, weekly),
        series,
        bands: metric.banded().map(|b| bands.ranges(b)).unwrap_or_default(),
        distribution: distribution(conn, &selection, view, metric)?,
        services,
        stages,
    })
}

/// Stage medians for the previous period, the period and each bucket, in one query.
fn stage_breakdown(
    conn: &Connection,
    services: &[String],
    view: &View,
    chart_buckets: &[Bucket],
) -> Result<Option<StageBreakdown>, QueryError> {
    let mut all = vec![
        Bucket::whole(view.previous_period()),
        Bucket::whole(view.period),
    ];
    all.extend_from_slice(chart_buckets);
    set_names(conn, "scope", services.iter().map(String::as_str))?;
    set_buckets(conn, &all)?;
    let first = all.iter().map(|b| b.start).min().expect("both periods");
    let last = all.iter().map(|b| b.stop).max().expect("both periods");
    let mut stmt = conn.prepare_cached(include_str!("../sql/lead_time_stages.sql"))?;
    let medians: Vec<StageMedians> = stmt
        .query_map(params![midnight(first), midnight(last)], |row| {
            Ok(StageMedians {
                samples: row.get(1)?,
                coding: row.get(2)?,
                review: row.get(3)?,
                waiting: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let [previous, period, per_bucket @ ..] = &medians[..] else {
        unreachable!("one row per bucket");
    };
    if period.samples == 0 {
        return Ok(None);
    }
    Ok(Some(StageBreakdown {
        period: *period,
        previous: *previous,
        buckets: chart_buckets
            .iter()
            .copied()
            .zip(per_bucket.iter().copied())
            .collect(),
        grew_most: grew_most(previous, period),
    }))
}

/// The stage whose median grew most, in hours.
pub fn grew_most(previous: &StageMedians, period: &StageMedians) -> Option<(Stage, f64)> {
    if previous.samples == 0 {
        return None;
    }
    Stage::ALL
        .into_iter()
        .filter_map(|s| Some((s, period.of(s)? - previous.of(s)?)))
        .filter(|(_, growth)| *growth > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}
