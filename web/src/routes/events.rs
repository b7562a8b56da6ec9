//! `POST /api/v1/events`: typed events as one object, an array or NDJSON. A batch with
//! any invalid event is refused whole (`422`, every bad line listed) so that nothing
//! is half stored; a stored batch is answered `202` only after its commit.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shiplog_ingest::sources::generic::{BodyFormat, parse_body};
use shiplog_ingest::store::{Submission, WriteError};
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

/// Maps the writer's refusal to the answer the sender should act on.
pub fn write_error(error: WriteError) -> ApiError {
    ApiError::Unavailable(error.to_string())
}

pub async fn post_events(
    State(state): State<AppState>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
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
    let body = body.map_err(|rejection: BytesRejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge {
                limit: state.config.max_body_bytes,
            }
        } else {
            ApiError::BadRequest(format!("cannot read the body: {rejection}"))
        }
    })?;
    let items = parse_body(&body, format).map_err(|e| ApiError::BadRequest(e.to_string()))?;
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
        .map_err(write_error)?;
    let status = if outcome.accepted == 0 {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(outcome)).into_response())
}
