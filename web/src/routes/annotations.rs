//! `POST /api/v1/annotations`: a note a team leaves on its timeline ("moved to
//! trunk-based development", "new on-call rota"), drawn on the dashboard's charts and
//! listed in the digest. Behind the ingest token; stored as a typed `annotation` event
//! (SPEC §2's wire form with `type: annotation`), so it is in the raw log, the backups
//! and the export like every other event.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use shiplog_ingest::sources::generic::{LineError, content_key, parse_event_text};
use shiplog_ingest::store::Submission;
use shiplog_ingest::typed_delivery;

use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::events::write_error;

/// An annotation is one short object: its text is at most 64 KiB (`TEXT_MAX_BYTES`).
const BODY_LIMIT: usize = 128 * 1024;

/// The keys the route takes.
const KEYS: [&str; 5] = ["id", "at", "text", "service", "team"];

/// What a stored annotation is answered with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnnotationOutcome {
    /// The annotation's id: the one sent, or one made from its content, so that the
    /// same note posted twice is stored once.
    pub id: String,
    pub accepted: usize,
    pub duplicates: usize,
}

/// The typed event for `body`: its `id`, else one made from the content; its `at`,
/// else `now`.
fn annotation_event(body: &[u8], now: chrono::DateTime<chrono::Utc>) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let Value::Object(mut fields) = value else {
        return Err(ApiError::BadRequest(
            "an annotation is a JSON object: {\"at\", \"text\", \"service\"?, \"team\"?}".into(),
        ));
    };
    if let Some(unknown) = fields.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "unknown field `{unknown}`: an annotation takes {}",
            KEYS.join(", ")
        )));
    }
    if fields.get("at").is_none_or(Value::is_null) {
        fields.insert(
            "at".into(),
            Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
    }
    if fields.get("id").is_none_or(Value::is_null) {
        let key = content_key(&Value::Object(fields.clone()));
        let hash = key.trim_start_matches("sha256:");
        fields.insert(
            "id".into(),
            Value::String(format!("annotation-{}", &hash[..16])),
        );
    }
    let mut event = Map::from_iter([("type".to_owned(), Value::from("annotation"))]);
    event.extend(fields);
    Ok(Value::Object(event))
}

fn invalid(error: String) -> ApiError {
    ApiError::Invalid(vec![LineError { line: 1, error }])
}

/// Stores one annotation.
#[utoipa::path(
    post,
    path = "/api/v1/annotations",
    tag = "ingest",
    request_body(
        description = "`{\"at\": RFC 3339 (default: now), \"text\", \"service\"?, \"team\"?, \"id\"?}`; neither service nor team: the whole organisation",
        content((crate::openapi::AnnotationBody = "application/json")),
    ),
    params(
        ("token" = Option<String>, Query, description = "The token, when no `Authorization` header can be sent"),
    ),
    responses(
        (status = 200, description = "Already stored; nothing new", body = AnnotationOutcome),
        (status = 202, description = "Stored durably", body = AnnotationOutcome),
        (status = 400, description = "The body is not a JSON object", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong ingest token", body = crate::openapi::ErrorBody),
        (status = 413, description = "The body is over the route's limit", body = crate::openapi::ErrorBody),
        (status = 422, description = "A field is missing or invalid (`detail` names it)", body = crate::openapi::ErrorBody),
        (status = 503, description = "Temporary trouble; see `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("ingest_token" = [])),
)]
pub async fn post_annotation(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.count_request();
    let body = state.bodies.read(&headers, body, BODY_LIMIT).await?;
    let received_at = chrono::Utc::now();
    let value = annotation_event(&body, received_at)?;
    let id = value["id"].as_str().unwrap_or_default().to_owned();
    let parsed = parse_event_text(1, &value.to_string()).map_err(|e| ApiError::Invalid(vec![e]))?;
    let outcome = state
        .db
        .writer
        .submit(Submission {
            deliveries: vec![typed_delivery("api", parsed, received_at)],
        })
        .await
        .map_err(|e| write_error(&state.db.writer, e))?;
    let status = if outcome.accepted == 0 {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let answer = AnnotationOutcome {
        id,
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
    };
    Ok((status, Json(answer)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> chrono::DateTime<chrono::Utc> {
        "2026-03-02T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_same_note_gets_the_same_id_and_a_missing_time_is_now() {
        let a =
            annotation_event(br#"{"text":"new on-call rota","team":"payments"}"#, now()).unwrap();
        let b =
            annotation_event(br#"{"team":"payments","text":"new on-call rota"}"#, now()).unwrap();
        assert_eq!(a["id"], b["id"]);
        assert!(a["id"].as_str().unwrap().starts_with("annotation-"));
        assert_eq!(a["at"], "2026-03-02T10:00:00.000Z");
        let other = annotation_event(br#"{"text":"another","team":"payments"}"#, now()).unwrap();
        assert_ne!(a["id"], other["id"]);
        let kept = annotation_event(br#"{"id":"mine","text":"x"}"#, now()).unwrap();
        assert_eq!(kept["id"], "mine");
    }

    #[test]
    fn unknown_fields_and_bodies_that_are_not_objects_are_refused_by_name() {
        let e = annotation_event(br#"{"text":"x","colour":"red"}"#, now()).unwrap_err();
        assert!(format!("{e:?}").contains("colour"), "{e:?}");
        assert!(annotation_event(b"[1]", now()).is_err());
        assert!(annotation_event(b"not json", now()).is_err());
    }

    #[test]
    fn a_missing_text_is_named_by_the_parser() {
        let value = annotation_event(br#"{"service":"shop"}"#, now()).unwrap();
        let e = parse_event_text(1, &value.to_string()).unwrap_err();
        assert!(e.error.contains("`text` is required"), "{e:?}");
    }
}
