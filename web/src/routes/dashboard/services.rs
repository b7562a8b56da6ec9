//! `GET /services` (every service's figures, sortable by any column on the server)
//! and `GET /services/{name}` (a service's overview, its timeline of deployments and
//! incidents, and what runs where).

use std::collections::HashMap;

use crate::extract::{Path, Query};
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use shiplog_queries::Filter;
use shiplog_queries::dashboard::Metric;
use shiplog_queries::dashboard::services::{
    DeploymentMark, ServicePage, SortKey, service_page, services_table, sort_rows,
};

use super::chrome::{AnnotationLine, Chrome, PageError, query_escape, render};
use super::table::deployment_anchor;
use super::tiles::{Notice, PlainTile, TileGroup, build_tiles, groups, notices};
use crate::app::AppState;
use crate::charts::{Link, Mark, Span, Svg, Timeline, timeline};
use crate::error::ApiError;
use crate::format;
use crate::routes::ReadQuery;
use crate::routes::dashboard::overview::base_url;

#[derive(Debug, Clone)]
struct Column {
    label: &'static str,
    href: String,
    sorted: Option<&'static str>,
    numeric: bool,
}

/// A figure in a table, linked to the rows behind it.
#[derive(Debug, Clone)]
struct ValueCell {
    text: String,
    level: Option<&'static str>,
    href: String,
}

#[derive(Debug, Clone)]
struct Line {
    service: String,
    href: String,
    team: String,
    /// Per figure, in `Metric::ALL` order.
    values: Vec<ValueCell>,
    builds: String,
}

#[derive(Template)]
#[template(path = "services.html")]
struct ServicesPage {
    chrome: Chrome,
    columns: Vec<Column>,
    lines: Vec<Line>,
}

fn sort_of(query: &ReadQuery) -> Result<(SortKey, bool), ApiError> {
    let key = match query
        .sort
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => SortKey::Service,
        Some(raw) => SortKey::parse(raw).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`sort` is `{raw}`: use service, team, builds or a metric ({})",
                Metric::ALL.map(Metric::slug).join(", ")
            ))
        })?,
    };
    let descending = match query.dir.as_deref() {
        None | Some("" | "asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "`dir` is `{other}`: use asc or desc"
            )));
        }
    };
    Ok((key, descending))
}

pub async fn services(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    state.count_request();
    let view = Chrome::view(&state, &headers, &query)?;
    let (key, descending) = sort_of(&query)?;
    let (chrome, mut rows) = Chrome::read(
        &state,
        &query,
        view,
        "Services",
        "/services",
        services_table,
    )
    .await?;
    sort_rows(&mut rows, key, descending);
    let column = |label: &'static str, sort: SortKey, numeric: bool| {
        let current = sort == key;
        let dir = if current && !descending {
            "desc"
        } else {
            "asc"
        };
        Column {
            label,
            href: chrome
                .links
                .with("/services", &[("sort", sort.slug()), ("dir", dir)]),
            sorted: current.then_some(if descending {
                "descending"
            } else {
                "ascending"
            }),
            numeric,
        }
    };
    let mut columns = vec![
        column("Service", SortKey::Service, false),
        column("Team", SortKey::Team, false),
    ];
    columns.extend(
        Metric::ALL
            .into_iter()
            .map(|m| column(m.title(), SortKey::Metric(m), true)),
    );
    columns.push(column("Build success", SortKey::Builds, true));
    let lines = rows
        .iter()
        .map(|r| Line {
            href: chrome.links.service(&r.service),
            team: r.team.clone().unwrap_or_default(),
            values: r
                .values
                .iter()
                .map(|v| ValueCell {
                    text: format::value(v.metric.unit(), v.value),
                    level: v.level.map(|l| l.as_str()),
                    href: chrome.links.for_service(&r.service).explain(v.metric),
                })
                .collect(),
            builds: format!(
                "{} ({} builds)",
                format::optional(r.build_success_rate(), format::percent),
                r.builds
            ),
            service: r.service.clone(),
        })
        .collect();
    render(&ServicesPage {
        chrome,
        columns,
        lines,
    })
}

/// A deployment named on the page, linked to its row.
#[derive(Debug, Clone)]
struct Target {
    id: String,
    href: String,
}

#[derive(Debug, Clone)]
struct DeploymentLine {
    anchor: String,
    id: String,
    finished_at: String,
    environment: String,
    sha: String,
    outcome: &'static str,
    detail: String,
    rolled_back_by: Option<Target>,
}

