//! `GET /metrics` (behind the read token: `auth::guard`): the server's counters in the
//! Prometheus text format, then SPEC §4's figures per service and per team over the
//! trailing window of `prometheus_window_days` as gauges (docs/prometheus.md).
//!
//! The gauges are computed from the settled derived tables and kept, rendered, until
//! the derived facts change (the writer's count of payments) or the day does (the
//! window moves): a scrape with nothing new costs no read. One computation runs at
//! a time; scrapes that arrive meanwhile wait for it and take its text, rather than
//! each reading the window again.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use shiplog_queries::figures::Figures;
use shiplog_queries::prometheus::{DoraFigures, dora_figures, trailing_window};

use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::events::write_error;

/// The rendered gauges of the last computation, and how many there were.
#[derive(Debug, Default)]
pub struct DoraCache {
    last: tokio::sync::Mutex<Option<Rendered>>,
    computations: AtomicU64,
    failures: AtomicU64,
}

#[derive(Debug)]
struct Rendered {
    /// The writer's payments of derived facts and the UTC day it was computed for.
    settles: u64,
    today: NaiveDate,
    text: String,
}

/// The server's counters in the Prometheus text format, then the DORA gauges.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "probes",
    params(
        ("token" = Option<String>, Query, description = "The token, when no `Authorization` header can be sent"),
    ),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4: the server's counters, then the DORA gauges over the trailing window (absent from a scrape whose computation failed)", body = String, content_type = "text/plain"),
        (status = 401, description = "Missing or wrong read token", body = crate::openapi::ErrorBody),
    ),
    security((), ("read_token" = [])),
)]
pub async fn prometheus(State(state): State<AppState>) -> Response {
    // The counters as the scrape found them, before the gauges wait for owed derived
    // facts to be paid (the payment it waits for is in the next scrape's counters).
    let mut out = counters(&state);
    // The counters keep being served when the gauges cannot be (storage failing, the
    // writer stopped): they are what says why. The failure is logged and counted.
    let dora = match dora_text(&state).await {
        Ok(text) => Some(text),
        Err(error) => {
            state.dora.failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(?error, "DORA gauges not computed");
            None
        }
    };
    metric(
        &mut out,
        "shiplog_dora_computations_total",
        "times the shiplog_dora_* gauges were computed (a scrape with nothing new takes the last computation's)",
        "counter",
        state.dora.computations.load(Ordering::Relaxed),
    );
    metric(
        &mut out,
        "shiplog_dora_computation_failures_total",
        "scrapes whose shiplog_dora_* gauges could not be computed (see the server log)",
        "counter",
        state.dora.failures.load(Ordering::Relaxed),
    );
    if let Some(dora) = dora {
        out.push_str(&dora);
    }
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The gauges: the last computation's when neither the derived facts nor the day
/// changed since, else computed now.
async fn dora_text(state: &AppState) -> Result<String, ApiError> {
    let mut last = state.dora.last.lock().await;
    let writer = &state.db.writer;
    writer.settle().await.map_err(|e| write_error(writer, e))?;
    // Read after the settle: a payment after this only makes the next scrape compute
    // again, and the computation below sees at least what this count covers.
    let settles = writer.stats().settles.load(Ordering::Acquire);
    let today = chrono::Utc::now().date_naive();
    if let Some(r) = last
        .as_ref()
        .filter(|r| r.settles == settles && r.today == today)
    {
        return Ok(r.text.clone());
    }
    let window = trailing_window(today, state.config.prometheus_window_days);
    let settings = state.config.settings.clone();
    let started = std::time::Instant::now();
    let figures = state
        .read(move |conn| dora_figures(conn, &settings, window))
        .await?;
    let text = render(&figures);
    state.dora.computations.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        services = figures.services.len(),
        teams = figures.teams.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "DORA gauges computed"
    );
    *last = Some(Rendered {
        settles,
        today,
        text: text.clone(),
    });
    Ok(text)
}

