//! What every page shares: the view its query asks for, the links that keep it, the
//! navigation and the filter form, and errors rendered as a page.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use duckdb::Connection;
use shiplog_model::goals::Goals;
use shiplog_model::{Annotation, BandsVersion, Period, Settings};
use shiplog_queries::QueryError;
use shiplog_queries::dashboard::{BucketSize, Metric, View};
use shiplog_queries::figures::Bucket;
use shiplog_queries::scope::Known;

use super::tiles::GoalScope;
use crate::charts::Note;

use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::{PRESET_DAYS, ReadQuery};

/// Percent-encodes a query-string value (RFC 3986 unreserved characters pass).
pub fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Whether a query parameter was given with a value.
fn given(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.trim().is_empty())
}

/// The query parameters that make a view, to append to every link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    params: Vec<(&'static str, String)>,
}

impl Links {
    fn new(query: &ReadQuery, view: &View, preset: Option<u64>) -> Links {
        let mut params = Vec::new();
        match preset {
            Some(days) => params.push(("days", days.to_string())),
            None => {
                params.push(("from", view.period.from().to_string()));
                params.push(("to", view.period.to().to_string()));
            }
        }
        if let Some(service) = &view.filter.service {
            params.push(("service", service.clone()));
        }
        if let Some(team) = &view.filter.team {
            params.push(("team", team.clone()));
        }
        if given(&query.bands) {
            params.push(("bands", view.bands.as_str().to_owned()));
        }
        if given(&query.bucket) {
            params.push(("bucket", view.bucket.as_str().to_owned()));
        }
        Links { params }
    }

    /// `path` with the view's parameters, `extra` replacing or adding some (an empty
    /// value drops that parameter).
    pub fn with(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        pairs.extend(extra.iter().filter(|(_, v)| !v.is_empty()).copied());
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", query_escape(v)))
            .collect();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query.join("&"))
        }
    }

    /// The same view narrowed to one service (its team filter dropped).
    pub fn for_service(&self, service: &str) -> Links {
        let mut params: Vec<(&'static str, String)> = self
            .params
            .iter()
            .filter(|(k, _)| *k != "service" && *k != "team")
            .cloned()
            .collect();
        params.push(("service", service.to_owned()));
        Links { params }
    }

    /// `path` with the view's parameters.
    pub fn to(&self, path: &str) -> String {
        self.with(path, &[])
    }

    /// The same view over a preset period.
    fn preset(&self, path: &str, days: u64) -> String {
        self.with(
            path,
            &[("days", &days.to_string()), ("from", ""), ("to", "")],
        )
    }

    pub fn metric(&self, metric: Metric) -> String {
        self.to(&format!("/metrics/{}", metric.slug()))
    }

    pub fn explain(&self, metric: Metric) -> String {
        self.to(&format!("/explain/{}", metric.slug()))
    }

    pub fn service(&self, service: &str) -> String {
        // A service's page is that service: the team filter would only narrow it away.
        self.with(
            &format!("/services/{}", query_escape(service)),
            &[("service", ""), ("team", "")],
        )
    }
}

/// A link in the navigation or the filter bar.
#[derive(Debug, Clone)]
pub struct NavLink {
    pub label: String,
    pub href: String,
    pub current: bool,
}

