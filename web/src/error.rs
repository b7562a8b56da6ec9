//! The API's error type: each kind maps to a status and the JSON body SPEC §5 gives,
//! `{"error": "...", "detail": ...}`, with a message that tells the sender what to fix.
//! Internal details are logged once here and never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shiplog_ingest::sources::generic::LineError;

/// The message of an error response, kept as a response extension so that the
/// dashboard can render the same words as a page.
#[derive(Debug, Clone)]
pub struct Message(pub String);

/// A `422` lists at most this many bad events; its message gives the count of all.
pub const MAX_LISTED_ERRORS: usize = 100;

/// A listed error is cut at this many characters (an error may quote what was sent).
const MAX_ERROR_CHARS: usize = 300;

fn shortened(error: String) -> String {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &error[..end]),
        None => error,
    }
}

#[derive(Debug)]
pub enum ApiError {
    /// `400`: the body or the query cannot be read.
    BadRequest(String),
    /// `401`: missing or wrong credentials, or none configured for the route.
    Unauthorized(String),
    /// `404`: no such resource (an unknown webhook source).
    NotFound(String),
    /// `405`: the route exists but not for this method.
    MethodNotAllowed(String),
    /// `413`: the body is over the route's limit.
    TooLarge { limit: usize },
    /// `413`: more events in one body than the writer's queue holds
    /// (`writer_queue_events`).
    TooManyEvents { limit: usize },
    /// `415`: neither JSON nor NDJSON.
    UnsupportedMediaType(String),
    /// `422`: some events are invalid; the batch was refused whole.
    Invalid(Vec<LineError>),
    /// `503` with `Retry-After` in seconds: temporary trouble; the sender should retry
    /// after about that long (for a full queue, about how long it takes to drain).
    Unavailable { message: String, retry_after: u64 },
    /// `500`: a read failed; logged, not explained to the client.
    Internal(String),
}

impl ApiError {
    /// `503` for trouble that should pass within a second or so.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::Unavailable {
            message: message.into(),
            retry_after: 1,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, detail) = match self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message, Value::Null),
            ApiError::Unauthorized(message) => (StatusCode::UNAUTHORIZED, message, Value::Null),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, message, Value::Null),
            ApiError::MethodNotAllowed(message) => {
                (StatusCode::METHOD_NOT_ALLOWED, message, Value::Null)
            }
            ApiError::TooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than this route's limit of {limit} bytes; send smaller batches"
                ),
                json!({ "limit_bytes": limit }),
            ),
            ApiError::TooManyEvents { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body holds more than {limit} events, the most one request may carry (writer_queue_events); send smaller batches"
                ),
                json!({ "limit_events": limit }),
            ),
            ApiError::UnsupportedMediaType(message) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, message, Value::Null)
            }
            ApiError::Invalid(lines) => {
                let total = lines.len();
                let listed = if total > MAX_LISTED_ERRORS {
                    format!(" (the first {MAX_LISTED_ERRORS} are listed)")
                } else {
                    String::new()
                };
                let detail: Vec<LineError> = lines
                    .into_iter()
                    .take(MAX_LISTED_ERRORS)
                    .map(|line| LineError {
                        error: shortened(line.error),
                        ..line
                    })
                    .collect();
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "{total} invalid event(s){listed}; nothing was stored: fix them and resend the whole batch"
                    ),
                    json!(detail),
                )
            }
            ApiError::Unavailable {
                message,
                retry_after,
            } => {
                tracing::warn!(%message, "refused for now");
                let error = format!("{message}; retry shortly");
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "error": error.clone(), "detail": null })),
                )
                    .into_response();
                response.extensions_mut().insert(Message(error));
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                return response;
            }
            ApiError::Internal(message) => {
                tracing::error!(%message, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log".to_owned(),
                    Value::Null,
                )
            }
        };
        let mut response = (
            status,
            Json(json!({ "error": error.clone(), "detail": detail })),
        )
            .into_response();
        response.extensions_mut().insert(Message(error));
        response
    }
}