/// The writer's and the server's counters.
fn counters(state: &AppState) -> String {
    let writer = &state.db.writer;
    let stats = writer.stats();
    let counters = [
        (
            "shiplog_http_requests_total",
            "API requests served",
            state.requests.load(Ordering::Relaxed),
        ),
        (
            "shiplog_writer_batches_total",
            "transactions committed by the writer",
            stats.batches.load(Ordering::Relaxed),
        ),
        (
            "shiplog_events_accepted_total",
            "deliveries stored",
            stats.deliveries_accepted.load(Ordering::Relaxed),
        ),
        (
            "shiplog_events_duplicate_total",
            "deliveries already stored",
            stats.deliveries_duplicate.load(Ordering::Relaxed),
        ),
        (
            "shiplog_writer_batch_failures_total",
            "batches rolled back",
            stats.batch_failures.load(Ordering::Relaxed),
        ),
        (
            "shiplog_writer_busy_total",
            "submissions refused with a full queue",
            stats.busy_refusals.load(Ordering::Relaxed),
        ),
        (
            "shiplog_writer_settles_total",
            "times owed derived facts were recomputed",
            stats.settles.load(Ordering::Relaxed),
        ),
        (
            "shiplog_writer_settle_failures_total",
            "recomputations of derived facts rolled back",
            stats.settle_failures.load(Ordering::Relaxed),
        ),
    ];
    let mut out = String::new();
    for (name, help, value) in counters {
        metric(&mut out, name, help, "counter", value);
    }
    let seconds = stats.batch_micros_total.load(Ordering::Relaxed) as f64 / 1e6;
    metric(
        &mut out,
        "shiplog_writer_batch_seconds_total",
        "time spent writing batches",
        "counter",
        seconds,
    );
    let seconds = stats.settle_micros_total.load(Ordering::Relaxed) as f64 / 1e6;
    metric(
        &mut out,
        "shiplog_writer_settle_seconds_total",
        "time spent recomputing derived facts",
        "counter",
        seconds,
    );
    metric(
        &mut out,
        "shiplog_writer_queue_events",
        "events waiting for the writer",
        "gauge",
        writer.queued(),
    );
    out
}

