//! `GET /metrics/{slug}`: one figure per bucket as a chart with the level bands
//! behind it, the distribution of a duration (p50, p75, p90 and a histogram), the
//! figure per service (sortable), and for lead time its stages.

use crate::extract::{Path, Query};
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shiplog_queries::dashboard::metric_page::{MetricPage, Stage, metric_page};
use shiplog_queries::dashboard::{BucketSize, Metric};

use super::chrome::{Chrome, PageError, render};
use super::tiles::{TileView, basis, tile_view};
use crate::app::AppState;
use crate::charts::{
    Band, Bar, BarChart, Bin, Histogram, Marker, Svg, Target, bar_chart, histogram,
};
use crate::error::ApiError;
use crate::format;
use crate::routes::ReadQuery;
use shiplog_model::goals::Goal;

/// A metric slug from the path, or a 404 naming every one.
pub fn parse_metric(slug: &str) -> Result<Metric, ApiError> {
    Metric::parse(slug).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no metric {slug:?}: use one of {}",
            Metric::EVERY.map(Metric::slug).join(", ")
        ))
    })
}

#[derive(Debug, Clone)]
struct ServiceLine {
    service: String,
    href: String,
    /// The rows behind this service's figure.
    explain: String,
    team: String,
    value: String,
    level: Option<&'static str>,
    samples: i64,
    basis: String,
}

#[derive(Debug, Clone)]
struct StageLine {
    label: String,
    coding: String,
    review: String,
    waiting: String,
    samples: i64,
}

#[derive(Debug, Clone)]
struct Stages {
    lines: Vec<StageLine>,
    grew_most: Option<String>,
}