#[derive(Debug, Clone)]
struct IncidentLine {
    anchor: String,
    id: String,
    title: String,
    opened_at: String,
    resolved_at: String,
    hours: String,
    deployment: Option<Target>,
    rule: String,
}

#[derive(Debug, Clone)]
struct RunningLine {
    environment: String,
    production: bool,
    sha: String,
    since: String,
    deployment: Target,
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServiceTemplate {
    chrome: Chrome,
    service: String,
    team: String,
    notices: Vec<Notice>,
    groups: Vec<TileGroup>,
    builds: Vec<PlainTile>,
    timeline: Svg,
    deployments: Vec<DeploymentLine>,
    incidents: Vec<IncidentLine>,
    running: Vec<RunningLine>,
    pending: Option<String>,
}

fn when(t: shiplog_model::Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn rule_text(rule: Option<&str>) -> &'static str {
    match rule {
        Some("a") => "a: the incident named the deployment",
        Some("b") => "b: its sha is in the deployment's change set",
        Some("c") => "c: latest deployment within the attribution window",
        _ => "d: attributed to no deployment",
    }
}

fn detail(d: &DeploymentMark) -> String {
    if d.outcome() == "region" {
        return "another region of a release counted once (multi_region_window_hours): \
                not counted again"
            .to_owned();
    }
    if !d.counts {
        return format!(
            "status {}: not counted (only successful production deployments count)",
            d.status.as_deref().unwrap_or(shiplog_model::event::SUCCESS)
        );
    }
    let mut parts = vec![format!(
        "{}, {} commits",
        d.kind.as_deref().unwrap_or("change"),
        d.change_set_size.unwrap_or(0)
    )];
    if d.failed {
        parts.push(format!(
            "failed ({})",
            d.failure_cause.as_deref().unwrap_or("incident")
        ));
        parts.push(match d.recovered_at {
            Some(t) => format!("recovered {}", when(t)),
            None => "not recovered".into(),
        });
    }
    if d.rework {
        parts.push("rework".into());
    }
    parts.join("; ")
}

fn service_timeline(page: &ServicePage, chrome: &Chrome) -> Svg {
    let start = chrome
        .view
        .period
        .from()
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp());
    let end = chrome
        .view
        .period
        .to()
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp());
    let lane = |d: &DeploymentMark| {
        if d.counts || matches!(d.outcome(), "attempt" | "region") {
            0
        } else {
            1
        }
    };
    let marks: Vec<Mark> = page
        .deployments
        .iter()
        .map(|d| Mark {
            lane: lane(d),
            at: d.finished_at.timestamp(),
            class: d.outcome(),
            title: format!(
                "{} {} {}: {}",
                d.id,
                d.environment.as_deref().unwrap_or("production"),
                when(d.finished_at),
                detail(d)
            ),
            href: Some(format!("#{}", deployment_anchor(&d.id))),
        })
        .collect();
    let at: HashMap<&str, (usize, i64)> = page
        .deployments
        .iter()
        .map(|d| (d.id.as_str(), (lane(d), d.finished_at.timestamp())))
        .collect();
    let links: Vec<Link> = page
        .deployments
        .iter()
        .filter_map(|d| {
            let by = d.rolled_back_by.as_deref()?;
            Some(Link {
                from: *at.get(by)?,
                to: *at.get(d.id.as_str())?,
                title: format!("{by} rolled back {}", d.id),
            })
        })
        .collect();
    let spans: Vec<Span> = page
        .incidents
        .iter()
        .map(|i| Span {
            lane: 2,
            from: i.opened_at.timestamp().max(start),
            to: i.resolved_at.map(|t| t.timestamp().min(end)),
            class: "incident",
            title: format!(
                "{} {}: opened {}, {}; {}",
                i.id,
                i.title.as_deref().unwrap_or(""),
                when(i.opened_at),
                i.resolved_at.map_or_else(
                    || "still open".to_owned(),
                    |t| format!("resolved {}", when(t))
                ),
                rule_text(i.rule.as_deref())
            ),
            href: Some(format!("#incident-{}", query_escape(&i.id))),
        })
        .collect();
    timeline(&Timeline {
        id: "timeline",
        title: &format!("Deployments and incidents of {}", page.service),
        start,
        end,
        lanes: &[
            "production".to_owned(),
            "other environments".to_owned(),
            "incidents".to_owned(),
        ],
        marks: &marks,
        spans: &spans,
        links: &links,
        notes: &chrome.time_notes(),
    })
}

