//! The OpenAPI 3.1 description of the HTTP API, served at `GET /api/v1/openapi.json`.
//! It is generated (utoipa) from the `#[utoipa::path]` attribute on each API handler
//! in `routes/` and from the wire forms below; `tests/openapi.rs` checks that it
//! describes every route of `app::routes()` except the dashboard's pages and its
//! stylesheet, and `.ci/schemathesis.sh` tests the live server against it.
//!
//! The answers' schemas are derived on the types that are serialized
//! (`shiplog_queries::Metrics`, `replay::ReplaySummary`, `cli::backup::BackupSummary`
//! with `ingest`'s backup manifest), so they cannot drift from them. Described here:
//! the error body and the ingest outcome (built as JSON by the handlers), and the
//! typed events, which `ingest` parses field by field rather than through a serde type.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::routes;

/// The query parameters of the two read routes, `/api/v1/metrics` and
/// `/reports/weekly.csv` (the part of `routes::ReadQuery` they take).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Only described, never built: the routes read `ReadQuery`.
pub struct ReadPeriod {
    /// First day, `YYYY-MM-DD` (with `to`; both absent or empty: the last 90 days)
    #[param(pattern = r"^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    from: Option<String>,
    /// Day after the last, `YYYY-MM-DD`, after `from`
    #[param(pattern = r"^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    to: Option<String>,
    /// A preset period when `from`/`to` are absent: 7, 30, 90 or 365
    #[param(value_type = Option<PresetDays>)]
    days: Option<String>,
    /// Only this service
    service: Option<String>,
    /// Only this team's services
    team: Option<String>,
    /// The token, when no `Authorization` header can be sent
    token: Option<String>,
}

/// SPEC §5's error body, for every refusal.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What is wrong, and what to do about it.
    pub error: String,
    /// `null`, or more: the bad events of a `422` (`[{"line": N, "error": "…"}]`), the
    /// limit of a `413` (`{"limit_bytes": N}` or `{"limit_events": N}`).
    pub detail: serde_json::Value,
}

/// The answer to stored events (`202`) or to events all stored before (`200`).
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestOutcome {
    /// Events stored by this request.
    pub accepted: usize,
    /// Events already stored, not stored again.
    pub duplicates: usize,
}

/// A pull request, on the change that is its merge (or squash) commit.
#[derive(Debug, Serialize, ToSchema)]
pub struct PullRequest {
    pub number: Option<i64>,
    #[schema(format = DateTime)]
    pub first_commit_at: Option<String>,
    #[schema(format = DateTime)]
    pub opened_at: Option<String>,
    #[schema(format = DateTime)]
    pub merged_at: Option<String>,
}

/// SPEC §2's typed events, selected by `type`; other fields are ignored (the raw log
/// keeps them). The lengths are the model's limits in bytes (`NAME_MAX_BYTES`,
/// `ID_MAX_BYTES`); what a schema cannot say is answered `422`: a name that is blank
/// or holds a control character, a sha with whitespace or a comma, a service named
/// `ALL`, a timestamp that is not RFC 3339.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    Change {
        #[schema(min_length = 1, max_length = 256)]
        repo: String,
        #[schema(min_length = 1, max_length = 256)]
        sha: String,
        #[schema(format = DateTime)]
        committed_at: String,
        parents: Option<Vec<String>>,
        #[schema(format = DateTime)]
        authored_at: Option<String>,
        author: Option<String>,
        message: Option<String>,
        pr: Option<PullRequest>,
    },
    Deployment {
        #[schema(min_length = 1, max_length = 1024)]
        id: String,
        #[schema(min_length = 1, max_length = 256)]
        service: String,
        #[schema(min_length = 1, max_length = 256)]
        sha: String,
        #[schema(format = DateTime)]
        finished_at: String,
        /// Default (also when empty): `production`.
        environment: Option<String>,
        #[schema(min_length = 1, max_length = 256)]
        repo: Option<String>,
        /// Any string; only `success` (or none) is successful.
        status: Option<String>,
        #[schema(format = DateTime)]
        started_at: Option<String>,
        team: Option<String>,
    },
    Incident {
        #[schema(min_length = 1, max_length = 1024)]
        id: String,
        #[schema(min_length = 1, max_length = 256)]
        service: String,
        #[schema(format = DateTime)]
        opened_at: String,
        #[schema(format = DateTime)]
        resolved_at: Option<String>,
        severity: Option<String>,
        #[schema(min_length = 1, max_length = 1024)]
        deployment_id: Option<String>,
        #[schema(min_length = 1, max_length = 256)]
        sha: Option<String>,
        title: Option<String>,
    },
    Build {
        #[schema(min_length = 1, max_length = 1024)]
        id: String,
        #[schema(min_length = 1, max_length = 256)]
        repo: String,
        #[schema(min_length = 1, max_length = 256)]
        sha: String,
        #[schema(min_length = 1)]
        status: String,
        #[schema(format = DateTime)]
        finished_at: String,
        branch: Option<String>,
        #[schema(format = DateTime)]
        started_at: Option<String>,
        provider: Option<String>,
    },
    /// A note on a timeline; neither `service` nor `team`: the whole organisation.
    Annotation {
        #[schema(min_length = 1, max_length = 1024)]
        id: String,
        #[schema(format = DateTime)]
        at: String,
        #[schema(min_length = 1, max_length = 65536)]
        text: String,
        #[schema(min_length = 1, max_length = 256)]
        service: Option<String>,
        #[schema(max_length = 256)]
        team: Option<String>,
    },
}

