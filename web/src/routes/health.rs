//! `GET /healthz` (liveness) and `GET /readyz` (readiness), never behind a token, and
//! `GET /metrics` (Prometheus, behind the read token: `auth::guard`).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use serde_json::json;

use crate::app::AppState;

/// What the probes report: the writer, the storage, the derived facts and the queue.
fn report(state: &AppState, status: &str) -> serde_json::Value {
    let health = state.db.writer.health();
    let word = |ok: bool, bad: &'static str| if ok { "ok" } else { bad };
    json!({
        "status": status,
        "writer": word(health.running, "stopped"),
        "storage": word(!health.storage_failing, "failing"),
        "derived_facts": word(!health.derivation_failing, "failing"),
        "queue": { "events": health.queued, "capacity": health.capacity },
        "draining": state.drain.is_draining(),
    })
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// `GET /healthz`, liveness: `200` while the writer runs, `503` once it has stopped
/// without a shutdown (only a restart brings it back). Failing storage is reported
/// but keeps it `200`: a restart does not empty a full disk, and restarting in a loop
/// would hide the message; readiness takes the server out of rotation instead.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    responses(
        (status = 200, description = "Alive", body = crate::openapi::HealthReport),
        (status = 503, description = "The writer has stopped; restart the server", body = crate::openapi::HealthReport),
    ),
)]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let health = state.db.writer.health();
    if health.running || state.drain.is_draining() {
        answer(StatusCode::OK, report(&state, "ok"))
    } else {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            report(
                &state,
                "the writer has stopped; restart the server (its log says why)",
            ),
        )
    }
}

/// `GET /readyz`, readiness: `200` when a delivery sent now would be stored; `503`
/// while the server drains for a shutdown, the writer has stopped, the last batch
/// failed in storage, or the queue is full.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    responses(
        (status = 200, description = "A delivery sent now would be stored", body = crate::openapi::HealthReport),
        (status = 503, description = "Draining, writer stopped, storage failing or queue full", body = crate::openapi::HealthReport),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let health = state.db.writer.health();
    let trouble = if state.drain.is_draining() {
        Some("the server is shutting down")
    } else if !health.running {
        Some("the writer has stopped")
    } else if health.storage_failing {
        Some("storage is failing: the last batch was not stored")
    } else if health.queued >= health.capacity {
        Some("the writer's queue is full")
    } else {
        None
    };
    match trouble {
        None => answer(StatusCode::OK, report(&state, "ready")),
        Some(why) => answer(StatusCode::SERVICE_UNAVAILABLE, report(&state, why)),
    }
}

/// The server's counters in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "probes",
    params(
        ("token" = Option<String>, Query, description = "The token, when no `Authorization` header can be sent"),
    ),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"),
        (status = 401, description = "Missing or wrong read token", body = crate::openapi::ErrorBody),
    ),
    security((), ("read_token" = [])),
)]
pub async fn prometheus(State(state): State<AppState>) -> Response {
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
    response
}

/// One metric in the Prometheus text format: its help, its type, its value.
fn metric(out: &mut String, name: &str, help: &str, kind: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}