/// The frame of every page: title, navigation, the filter form and the view.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    /// The page's path, the filter form's target.
    pub path: String,
    pub view: View,
    pub links: Links,
    pub nav: Vec<NavLink>,
    pub presets: Vec<NavLink>,
    pub from: String,
    pub to: String,
    pub service: String,
    pub team: String,
    pub bands: &'static str,
    pub bucket: &'static str,
    pub bands_options: [&'static str; 3],
    pub bucket_options: [&'static str; 3],
    /// The known services and teams, for the filter's suggestions.
    pub services: Vec<String>,
    pub teams: Vec<String>,
    /// The annotations of the period that apply to the view, in time order: drawn on
    /// the page's charts and listed under them.
    pub annotations: Vec<AnnotationLine>,
    /// The goals of the view's team or service (the organisation as a whole sets
    /// none: goals are a team's own, never a league table).
    pub goals: Option<Goals>,
}

/// An annotation as the pages list and draw it.
#[derive(Debug, Clone)]
pub struct AnnotationLine {
    pub at: chrono::DateTime<chrono::Utc>,
    /// `2026-03-02 10:00`, UTC.
    pub when: String,
    pub text: String,
    /// Whose note it is: "team payments", "checkout", or empty (the organisation's).
    pub scope: String,
}

impl AnnotationLine {
    pub fn of(a: Annotation) -> AnnotationLine {
        let scope = match (&a.service, &a.team) {
            (Some(service), _) => service.as_str().to_owned(),
            (None, Some(team)) => format!("team {team}"),
            (None, None) => String::new(),
        };
        AnnotationLine {
            when: a.at.format("%Y-%m-%d %H:%M").to_string(),
            at: a.at,
            text: a.text,
            scope,
        }
    }

    /// The tooltip on a chart: when, whose, and the text.
    fn title(&self) -> String {
        match self.scope.as_str() {
            "" => format!("{} UTC: {}", self.when, self.text),
            scope => format!("{} UTC ({scope}): {}", self.when, self.text),
        }
    }
}

impl Chrome {
    /// Reads the view a page's query asks for (the router has checked the read token:
    /// `auth::guard`). The bucketed pages refuse a period over `max_period_days`
    /// (SPEC §5). `_headers` is no longer read; the pages still pass it.
    pub fn view(
        state: &AppState,
        _headers: &HeaderMap,
        query: &ReadQuery,
    ) -> Result<(View, Option<u64>), ApiError> {
        let period: Period = query.bounded_period(state.config.max_period_days)?;
        let bands = match query
            .bands
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            None => state.config.settings.bands,
            Some(raw) => raw.parse::<BandsVersion>().map_err(ApiError::BadRequest)?,
        };
        let bucket = match query
            .bucket
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            None => BucketSize::default_for(period),
            Some(raw) => BucketSize::parse(raw).ok_or_else(|| {
                ApiError::BadRequest(format!("`bucket` is `{raw}`: use day, week or month"))
            })?,
        };
        let explicit = [&query.from, &query.to]
            .iter()
            .any(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()));
        let preset = query
            .days
            .as_deref()
            .and_then(|d| d.trim().parse::<u64>().ok())
            .filter(|_| !explicit);
        Ok((
            View {
                period,
                filter: query.filter(),
                bands,
                bucket,
            },
            preset,
        ))
    }

    /// Reads a page's data for `view` (on a pooled connection, after the derived
    /// facts settle) together with the known services the filter suggests, and builds
    /// the page's frame: the one read every page makes.
    pub async fn read<T: Send + 'static>(
        state: &AppState,
        query: &ReadQuery,
        (view, preset): (View, Option<u64>),
        title: impl Into<String>,
        path: &str,
        read: impl FnOnce(&Connection, &Settings, &Known, &View) -> Result<T, QueryError>
        + Send
        + 'static,
    ) -> Result<(Chrome, T), PageError> {
        let settings = state.config.settings.clone();
        let read_view = view.clone();
        let (known, annotations, data) = state
            .read(move |conn| {
                let known = Known::read(conn, &settings)?;
                let annotations = shiplog_queries::annotations::list(
                    conn,
                    &known,
                    read_view.period,
                    &read_view.filter,
                )?;
                let data = read(conn, &settings, &known, &read_view)?;
                Ok((known, annotations, data))
            })
            .await?;
        let goals = match (&view.filter.service, &view.filter.team) {
            (Some(service), _) => state.config.goals.service(service, known.team_of(service)),
            (None, Some(team)) => state.config.goals.team(team).cloned(),
            (None, None) => None,
        };
        let mut chrome = Chrome::new(title, path, query, view, preset, &known);
        chrome.annotations = annotations.into_iter().map(AnnotationLine::of).collect();
        chrome.goals = goals;
        Ok((chrome, data))
    }

    /// The view's goals, for the tiles to judge their figures by.
    pub fn goal_scope(&self) -> GoalScope<'_> {
        GoalScope {
            goals: self.goals.as_ref(),
            days: self.view.period.days(),
        }
    }

    /// The annotations on a bar chart of `buckets` (in slots: 2.5 is the middle of
    /// the third bucket).
    pub fn slot_notes(&self, buckets: &[Bucket]) -> Vec<Note> {
        self.annotations
            .iter()
            .filter_map(|a| {
                let day = a.at.date_naive();
                let slot = buckets
                    .iter()
                    .position(|b| b.start <= day && day < b.stop)?;
                let bucket = buckets[slot];
                let start = bucket.start.and_time(chrono::NaiveTime::MIN).and_utc();
                let into = (a.at - start).num_seconds() as f64 / (bucket.days() as f64 * 86_400.0);
                Some(Note {
                    at: slot as f64 + into,
                    title: a.title(),
                })
            })
            .collect()
    }

    /// The annotations on a timeline (unix seconds).
    pub fn time_notes(&self) -> Vec<Note> {
        self.annotations
            .iter()
            .map(|a| Note {
                at: a.at.timestamp() as f64,
                title: a.title(),
            })
            .collect()
    }

    fn new(
        title: impl Into<String>,
        path: &str,
        query: &ReadQuery,
        view: View,
        preset: Option<u64>,
        known: &Known,
    ) -> Chrome {
        let links = Links::new(query, &view, preset);
        let section = |prefix: &str| {
            if prefix == "/" {
                path == "/"
            } else {
                path.starts_with(prefix)
            }
        };
        let nav = [
            ("Overview", "/".to_owned()),
            (
                "Deployment frequency",
                "/metrics/deployment-frequency".into(),
            ),
            ("Lead time", "/metrics/lead-time".into()),
            ("Change failure", "/metrics/change-failure-rate".into()),
            ("Recovery", "/metrics/failed-deployment-recovery".into()),
            ("Restore", "/metrics/time-to-restore".into()),
            ("Rework", "/metrics/rework-rate".into()),
            ("Services", "/services".into()),
            ("Data health", "/data-health".into()),
        ]
        .into_iter()
        .map(|(label, target)| NavLink {
            label: label.to_owned(),
            current: section(&target),
            href: links.to(&target),
        })
        .collect();
        let presets = PRESET_DAYS
            .iter()
            .map(|&days| NavLink {
                label: format!("{days} days"),
                href: links.preset(path, days),
                current: preset == Some(days),
            })
            .collect();
        let mut teams: Vec<String> = known
            .services
            .iter()
            .filter_map(|s| s.team.clone())
            .collect();
        teams.sort();
        teams.dedup();
        Chrome {
            title: title.into(),
            path: path.to_owned(),
            from: view.period.from().to_string(),
            to: view.period.to().to_string(),
            service: view.filter.service.clone().unwrap_or_default(),
            team: view.filter.team.clone().unwrap_or_default(),
            bands: view.bands.as_str(),
            bucket: view.bucket.as_str(),
            bands_options: ["2021", "2023", "2024"],
            bucket_options: ["day", "week", "month"],
            services: known.services.iter().map(|s| s.service.clone()).collect(),
            teams,
            view,
            links,
            nav,
            presets,
            annotations: Vec::new(),
            goals: None,
        }
    }

    /// "from … to … (excluded)" with the filter, for the page's first line.
    pub fn scope_text(&self) -> String {
        let mut text = format!("{} to {} (excluded)", self.from, self.to);
        if !self.service.is_empty() {
            text.push_str(&format!(", service {}", self.service));
        }
        if !self.team.is_empty() {
            text.push_str(&format!(", team {}", self.team));
        }
        text
    }
}