#[derive(Template)]
#[template(path = "metric.html")]
struct MetricTemplate {
    chrome: Chrome,
    headline: TileView,
    chart: Svg,
    distribution: Option<(Svg, String)>,
    sort_links: Vec<(&'static str, String)>,
    services: Vec<ServiceLine>,
    stages: Option<Stages>,
}

pub async fn metric(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    state.count_request();
    let metric = parse_metric(&slug)?;
    let view = Chrome::view(&state, &headers, &query)?;
    let path = format!("/metrics/{slug}");
    let (chrome, (coverage, data)) = Chrome::read(
        &state,
        &query,
        view,
        metric.title(),
        &path,
        move |conn, _, known, view| {
            Ok((
                shiplog_queries::dashboard::overview::coverage(conn)?,
                metric_page(conn, known, view, metric)?,
            ))
        },
    )
    .await?;
    let page = MetricTemplate {
        headline: tile_view(
            &data.headline,
            &chrome.links,
            &coverage,
            "metric",
            chrome.goal_scope(),
        ),
        chart: chart(&data, &chrome),
        distribution: distribution(&data),
        sort_links: ["service", "team", "value", "samples"]
            .into_iter()
            .map(|key| {
                let descending =
                    query.sort.as_deref() == Some(key) && query.dir.as_deref() != Some("desc");
                let dir = if descending { "desc" } else { "asc" };
                (
                    key,
                    chrome.links.with(&path, &[("sort", key), ("dir", dir)]),
                )
            })
            .collect(),
        services: service_lines(&data, &chrome, &query),
        stages: stages(&data),
        chrome,
    };
    render(&page)
}

fn chart(data: &MetricPage, chrome: &Chrome) -> Svg {
    let metric = data.metric;
    let bars: Vec<Bar> = data
        .series
        .iter()
        .map(|p| Bar {
            // Short labels, so that the thinned axis labels do not run into each other.
            label: match chrome.view.bucket {
                BucketSize::Month => p.bucket.start.format("%b %Y").to_string(),
                _ => p.bucket.start.format("%b %-d").to_string(),
            },
            value: p.value,
            note: metric.samples_counted(p.samples),
        })
        .collect();
    let bands: Vec<Band> = data
        .bands
        .iter()
        .map(|r| Band {
            low: r.low,
            high: r.high,
            class: r.level.as_str(),
            label: r.level.as_str().to_owned(),
        })
        .collect();
    let unit = match metric.unit() {
        shiplog_queries::dashboard::metric::Unit::PerDay => "deployments per day",
        shiplog_queries::dashboard::metric::Unit::Hours => "hours (median)",
        shiplog_queries::dashboard::metric::Unit::Rate if metric == Metric::AbortedRollouts => {
            "% of rollouts"
        }
        shiplog_queries::dashboard::metric::Unit::Rate => "% of deployments",
    };
    let buckets: Vec<_> = data.series.iter().map(|p| p.bucket).collect();
    let target = metric.goal().and_then(|goal| {
        let target = chrome.goals.as_ref()?.get(goal)?;
        Some(Target {
            // The chart counts deployments per day; the goal, per week.
            value: match goal {
                Goal::DeploymentsPerWeek => target / 7.0,
                _ => target,
            },
            label: format!("goal {}", format::goal_target(goal, target)),
        })
    });
    bar_chart(&BarChart {
        id: "series",
        title: &format!("{} per {}", metric.title(), chrome.bucket),
        unit,
        bars: &bars,
        bands: &bands,
        notes: &chrome.slot_notes(&buckets),
        target: target.as_ref(),
        format: format::of_unit(metric.unit()),
    })
}

fn distribution(data: &MetricPage) -> Option<(Svg, String)> {
    let d = data.distribution.as_ref()?;
    let bins: Vec<Bin> = d
        .bins
        .iter()
        .map(|b| Bin {
            low: b.low.max(0.0),
            high: b.high,
            count: b.count,
        })
        .collect();
    let markers: Vec<Marker> = [("p50", d.p50), ("p75", d.p75), ("p90", d.p90)]
        .into_iter()
        .filter_map(|(label, v)| {
            Some(Marker {
                label: format!("{label} {}", format::hours(v?)),
                value: v?,
            })
        })
        .collect();
    let svg = histogram(&Histogram {
        id: "distribution",
        title: &format!("Distribution of {} samples", d.samples),
        unit: "samples",
        bins: &bins,
        markers: &markers,
        format: format::hours,
    });
    let text = format!(
        "{} samples: p50 {}, p75 {}, p90 {}",
        d.samples,
        format::optional(d.p50, format::hours),
        format::optional(d.p75, format::hours),
        format::optional(d.p90, format::hours)
    );
    Some((svg, text))
}

fn service_lines(data: &MetricPage, chrome: &Chrome, query: &ReadQuery) -> Vec<ServiceLine> {
    let metric = data.metric;
    let mut rows = data.services.clone();
    let descending = query.dir.as_deref() == Some("desc");
    let ordered = |o: std::cmp::Ordering| if descending { o.reverse() } else { o };
    match query.sort.as_deref() {
        Some("team") => rows.sort_by(|a, b| ordered(a.team.cmp(&b.team))),
        Some("samples") => rows.sort_by(|a, b| ordered(a.samples.cmp(&b.samples))),
        Some("value") => rows.sort_by(|a, b| match (a.value, b.value) {
            (Some(x), Some(y)) => ordered(x.total_cmp(&y)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }),
        _ => rows.sort_by(|a, b| ordered(a.service.cmp(&b.service))),
    }
    rows.iter()
        .map(|s| ServiceLine {
            href: chrome.links.service(&s.service),
            explain: chrome.links.for_service(&s.service).explain(metric),
            team: s.team.clone().unwrap_or_default(),
            value: format::value(metric.unit(), s.value),
            level: s.level.map(|l| l.as_str()),
            samples: s.samples,
            basis: basis(metric, &s.figures),
            service: s.service.clone(),
        })
        .collect()
}

fn stages(data: &MetricPage) -> Option<Stages> {
    let s = data.stages.as_ref()?;
    let line =
        |label: String, m: &shiplog_queries::dashboard::metric_page::StageMedians| StageLine {
            label,
            coding: format::optional(m.coding, format::hours),
            review: format::optional(m.review, format::hours),
            waiting: format::optional(m.waiting, format::hours),
            samples: m.samples,
        };
    let mut lines = vec![
        line("previous period".into(), &s.previous),
        line("this period".into(), &s.period),
    ];
    lines.extend(s.buckets.iter().map(|(b, m)| line(b.start.to_string(), m)));
    Some(Stages {
        lines,
        grew_most: s.grew_most.map(|(stage, hours): (Stage, f64)| {
            format!(
                "{} grew most: its median is {} longer than in the previous period",
                stage.title(),
                format::hours(hours)
            )
        }),
    })
}
