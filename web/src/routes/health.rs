//! `GET /healthz` (liveness, never behind a token) and `GET /metrics` (Prometheus).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::ReadQuery;
use super::metrics::require_read;
use crate::app::AppState;
use crate::error::ApiError;

pub async fn healthz() -> &'static str {
    "ok\n"
}

pub async fn prometheus(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_read(&state, &headers, &query)?;
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
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// One metric in the Prometheus text format: its help, its type, its value.
fn metric(out: &mut String, name: &str, help: &str, kind: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}
