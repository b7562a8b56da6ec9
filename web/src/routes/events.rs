//! `POST /api/v1/events`: typed events as one object, an array or NDJSON. A batch with
//! any invalid event is refused whole (`422`, the bad lines listed) so that nothing
//! is half stored; a stored batch is answered `202` only after its commit. The ingest
//! token is checked before the handler runs (`auth::guard`), so before a byte of the
//! body is read. The same handler ([`accept`]) runs in a `shiplog ingest` replica,
//! which publishes the events to JetStream instead of writing them
//! (`intake::Destination`).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shiplog_ingest::sources::generic::{BodyError, BodyFormat, parse_body};
use std::sync::atomic::Ordering;

use shiplog_ingest::store::{WriteError, Writer, WriterStats};
use shiplog_ingest::typed_delivery;

use crate::app::AppState;
use crate::error::ApiError;
use crate::intake::Intake;

/// The body's framing from `Content-Type` (SPEC §5).
fn body_format(headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(BodyFormat::Sniff);
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => Ok(BodyFormat::Json),
        "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonl"
        | "application/x-jsonlines" => Ok(BodyFormat::Ndjson),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "content type {other:?} is not accepted: send application/json (an object or an array) or application/x-ndjson"
        ))),
    }
}

/// Maps the writer's refusal to the answer the sender should act on: every kind is
/// `503` (SPEC §5), in words that name the trouble and never the storage's own error
/// text or paths (those go to the log).
pub fn write_error(writer: &Writer, error: WriteError) -> ApiError {
    match error {
        WriteError::Busy => {
            let queued = writer.queued();
            ApiError::Unavailable {
                message: format!("the writer's queue is full ({queued} events waiting)"),
                retry_after: drain_seconds(writer.stats(), queued),
            }
        }
        WriteError::Closed => ApiError::unavailable("the server is shutting down"),
        WriteError::Stopped => ApiError::unavailable(
            "the writer has stopped and the server needs a restart (its log says why)",
        ),
        WriteError::Storage(failure) => {
            tracing::error!(error = %failure, "storage failed");
            ApiError::unavailable(
                "storage is failing, nothing was stored (the server log says why)",
            )
        }
    }
}

/// Seconds until `queued` events are written at the pace the writer has kept so far
/// (1 to 60), for `Retry-After`.
fn drain_seconds(stats: &WriterStats, queued: usize) -> u64 {
    let stored = stats.deliveries_accepted.load(Ordering::Relaxed)
        + stats.deliveries_duplicate.load(Ordering::Relaxed);
    let micros = stats.batch_micros_total.load(Ordering::Relaxed);
    if stored == 0 || micros == 0 {
        return 1;
    }
    let seconds = queued as f64 * micros as f64 / 1e6 / stored as f64;
    (seconds.ceil() as u64).clamp(1, 60)
}

/// Stores typed events (SPEC §2): one object, an array, or NDJSON.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "ingest",
    request_body(
        description = "One event, an array of events (`application/json`), or one event per line (`application/x-ndjson`)",
        content(
            (crate::openapi::EventsBody = "application/json"),
            (String = "application/x-ndjson"),
        ),
    ),
    params(
        ("token" = Option<String>, Query, description = "The token, when no `Authorization` header can be sent"),
    ),
    responses(
        (status = 200, description = "Every event was already stored; nothing new", body = crate::openapi::IngestOutcome),
        (status = 202, description = "Stored durably", body = crate::openapi::IngestOutcome),
        (status = 400, description = "The body or the query cannot be read", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong token, or none configured (the message names the variable)", body = crate::openapi::ErrorBody),
        (status = 413, description = "The body is over the route's limit", body = crate::openapi::ErrorBody),
        (status = 415, description = "Neither JSON nor NDJSON", body = crate::openapi::ErrorBody),
        (status = 422, description = "Invalid events; nothing was stored (`detail` lists them)", body = crate::openapi::ErrorBody),
        (status = 503, description = "Temporary trouble (full queue, failing storage, shutting down); see `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("ingest_token" = [])),
)]
pub async fn post_events(
    state: State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    accept(state, headers, body).await
}

/// [`post_events`] in any server that takes deliveries: `shiplog serve`, or a
/// `shiplog ingest` replica.
pub async fn accept<S: Intake>(
    State(state): State<S>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.count_request();
    let config = state.config();
    let format = body_format(&headers)?;
    let body = state
        .bodies()
        .read(&headers, body, config.max_body_bytes)
        .await?;
    let items = parse_body(&body, format, config.writer_queue_events).map_err(|e| match e {
        BodyError::TooManyEvents { limit } => ApiError::TooManyEvents { limit },
        other => ApiError::BadRequest(other.to_string()),
    })?;
    let (good, bad): (Vec<_>, Vec<_>) = items.into_iter().partition(Result::is_ok);
    if !bad.is_empty() {
        return Err(ApiError::Invalid(
            bad.into_iter().filter_map(Result::err).collect(),
        ));
    }
    let received_at = chrono::Utc::now();
    let deliveries = good
        .into_iter()
        .flatten()
        .map(|p| typed_delivery("api", p, received_at))
        .collect();
    let outcome = state.destination().store(deliveries).await?;
    let status = if outcome.accepted == 0 {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(outcome)).into_response())
}