/// One metric in the Prometheus text format: its help, its type, its value.
fn metric(out: &mut String, name: &str, help: &str, kind: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// A gauge family over services and teams: its name, its help, and its value of a
/// service's or a team's figures (`None`: no series, e.g. a median without samples).
struct Family {
    name: &'static str,
    help: &'static str,
    value: fn(&Figures) -> Option<f64>,
}

fn count(n: i64) -> Option<f64> {
    Some(n as f64)
}

/// Hours to seconds, to the microsecond (the unit instants are stored in), so that
/// 2 h is `7200` and not `7199.999999999999`.
fn seconds(hours: Option<f64>) -> Option<f64> {
    hours.map(|h| (h * 3600e6).round() / 1e6)
}

const FAMILIES: [Family; 8] = [
    Family {
        name: "shiplog_dora_deployments",
        help: "successful production deployments finished in the window",
        value: |f| count(f.deployments),
    },
    Family {
        name: "shiplog_dora_failed_deployments",
        help: "deployments in the window that failed (an attributed incident or a rollback)",
        value: |f| count(f.failed),
    },
    Family {
        name: "shiplog_dora_rework_deployments",
        help: "deployments in the window that followed a failed one (the rollback or the fix)",
        value: |f| count(f.rework),
    },
    Family {
        name: "shiplog_dora_change_failure_ratio",
        help: "failed deployments / deployments in the window (no series without deployments)",
        value: Figures::change_failure_rate,
    },
    Family {
        name: "shiplog_dora_lead_time_median_seconds",
        help: "median lead time for changes of the deployments in the window (no series without samples)",
        value: |f| seconds(f.lead_time_median_hours),
    },
    Family {
        name: "shiplog_dora_lead_time_p90_seconds",
        help: "90th percentile lead time for changes of the deployments in the window (no series without samples)",
        value: |f| seconds(f.lead_time_p90_hours),
    },
    Family {
        name: "shiplog_dora_recovery_median_seconds",
        help: "median time from a failed deployment in the window to its recovery (no series without a recovered one)",
        value: |f| seconds(f.recovery_median_hours),
    },
    Family {
        name: "shiplog_dora_restore_median_seconds",
        help: "median time to restore service of the incidents opened in the window (no series without a resolved one)",
        value: |f| seconds(f.restore_median_hours),
    },
];

/// The gauges of `dora`: the window, then each family with a series per service
/// (labels `service` and, when it has one, `team`) and per team (`team` only).
fn render(dora: &DoraFigures) -> String {
    let mut out = String::new();
    metric(
        &mut out,
        "shiplog_dora_window_seconds",
        "length of the trailing window of UTC days (today included) the shiplog_dora_* gauges cover",
        "gauge",
        dora.window.days() * 86_400,
    );
    let service_labels: Vec<String> = dora
        .services
        .iter()
        .map(|s| match &s.team {
            Some(team) => format!(
                "{{service=\"{}\",team=\"{}\"}}",
                escaped(&s.service),
                escaped(team)
            ),
            None => format!("{{service=\"{}\"}}", escaped(&s.service)),
        })
        .collect();
    let team_labels: Vec<String> = dora
        .teams
        .iter()
        .map(|t| format!("{{team=\"{}\"}}", escaped(&t.team)))
        .collect();
    let series = |out: &mut String, name: &str, labels: &str, value: Option<f64>| {
        if let Some(value) = value {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    for family in &FAMILIES {
        let name = family.name;
        let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} gauge", family.help);
        for (s, labels) in dora.services.iter().zip(&service_labels) {
            series(&mut out, name, labels, (family.value)(&s.figures));
        }
        for (t, labels) in dora.teams.iter().zip(&team_labels) {
            series(&mut out, name, labels, (family.value)(&t.figures));
        }
    }
    let name = "shiplog_dora_last_deployment_timestamp_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} end of the newest deployment, in or before the window (no series before the first)\n# TYPE {name} gauge"
    );
    for (s, labels) in dora.services.iter().zip(&service_labels) {
        series(&mut out, name, labels, s.last_deployment);
    }
    for (t, labels) in dora.teams.iter().zip(&team_labels) {
        series(&mut out, name, labels, t.last_deployment);
    }
    out
}

/// A label value as the text format writes it: backslash, double quote and line
/// feed escaped.
fn escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiplog_queries::prometheus::{ServiceFigures, TeamFigures};

    #[test]
    fn label_values_escape_backslash_quote_and_line_feed() {
        assert_eq!(escaped(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escaped("two\nlines"), "two\\nlines");
        assert_eq!(escaped("plain-name_1"), "plain-name_1");
    }

    #[test]
    fn undefined_figures_have_no_series_and_hours_become_whole_seconds() {
        let day: NaiveDate = "2026-03-01".parse().unwrap();
        let mut busy = Figures::empty(day);
        busy.deployments = 4;
        busy.failed = 1;
        busy.lead_time_samples = 3;
        busy.lead_time_median_hours = Some(2.0);
        busy.lead_time_p90_hours = Some(1.0 / 3.0);
        let dora = DoraFigures {
            window: trailing_window(day, 30),
            services: vec![
                ServiceFigures {
                    service: "ca\"rt".into(),
                    team: Some("shop".into()),
                    figures: busy.clone(),
                    last_deployment: Some(1_772_000_000.0),
                },
                ServiceFigures {
                    service: "idle".into(),
                    team: None,
                    figures: Figures::empty(day),
                    last_deployment: None,
                },
            ],
            teams: vec![TeamFigures {
                team: "shop".into(),
                figures: busy,
                last_deployment: Some(1_772_000_000.0),
            }],
        };
        let text = render(&dora);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        for expected in [
            "shiplog_dora_window_seconds 2592000",
            r#"shiplog_dora_deployments{service="ca\"rt",team="shop"} 4"#,
            r#"shiplog_dora_deployments{service="idle"} 0"#,
            r#"shiplog_dora_deployments{team="shop"} 4"#,
            r#"shiplog_dora_change_failure_ratio{service="ca\"rt",team="shop"} 0.25"#,
            r#"shiplog_dora_lead_time_median_seconds{team="shop"} 7200"#,
            r#"shiplog_dora_lead_time_p90_seconds{team="shop"} 1200"#,
            r#"shiplog_dora_last_deployment_timestamp_seconds{team="shop"} 1772000000"#,
        ] {
            assert!(lines.contains(&expected), "{expected} missing from\n{text}");
        }
        // No deployments: no ratio; no samples: no median, never 0 or NaN.
        let idle: Vec<&&str> = lines.iter().filter(|l| l.contains("\"idle\"")).collect();
        assert_eq!(
            idle,
            [
                &r#"shiplog_dora_deployments{service="idle"} 0"#,
                &r#"shiplog_dora_failed_deployments{service="idle"} 0"#,
                &r#"shiplog_dora_rework_deployments{service="idle"} 0"#,
            ]
        );
        assert_eq!(text.matches("# TYPE ").count(), 10);
    }
}