/// Renders a page template.
pub fn render(page: &impl Template) -> Result<Response, PageError> {
    page.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| PageError(ApiError::Internal(e.to_string())))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    reason: &'static str,
    message: String,
}

/// An error on a dashboard page, answered as a page (the API's JSON errors are for
/// programs); internal details are logged by [`ApiError`], never shown.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(self.0.into_response())
    }
}

/// On the pages: a refusal made before the handler ran (an extractor's
/// [`ApiError`]) is rendered as a page too, as [`PageError`] renders the handlers'.
pub async fn errors_as_pages(request: axum::extract::Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response
        .extensions()
        .get::<crate::error::Message>()
        .is_some()
    {
        return error_page(response);
    }
    response
}

/// The page for an [`ApiError`]'s JSON answer: its status, its message (never an
/// internal one) and its `Retry-After`.
fn error_page(json: Response) -> Response {
    let status = json.status();
    let message = match status {
        StatusCode::INTERNAL_SERVER_ERROR => "internal error; see the server log".to_owned(),
        _ => json
            .extensions()
            .get::<crate::error::Message>()
            .map(|m| m.0.clone())
            .unwrap_or_default(),
    };
    let page = ErrorPage {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("error"),
        message,
    };
    let body = page.render().unwrap_or_else(|_| format!("{status}"));
    let mut response = (status, Html(body)).into_response();
    for (name, value) in json.headers() {
        if name == axum::http::header::RETRY_AFTER {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}