/// `POST /api/v1/annotations`: a note on a timeline. Without `id`, one is made from
/// the content (the same note posted twice is stored once); without `at`, now.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnnotationBody {
    #[schema(min_length = 1, max_length = 65536)]
    pub text: String,
    #[schema(format = DateTime)]
    pub at: Option<String>,
    #[schema(min_length = 1, max_length = 256)]
    pub service: Option<String>,
    #[schema(max_length = 256)]
    pub team: Option<String>,
    #[schema(min_length = 1, max_length = 1024)]
    pub id: Option<String>,
}

/// `POST /api/v1/events` as `application/json`: one event or an array of them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EventsBody {
    One(Box<Event>),
    Many(Vec<Event>),
}

/// A webhook sender (SPEC §6).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookSource {
    Github,
    Gitlab,
    Argocd,
    Pagerduty,
    Cdevents,
    Opsgenie,
    Jira,
    Circleci,
    #[serde(rename = "argo-rollouts")]
    ArgoRollouts,
    Buildkite,
}

/// A string parameter that takes one of `values`, the empty one (taken as absent)
/// among them: utoipa's derive drops an empty `serde(rename)`, so these are built here.
fn choices(description: &str, values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values.iter().copied()))
        .into()
}

/// A preset period, in days.
#[derive(Debug)]
pub struct PresetDays;

impl PartialSchema for PresetDays {
    fn schema() -> RefOr<Schema> {
        choices(
            "A preset period, in days (empty: none; `from`/`to` win over it).",
            &["", "7", "30", "90", "365"],
        )
    }
}

impl ToSchema for PresetDays {}

/// The weekly report's format.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Csv,
    Parquet,
}

/// The deliveries a replay selects by sender.
#[derive(Debug)]
pub struct ReplaySource;

impl PartialSchema for ReplaySource {
    fn schema() -> RefOr<Schema> {
        choices(
            "The deliveries of one sender (empty: all); `api` and `import` are the typed events'.",
            &[
                "",
                "github",
                "gitlab",
                "argocd",
                "pagerduty",
                "cdevents",
                "opsgenie",
                "jira",
                "circleci",
                "argo-rollouts",
                "buildkite",
                "api",
                "import",
            ],
        )
    }
}

impl ToSchema for ReplaySource {}

/// The writer's queue, in a probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueReport {
    pub events: usize,
    pub capacity: usize,
}

/// What `/healthz` and `/readyz` report.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthReport {
    /// `ok` or `ready`, else what is wrong.
    pub status: String,
    /// `ok` or `stopped`.
    pub writer: String,
    /// `ok` or `failing`.
    pub storage: String,
    /// `ok` or `failing`.
    pub derived_facts: String,
    pub queue: QueueReport,
    pub draining: bool,
}

/// The bearer tokens of SPEC §7 (each also accepted as `?token=`).
#[derive(Debug)]
struct Tokens;

impl Modify for Tokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description) in [
            (
                "ingest_token",
                "SHIPLOG_INGEST_TOKEN; ingest is refused while none is set (except in `shiplog demo`).",
            ),
            (
                "read_token",
                "SHIPLOG_READ_TOKEN (or `?token=`, or the dashboard's cookie); reads are open while none is set.",
            ),
            (
                "admin_token",
                "SHIPLOG_ADMIN_TOKEN; the admin routes are refused while none is set.",
            ),
            (
                "webhook_token",
                "SHIPLOG_ARGOCD_TOKEN, SHIPLOG_CDEVENTS_TOKEN, SHIPLOG_OPSGENIE_TOKEN or SHIPLOG_JIRA_TOKEN for those senders; GitHub, GitLab and PagerDuty prove themselves with their own headers instead.",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(description))
                        .build(),
                ),
            );
        }
    }
}

/// Every documented operation. A route added to `app::table()` without a
/// `#[utoipa::path]` named here fails `tests/openapi.rs`.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Shiplog",
        description = "A DORA-metrics warehouse: typed events and webhooks in, metrics out (SPEC §5). Every refusal has the JSON body `{\"error\": \"…\", \"detail\": …}`."
    ),
    paths(
        routes::events::post_events,
        routes::annotations::post_annotation,
        routes::webhooks::receive,
        routes::metrics::get_metrics,
        routes::reports::weekly,
        routes::admin::post_replay,
        routes::admin::post_git_import,
        routes::admin::post_backup,
        routes::admin::post_export,
        routes::health::healthz,
        routes::health::readyz,
        routes::prometheus::prometheus,
        openapi_json,
    ),
    components(schemas(ErrorBody, WebhookSource, PresetDays, ReportFormat, ReplaySource)),
    modifiers(&Tokens)
)]
struct ApiDoc;

/// The document, as served.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// `GET /api/v1/openapi.json`: this description.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 description of this API", content_type = "application/json", body = serde_json::Value)),
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
