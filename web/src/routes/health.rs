//! `GET /healthz` (liveness) and `GET /readyz` (readiness), never behind a token
//! (`GET /metrics`, for Prometheus, is `prometheus.rs`).

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
