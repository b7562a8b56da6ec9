//! `POST /webhooks/{source}`: a sender's own payload (SPEC §6). The order is fixed:
//! an unknown source is `404` and credentials the headers can prove are checked
//! before the body is read; then the body is read within the route's limit, its
//! signature verified, and it is mapped. A body that is JSON but cannot be mapped is
//! stored unmapped with the reason (answered `202` with it, replayable once the
//! mapping or the config is fixed); only a body that is not JSON is `400`. The raw
//! delivery and its typed events are stored in one transaction. A delivery seen
//! before (same delivery id) is answered `200` and changes nothing.
//!
//! The same handler ([`accept`]) runs in `shiplog serve`, which stores through its
//! writer, and in a `shiplog ingest` replica, which publishes to JetStream instead
//! (`intake::Destination`); only that last step differs.

use std::collections::BTreeMap;

use crate::extract::{Path, Query};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use shiplog_ingest::sources::signature::{
    self, BUILDKITE_SIGNATURE_HEADER, BUILDKITE_TOKEN_HEADER, CIRCLECI_HEADER, GITHUB_HEADER,
    GITLAB_HEADER, PAGERDUTY_HEADER, SignatureError,
};
use shiplog_ingest::sources::{Incoming, Source, map_or_keep};
use shiplog_ingest::webhook_delivery;

use super::ReadQuery;
use crate::app::AppState;
use crate::auth;
use crate::config::Config;
use crate::error::ApiError;
use crate::intake::Intake;

/// The answer to a stored (or repeated) delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// A sender's check of its signature header over the body, with its secret.
type Verify = fn(&[u8], &[u8], Option<&str>) -> Result<(), SignatureError>;

/// A signature over the body (GitHub, PagerDuty, CircleCI, Buildkite), checked once the body is read.
struct BodySignature<'a> {
    secret: &'a [u8],
    header: Option<&'a str>,
    verify: Verify,
}

impl BodySignature<'_> {
    /// Nothing is mapped or stored before this passes.
    fn verify(&self, body: &[u8]) -> Result<(), ApiError> {
        (self.verify)(self.secret, body, self.header).map_err(unauthorized)
    }
}

