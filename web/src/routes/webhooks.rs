//! `POST /webhooks/{source}`: a sender's own payload (SPEC §6). The order is fixed:
//! verify the sender's proof of origin, map the body (a body that is not what its
//! event type says is refused with `400` before anything is stored), then store the
//! raw delivery and its typed events in one transaction. A delivery seen before
//! (same delivery id) is answered `200` and changes nothing.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use shiplog_ingest::sources::signature::{
    self, GITHUB_HEADER, GITLAB_HEADER, PAGERDUTY_HEADER, SignatureError,
};
use shiplog_ingest::sources::{Incoming, Source, map};
use shiplog_ingest::store::Submission;
use shiplog_ingest::webhook_delivery;

use super::ReadQuery;
use super::events::write_error;
use crate::app::AppState;
use crate::auth;
use crate::error::ApiError;

/// The answer to a stored (or repeated) delivery.
#[derive(Debug, Serialize)]
pub struct WebhookOutcome {
    pub accepted: usize,
    pub duplicates: usize,
    /// The raw log's key of this delivery.
    pub delivery: String,
    pub event: String,
    /// Typed events this delivery mapped to (0 for a repeat).
    pub mapped: usize,
    /// Why nothing, or less than the body suggests, was mapped.
    pub skipped: Option<String>,
}

fn unauthorized(error: SignatureError) -> ApiError {
    ApiError::Unauthorized(error.to_string())
}

fn secret_of<'a>(
    secret: Option<&'a SecretString>,
    variable: &'static str,
) -> Result<&'a [u8], ApiError> {
    secret
        .map(|s| s.expose_secret().as_bytes())
        .ok_or_else(|| unauthorized(SignatureError::NotConfigured(variable)))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the sender's own scheme; nothing is read before this passes.
fn verify(
    state: &AppState,
    source: Source,
    headers: &HeaderMap,
    query: &ReadQuery,
    body: &[u8],
) -> Result<(), ApiError> {
    let sources = &state.config.sources;
    match source {
        Source::Github => signature::verify_github(
            secret_of(sources.github_secret.as_ref(), "SHIPLOG_GITHUB_SECRET")?,
            body,
            header(headers, GITHUB_HEADER),
        )
        .map_err(unauthorized),
        Source::Gitlab => signature::verify_token(
            secret_of(sources.gitlab_token.as_ref(), "SHIPLOG_GITLAB_TOKEN")?,
            header(headers, GITLAB_HEADER),
            "X-Gitlab-Token",
        )
        .map_err(unauthorized),
        Source::Pagerduty => signature::verify_pagerduty(
            secret_of(
                sources.pagerduty_secret.as_ref(),
                "SHIPLOG_PAGERDUTY_SECRET",
            )?,
            body,
            header(headers, PAGERDUTY_HEADER),
        )
        .map_err(unauthorized),
        Source::Argocd => auth::require(
            sources.argocd_token.as_ref(),
            auth::presented(headers, query.token.as_deref()),
            "SHIPLOG_ARGOCD_TOKEN",
            false,
        ),
        Source::Cdevents => auth::require(
            sources.cdevents_token.as_ref(),
            auth::presented(headers, query.token.as_deref()),
            "SHIPLOG_CDEVENTS_TOKEN",
            false,
        ),
    }
}

/// The headers the adapter reads and the raw log keeps, names lower-case.
fn kept_headers(source: Source, headers: &HeaderMap) -> BTreeMap<String, String> {
    source
        .kept_headers()
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), header(headers, name)?.to_owned())))
        .collect()
}

pub async fn receive(
    State(state): State<AppState>,
    Path(source): Path<String>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    state.count_request();
    let source = Source::parse(&source).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no webhook source {source:?}: use one of {}",
            Source::ALL.map(Source::as_str).join(", ")
        ))
    })?;
    let limit = body_limit(&state, source);
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit }
        } else {
            ApiError::BadRequest(format!("cannot read the body: {rejection}"))
        }
    })?;
    if body.len() > limit {
        return Err(ApiError::TooLarge { limit });
    }
    verify(&state, source, &headers, &query, &body)?;

    let kept = kept_headers(source, &headers);
    let incoming = Incoming {
        headers: &kept,
        body: &body,
    };
    let mapping = map(source, &incoming, &state.config.routing)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::BadRequest(format!("the body is not UTF-8: {e}")))?;
    let skipped = mapping.skipped.clone();
    let event = mapping.event_type.clone();
    let mapped = mapping.events.len();
    let delivery = webhook_delivery(source, &kept, text, mapping, chrono::Utc::now());
    let key = delivery.delivery_key.clone();
    if let Some(reason) = &skipped {
        tracing::info!(%source, %event, delivery = %key, %reason, "delivery stored, not (fully) mapped");
    }
    let outcome = state
        .db
        .writer
        .submit(Submission {
            deliveries: vec![delivery],
        })
        .await
        .map_err(write_error)?;
    let repeat = outcome.accepted == 0;
    let answer = WebhookOutcome {
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
        delivery: key,
        event,
        mapped: if repeat { 0 } else { mapped },
        skipped,
    };
    let status = if repeat {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(answer)).into_response())
}

/// GitHub sends bodies up to 25 MB; the others get `max_body_bytes` (SPEC §5).
pub fn body_limit(state: &AppState, source: Source) -> usize {
    match source {
        Source::Github => crate::app::GITHUB_BODY_LIMIT.max(state.config.max_body_bytes),
        _ => state.config.max_body_bytes,
    }
}
