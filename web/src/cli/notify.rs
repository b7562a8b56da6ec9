//! `shiplog notify deployment|incident`: posts one typed event to a Shiplog server's
//! `POST /api/v1/events`, for CI systems without a webhook of their own. Any CI that
//! can run a binary (or `curl`, see docs/sources/ci.md) can report deployments.
//! `shiplog annotate` posts a note to `POST /api/v1/annotations` the same way.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

use super::CliError;

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// A finished deployment.
    Deployment(DeploymentArgs),
    /// An incident opened, or resolved.
    Incident(IncidentArgs),
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The Shiplog server's base URL.
    #[arg(long, env = "SHIPLOG_URL", value_name = "URL")]
    pub server: String,
    /// The ingest token (SHIPLOG_INGEST_TOKEN on the server).
    #[arg(long, env = "SHIPLOG_INGEST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    Success,
    Failure,
}

#[derive(Debug, Args)]
pub struct DeploymentArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long)]
    pub service: String,
    /// The deployed commit.
    #[arg(long)]
    pub sha: String,
    #[arg(long, default_value = "production")]
    pub environment: String,
    #[arg(long, value_enum, default_value = "success")]
    pub status: Status,
    /// The deployment's id; default: the CI run's id when the CI is recognised
    /// (GitHub Actions, GitLab CI, Jenkins, CircleCI, Buildkite), else service+sha+time.
    #[arg(long)]
    pub id: Option<String>,
    /// `org/name` of the repository.
    #[arg(long)]
    pub repo: Option<String>,
    #[arg(long)]
    pub team: Option<String>,
    /// RFC 3339; default: now.
    #[arg(long)]
    pub finished_at: Option<String>,
    #[arg(long)]
    pub started_at: Option<String>,
}

#[derive(Debug, Args)]
pub struct IncidentArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The incident's id in your tool (posting it again updates it).
    #[arg(long)]
    pub id: String,
    #[arg(long)]
    pub service: String,
    /// RFC 3339; default: now.
    #[arg(long)]
    pub opened_at: Option<String>,
    /// Marks the incident resolved at this instant (RFC 3339, or `now`).
    #[arg(long)]
    pub resolved_at: Option<String>,
    #[arg(long)]
    pub severity: Option<String>,
    #[arg(long)]
    pub title: Option<String>,
    /// The deployment that caused it, when known.
    #[arg(long)]
    pub deployment_id: Option<String>,
    #[arg(long)]
    pub sha: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnnotateArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The note: "moved to trunk-based development", "new on-call rota".
    #[arg(value_name = "TEXT")]
    pub text: String,
    /// RFC 3339; default: now.
    #[arg(long)]
    pub at: Option<String>,
    /// The service it concerns (neither service nor team: the whole organisation).
    #[arg(long)]
    pub service: Option<String>,
    /// The team it concerns.
    #[arg(long)]
    pub team: Option<String>,
    /// Its id; posting the same id again updates it (default: made from the content).
    #[arg(long)]
    pub id: Option<String>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn instant(raw: Option<String>) -> String {
    match raw {
        Some(t) if t != "now" => t,
        _ => now(),
    }
}

/// The CI run's own id, from the variables each CI sets, so that a retried job
/// updates one deployment instead of adding another.
pub fn ci_run_id(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let get = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(run) = get("GITHUB_RUN_ID") {
        let attempt = get("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
        let repo = get("GITHUB_REPOSITORY").unwrap_or_default();
        return Some(format!("gha:{repo}:{run}:{attempt}"));
    }
    if let Some(job) = get("CI_JOB_ID") {
        return Some(format!(
            "gitlab:{}:{job}",
            get("CI_PROJECT_PATH").unwrap_or_default()
        ));
    }
    if let Some(tag) = get("BUILD_TAG") {
        return Some(format!("jenkins:{tag}"));
    }
    if let Some(job) = get("CIRCLE_WORKFLOW_JOB_ID") {
        return Some(format!("circleci:{job}"));
    }
    if let Some(job) = get("BUILDKITE_JOB_ID") {
        return Some(format!("buildkite:{job}"));
    }
    None
}

fn insert(map: &mut Map<String, Value>, key: &str, value: Option<String>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), Value::String(v));
    }
}

/// The typed deployment event `args` describe.
pub fn deployment_event(args: &DeploymentArgs, env: impl Fn(&str) -> Option<String>) -> Value {
    let finished_at = instant(args.finished_at.clone());
    let id = args
        .id
        .clone()
        .or_else(|| ci_run_id(&env))
        .unwrap_or_else(|| format!("{}:{}:{finished_at}", args.service, args.sha));
    let mut event = json!({
        "type": "deployment",
        "id": id,
        "service": args.service,
        "environment": args.environment,
        "sha": args.sha,
        "status": match args.status { Status::Success => "success", Status::Failure => "failure" },
        "finished_at": finished_at,
    });
    let map = event.as_object_mut().expect("an object");
    insert(map, "repo", args.repo.clone());
    insert(map, "team", args.team.clone());
    insert(map, "started_at", args.started_at.clone());
    event
}

/// The typed incident event `args` describe.
pub fn incident_event(args: &IncidentArgs) -> Value {
    let mut event = json!({
        "type": "incident",
        "id": args.id,
        "service": args.service,
        "opened_at": instant(args.opened_at.clone()),
    });
    let map = event.as_object_mut().expect("an object");
    insert(
        map,
        "resolved_at",
        args.resolved_at.clone().map(|t| instant(Some(t))),
    );
    insert(map, "severity", args.severity.clone());
    insert(map, "title", args.title.clone());
    insert(map, "deployment_id", args.deployment_id.clone());
    insert(map, "sha", args.sha.clone());
    event
}

/// The body of `POST /api/v1/annotations` that `args` describe.
pub fn annotation_body(args: &AnnotateArgs) -> Value {
    let mut body = json!({ "text": args.text, "at": instant(args.at.clone()) });
    let map = body.as_object_mut().expect("an object");
    insert(map, "service", args.service.clone());
    insert(map, "team", args.team.clone());
    insert(map, "id", args.id.clone());
    body
}

pub async fn annotate(args: AnnotateArgs) -> Result<(), CliError> {
    let answer = post(&args.server, "/api/v1/annotations", &annotation_body(&args)).await?;
    eprintln!("{answer}");
    Ok(())
}

pub async fn run(command: NotifyCommand) -> Result<(), CliError> {
    let (server, event) = match command {
        NotifyCommand::Deployment(args) => {
            let event = deployment_event(&args, |name| std::env::var(name).ok());
            (args.server, event)
        }
        NotifyCommand::Incident(args) => {
            let event = incident_event(&args);
            (args.server, event)
        }
    };
    let answer = post(&server, "/api/v1/events", &event).await?;
    eprintln!("{answer}");
    Ok(())
}

/// Posts `event` to the server's `path`, retrying while the server answers `503`
/// (it says when).
async fn post(server: &ServerArgs, path: &str, event: &Value) -> Result<String, CliError> {
    let url = format!("{}{path}", server.server.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut request = client.post(&url).json(event);
        if let Some(token) = &server.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| CliError::Failed(format!("cannot reach {url}: {e}")))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1);
        let body = response.text().await.unwrap_or_default();
        match status.as_u16() {
            200 | 202 => return Ok(format!("{status}: {body}")),
            503 if attempts < 5 => {
                tokio::time::sleep(Duration::from_secs(retry_after.min(30))).await;
            }
            _ => {
                return Err(CliError::Failed(format!("{url} answered {status}: {body}")));
            }
        }
    }
}
