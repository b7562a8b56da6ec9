//! `POST /api/v1/events`: typed events as one object, an array or NDJSON. A batch with
//! any invalid event is refused whole (`422`, the bad lines listed) so that nothing
//! is half stored; a stored batch is answered `202` only after its commit. The token
//! is checked before a byte of the body is read.

use crate::extract::Query;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shiplog_ingest::sources::generic::{BodyError, BodyFormat, parse_body};
use std::sync::atomic::Ordering;

use shiplog_ingest::store::{Submission, WriteError, Writer, WriterStats};
use shiplog_ingest::typed_delivery;

use super::ReadQuery;
use crate::app::{AppState, Mode};
use crate::auth;
use crate::error::ApiError;

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
            ApiError::Busy {
                message: format!("the writer's queue is full ({queued} events waiting)"),
                retry_after: drain_seconds(writer.stats(), queued),
            }
        }
        WriteError::Closed => ApiError::Unavailable("the server is shutting down".into()),
        WriteError::Stopped => ApiError::Unavailable(
            "the writer has stopped and the server needs a restart (its log says why)".into(),
        ),
        WriteError::Storage(failure) => {
            tracing::error!(error = %failure, "storage failed");
            ApiError::Unavailable(
                "storage is failing, nothing was stored (the server log says why)".into(),
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

pub async fn post_events(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.count_request();
    let presented = auth::presented(&headers, query.token.as_deref());
    auth::require(
        state.config.tokens.ingest.as_ref(),
        presented,
        "SHIPLOG_INGEST_TOKEN",
        state.mode == Mode::Demo,
    )?;
    let format = body_format(&headers)?;
    let body = state
        .bodies
        .read(&headers, body, state.config.max_body_bytes)
        .await?;
    let items =
        parse_body(&body, format, state.config.writer_queue_events).map_err(|e| match e {
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
    let outcome = state
        .db
        .writer
        .submit(Submission { deliveries })
        .await
        .map_err(|e| write_error(&state.db.writer, e))?;
    let status = if outcome.accepted == 0 {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(outcome)).into_response())
}