pub async fn service(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    state.count_request();
    let view = Chrome::view(&state, &headers, &query)?;
    let path = format!("/services/{}", query_escape(&name));
    let read_name = name.clone();
    let (mut chrome, (page, annotations)) = Chrome::read(
        &state,
        &query,
        view,
        name.clone(),
        &path,
        move |conn, settings, known, view| {
            // The page is the service's whatever the view's filter: so are its notes.
            let own = Filter {
                service: Some(read_name.clone()),
                team: None,
            };
            let notes = shiplog_queries::annotations::list(conn, known, view.period, &own)?;
            let page = service_page(conn, settings, known, view, &read_name)?;
            Ok((page, notes))
        },
    )
    .await?;
    let Some(page) = page else {
        return Err(ApiError::NotFound(format!(
            "no service {name:?} has a successful production deployment or an incident"
        ))
        .into());
    };
    chrome.annotations = annotations.into_iter().map(AnnotationLine::of).collect();
    chrome.goals = state
        .config
        .goals
        .service(&page.service, page.team.as_deref());
    // The tiles and explain links of this service: the view filtered to it.
    let own = chrome.links.for_service(&name);
    let service_of: HashMap<&str, &str> = page
        .deployments
        .iter()
        .map(|d| (d.id.as_str(), page.service.as_str()))
        .collect();
    let deployment_link = |id: &str| {
        let href = if service_of.contains_key(id) {
            format!("#{}", deployment_anchor(id))
        } else {
            format!(
                "{}#{}",
                chrome.links.service(&page.service),
                deployment_anchor(id)
            )
        };
        Target {
            id: id.to_owned(),
            href,
        }
    };
    let template = ServiceTemplate {
        service: page.service.clone(),
        team: page.team.clone().unwrap_or_default(),
        notices: notices(&page.overview, &base_url(&headers)),
        groups: groups(&page.overview, &own, "service", chrome.goal_scope()),
        builds: build_tiles(&page.overview.builds),
        timeline: service_timeline(&page, &chrome),
        deployments: page
            .deployments
            .iter()
            .rev()
            .map(|d| DeploymentLine {
                anchor: deployment_anchor(&d.id),
                id: d.id.clone(),
                finished_at: when(d.finished_at),
                environment: d.environment.clone().unwrap_or_else(|| "production".into()),
                sha: d.sha.clone(),
                outcome: d.outcome(),
                detail: detail(d),
                rolled_back_by: d.rolled_back_by.as_deref().map(deployment_link),
            })
            .collect(),
        incidents: page
            .incidents
            .iter()
            .rev()
            .map(|i| IncidentLine {
                anchor: format!("incident-{}", query_escape(&i.id)),
                id: i.id.clone(),
                title: i.title.clone().unwrap_or_default(),
                opened_at: when(i.opened_at),
                resolved_at: i.resolved_at.map(when).unwrap_or_else(|| "open".into()),
                hours: format::optional(
                    i.resolved_at
                        .map(|r| (r - i.opened_at).num_seconds() as f64 / 3600.0),
                    format::hours,
                ),
                deployment: i.deployment_id.as_deref().map(deployment_link),
                rule: rule_text(i.rule.as_deref()).to_owned(),
            })
            .collect(),
        running: page
            .running
            .iter()
            .map(|r| RunningLine {
                environment: r.environment.clone().unwrap_or_else(|| "production".into()),
                production: r.production,
                sha: r.sha.clone(),
                since: when(r.since),
                deployment: deployment_link(&r.deployment_id),
            })
            .collect(),
        pending: page.pending.as_ref().map(|p| {
            let env = p.preproduction.environment.as_deref().unwrap_or("pre-production");
            match p.commits_behind {
                Some(0) => format!("Production runs everything {env} runs."),
                Some(n) => format!(
                    "Production is {n} commit{} behind {env} ({}): that much is waiting to be released.",
                    if n == 1 { "" } else { "s" },
                    &p.preproduction.sha.chars().take(10).collect::<String>()
                ),
                None => format!(
                    "How far production is behind {env} is unknown: a sha is not stored in the repository's commit graph (import the history: shiplog git import)."
                ),
            }
        }),
        chrome,
    };
    render(&template)
}