/// What the headers alone can prove, checked before a byte of the body is read: a
/// token scheme (GitLab, ArgoCD, Argo Rollouts, CDEvents, Opsgenie, Jira, a Buildkite token)
/// whole; a signature over the body (GitHub, PagerDuty, CircleCI, Buildkite) as far as its secret is configured and its header present, the rest of
/// it returned for when the body has been read.
fn admit<'a>(
    config: &'a Config,
    source: Source,
    headers: &'a HeaderMap,
    query: &ReadQuery,
) -> Result<Option<BodySignature<'a>>, ApiError> {
    let sources = &config.sources;
    let signed = |secret: Option<&'a SecretString>, variable, name, shown, verify| {
        let secret = secret_of(secret, variable)?;
        let header = header(headers, name);
        match header {
            Some(_) => Ok(Some(BodySignature {
                secret,
                header,
                verify,
            })),
            None => Err(unauthorized(SignatureError::Missing(shown))),
        }
    };
    let token = |checked: Result<(), ApiError>| checked.map(|()| None);
    // A token the sender puts in its own header `name` (GitLab, Buildkite).
    let in_header = |secret: Option<&SecretString>,
                     variable: &'static str,
                     name: &str,
                     shown: &'static str|
     -> Result<Option<BodySignature<'a>>, ApiError> {
        token(
            signature::verify_token(secret_of(secret, variable)?, header(headers, name), shown)
                .map_err(unauthorized),
        )
    };
    // A bearer token (`Authorization: Bearer`, or `?token=`), set by `variable`.
    let bearer = |secret: Option<&SecretString>, variable| {
        token(auth::require(
            secret,
            auth::presented(headers, query.token.as_deref()),
            variable,
            false,
        ))
    };
    match source {
        Source::Github => signed(
            sources.github_secret.as_ref(),
            "SHIPLOG_GITHUB_SECRET",
            GITHUB_HEADER,
            "X-Hub-Signature-256",
            signature::verify_github,
        ),
        Source::Pagerduty => signed(
            sources.pagerduty_secret.as_ref(),
            "SHIPLOG_PAGERDUTY_SECRET",
            PAGERDUTY_HEADER,
            "X-PagerDuty-Signature",
            signature::verify_pagerduty,
        ),
        Source::Circleci => signed(
            sources.circleci_secret.as_ref(),
            "SHIPLOG_CIRCLECI_SECRET",
            CIRCLECI_HEADER,
            "circleci-signature",
            signature::verify_circleci,
        ),
        Source::Gitlab => in_header(
            sources.gitlab_token.as_ref(),
            "SHIPLOG_GITLAB_TOKEN",
            GITLAB_HEADER,
            "X-Gitlab-Token",
        ),
        // Buildkite sends its token either as it is or as a signature, as its webhook
        // is set; both are the same secret.
        Source::Buildkite if header(headers, BUILDKITE_TOKEN_HEADER).is_some() => in_header(
            sources.buildkite_secret.as_ref(),
            "SHIPLOG_BUILDKITE_SECRET",
            BUILDKITE_TOKEN_HEADER,
            "X-Buildkite-Token",
        ),
        Source::Buildkite => signed(
            sources.buildkite_secret.as_ref(),
            "SHIPLOG_BUILDKITE_SECRET",
            BUILDKITE_SIGNATURE_HEADER,
            "X-Buildkite-Signature (or X-Buildkite-Token)",
            signature::verify_buildkite,
        ),
        Source::Argocd => bearer(sources.argocd_token.as_ref(), "SHIPLOG_ARGOCD_TOKEN"),
        Source::ArgoRollouts => bearer(
            sources.argo_rollouts_token.as_ref(),
            "SHIPLOG_ARGO_ROLLOUTS_TOKEN",
        ),
        Source::Cdevents => bearer(sources.cdevents_token.as_ref(), "SHIPLOG_CDEVENTS_TOKEN"),
        // Opsgenie's webhook integration adds custom headers; Jira Cloud's webhooks
        // sign nothing and take a secret only in their URL (`?token=`), Jira
        // automation's web requests a header.
        Source::Opsgenie => bearer(sources.opsgenie_token.as_ref(), "SHIPLOG_OPSGENIE_TOKEN"),
        Source::Jira => bearer(sources.jira_token.as_ref(), "SHIPLOG_JIRA_TOKEN"),
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

/// A sender's own payload (SPEC §6), verified with its own scheme.
#[utoipa::path(
    post,
    path = "/webhooks/{source}",
    tag = "ingest",
    params(
        ("source" = crate::openapi::WebhookSource, Path, description = "The sender: github, gitlab, argocd, argo-rollouts, pagerduty, cdevents, opsgenie, jira, circleci or buildkite"),
        ("token" = Option<String>, Query, description = "ArgoCD's, Argo Rollouts', CDEvents', Opsgenie's or Jira's token, when no `Authorization` header can be sent (Jira Cloud's webhooks send none)"),
        ("X-Hub-Signature-256" = Option<String>, Header, description = "GitHub's HMAC-SHA256 of the body"),
        ("X-GitHub-Delivery" = Option<String>, Header, description = "GitHub's delivery id"),
        ("X-GitHub-Event" = Option<String>, Header, description = "GitHub's event name"),
        ("X-Gitlab-Token" = Option<String>, Header, description = "GitLab's token"),
        ("X-PagerDuty-Signature" = Option<String>, Header, description = "PagerDuty's `v1=` HMAC list"),
        ("X-Atlassian-Webhook-Identifier" = Option<String>, Header, description = "Jira Cloud's delivery id"),
        ("circleci-signature" = Option<String>, Header, description = "CircleCI's `v1=` HMAC-SHA256 of the body"),
        ("circleci-event-type" = Option<String>, Header, description = "CircleCI's event type"),
        ("X-Buildkite-Signature" = Option<String>, Header, description = "Buildkite's `timestamp=…,signature=…` HMAC-SHA256 of the timestamp and the body"),
        ("X-Buildkite-Token" = Option<String>, Header, description = "Buildkite's token, when its webhook sends the token instead of a signature"),
        ("X-Buildkite-Event" = Option<String>, Header, description = "Buildkite's event name"),
    ),
    request_body(description = "The sender's JSON payload", content((serde_json::Value = "application/json"))),
    responses(
        (status = 200, description = "This delivery was stored before; nothing changed", body = WebhookOutcome),
        (status = 202, description = "Stored (mapped, or unmapped with the reason in `skipped`)", body = WebhookOutcome),
        (status = 400, description = "The body or the query cannot be read", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong token, or none configured (the message names the variable)", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such resource", body = crate::openapi::ErrorBody),
        (status = 413, description = "The body is over the route's limit", body = crate::openapi::ErrorBody),
        (status = 503, description = "Temporary trouble (full queue, failing storage, shutting down); see `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security((), ("webhook_token" = [])),
)]
pub async fn receive(
    state: State<AppState>,
    source: Path<String>,
    query: Query<ReadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    accept(state, source, query, headers, body).await
}

/// [`receive`] in any server that takes deliveries: `shiplog serve`, or a
/// `shiplog ingest` replica.
pub async fn accept<S: Intake>(
    State(state): State<S>,
    Path(source): Path<String>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.count_request();
    let config = state.config();
    let source = Source::parse(&source).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no webhook source {source:?}: use one of {}",
            Source::ALL.map(Source::as_str).join(", ")
        ))
    })?;
    let signature = admit(config, source, &headers, &query)?;
    let body = state
        .bodies()
        .read(&headers, body, body_limit(config, source))
        .await?;
    if let Some(signature) = signature {
        signature.verify(&body)?;
    }

    let kept = kept_headers(source, &headers);
    let incoming = Incoming {
        headers: &kept,
        body: &body,
    };
    let mapping = map_or_keep(source, &incoming, &config.routing)
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
    let outcome = state.destination().store(vec![delivery]).await?;
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
pub fn body_limit(config: &Config, source: Source) -> usize {
    match source {
        Source::Github => crate::app::GITHUB_BODY_LIMIT.max(config.max_body_bytes),
        _ => config.max_body_bytes,
    }
}
