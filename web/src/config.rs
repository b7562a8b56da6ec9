//! Configuration: built-in defaults, then the TOML file, then `SHIPLOG_*` environment
//! variables, then command-line flags (applied by the caller). Secrets are held as
//! `SecretString` so that no `Debug` or log line prints them.

use std::collections::BTreeMap;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use shiplog_ingest::sources::Routing;
use shiplog_ingest::sources::routing::JiraRouting;
use shiplog_model::goals::{Goal, GoalBook, Goals};
use shiplog_model::{BandsVersion, ServiceSettings, Settings};

use crate::jetstream::config::{FileNats, NatsConfig};

/// The default config file, read when present.
pub const DEFAULT_FILE: &str = "shiplog.toml";
pub const DEFAULT_DB: &str = "shiplog.duckdb";
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Five years (SPEC §5).
pub const DEFAULT_MAX_PERIOD_DAYS: i64 = 1_830;
/// The trailing window of `/metrics`' DORA gauges, and its bounds: a century is far
/// past any history and keeps the window's first day a date.
pub const DEFAULT_PROMETHEUS_WINDOW_DAYS: u32 = 30;
const PROMETHEUS_WINDOW_DAYS: std::ops::RangeInclusive<i64> = 1..=36_500;

/// Everything the server and the commands read.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: PathBuf,
    pub addr: String,
    pub settings: Settings,
    pub max_body_bytes: usize,
    pub writer_queue_events: usize,
    /// The longest period the weekly report and the bucketed dashboard pages take.
    pub max_period_days: i64,
    /// `export_dir`: where `POST /api/v1/admin/export` writes (`None`: `export/` beside
    /// the database file, [`Config::export_directory`]).
    pub export_dir: Option<PathBuf>,
    /// The UTC days, today included, that `/metrics`' DORA gauges cover.
    pub prometheus_window_days: u32,
    /// How long a connection and a request may take, how many may be open, and how
    /// long a shutdown waits for them (`serve.rs`).
    pub connections: ConnectionLimits,
    pub tokens: Tokens,
    pub sources: Sources,
    /// Which service and environment a webhook delivery belongs to.
    pub routing: Routing,
    /// `[nats]`: ingest through JetStream (`docs/scaling.md`); `None` without it.
    pub nats: Option<NatsConfig>,
    /// The targets teams and services set themselves (`[teams.<t>.goals]`,
    /// `[services.<s>.goals]`). Kept out of `settings`: a goal changes no derived fact,
    /// so changing one must not recompute them.
    pub goals: GoalBook,
    /// `[digest]`: the digest's links, schedule, targets and SMTP server.
    pub digest: crate::digest::DigestConfig,
}

/// The server's bounds on connections (`header_timeout_seconds`,
/// `request_timeout_seconds`, `idle_timeout_seconds`, `max_connections`,
/// `shutdown_grace_seconds`); each is at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's head must have arrived within this; hyper starts the clock again
    /// when a keep-alive connection goes idle, so it also bounds the wait for the next
    /// request.
    pub header_timeout: Duration,
    /// A handler, reading the body included, answers within this or the answer is `503`.
    pub request_timeout: Duration,
    /// A connection on which no byte moves either way while no handler runs is closed
    /// after this (a client that stopped reading its answer).
    pub idle_timeout: Duration,
    /// Connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// On shutdown, how long open connections may finish before they are closed.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Bearer tokens of the API's routes; `None` means the route's rule for no token.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub ingest: Option<SecretString>,
    pub read: Option<SecretString>,
    pub admin: Option<SecretString>,
}

/// Webhook secrets (each source's options are in [`Config::routing`]).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub github_secret: Option<SecretString>,
    pub gitlab_token: Option<SecretString>,
    pub pagerduty_secret: Option<SecretString>,
    pub argocd_token: Option<SecretString>,
    pub cdevents_token: Option<SecretString>,
    pub opsgenie_token: Option<SecretString>,
    pub jira_token: Option<SecretString>,
    pub circleci_secret: Option<SecretString>,
    pub argo_rollouts_token: Option<SecretString>,
    pub buildkite_secret: Option<SecretString>,
}

/// Why the configuration could not be loaded; each names the file or variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not TOML, or not a config file's shape: where, and toml's message
    /// without the line toml's own text quotes, or a value a type error names (either
    /// can be a secret: `ingest = "hunter2` unterminated, a token written unquoted).
    #[error("config file {}: {message}", located(.path, .at))]
    Parse {
        path: PathBuf,
        at: Option<Position>,
        message: String,
    },
    /// A value the file gives that Shiplog refuses (a band table it does not have).
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?}: {message}")]
    Env {
        name: &'static str,
        value: String,
        message: String,
    },
}

/// A place in a config file: 1-based line, and column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text`.
    fn of(text: &str, offset: usize) -> Position {
        let before = &text.as_bytes()[..offset.min(text.len())];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Position {
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            column: String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count()
                + 1,
        }
    }
}

fn located(path: &Path, at: &Option<Position>) -> String {
    match at {
        Some(at) => format!("{}, line {}, column {}", path.display(), at.line, at.column),
        None => path.display().to_string(),
    }
}

/// A TOML error as [`ConfigError::Parse`]: toml's `Display` quotes the offending line,
/// so only its message is kept, with the key it was reading (which toml writes only
/// when it has no input to quote), and any value the message names is dropped.
fn parse_error(path: &Path, text: &str, mut error: toml::de::Error) -> ConfigError {
    let at = error.span().map(|span| Position::of(text, span.start));
    let mut message = without_value(error.message());
    let message_lines = error.message().lines().count();
    error.set_input(None);
    let key = error
        .to_string()
        .lines()
        .skip(message_lines)
        .find_map(|line| line.strip_prefix("in ").map(str::to_owned));
    if let Some(key) = key {
        message = format!("{message}, in {key}");
    }
    ConfigError::Parse {
        path: path.to_owned(),
        at,
        message,
    }
}

/// serde's `invalid type: string "…", expected …` (or `invalid value: integer `…``)
/// with the value left out and its kind kept: a secret written as the wrong type of
/// value would show otherwise.
fn without_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        if let Some((unexpected, expected)) = rest.rsplit_once(", expected ") {
            let kind = unexpected.split(['`', '"']).next().unwrap_or_default();
            return format!("{prefix}{}, expected {expected}", kind.trim_end());
        }
    }
    message.to_owned()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<PathBuf>,
    addr: Option<String>,
    production_environments: Option<Vec<String>>,
    attribution_window_hours: Option<u32>,
    multi_region_window_hours: Option<u32>,
    main_branches: Option<Vec<String>>,
    bands: Option<String>,
    max_body_bytes: Option<usize>,
    writer_queue_events: Option<usize>,
    max_period_days: Option<i64>,
    export_dir: Option<PathBuf>,
    prometheus_window_days: Option<i64>,
    // Zero would close every connection at once (or never accept one): refused when
    // the file is read, naming the key.
    header_timeout_seconds: Option<NonZeroU64>,
    request_timeout_seconds: Option<NonZeroU64>,
    idle_timeout_seconds: Option<NonZeroU64>,
    max_connections: Option<NonZeroUsize>,
    shutdown_grace_seconds: Option<NonZeroU64>,
    #[serde(default)]
    tokens: FileTokens,
    #[serde(default)]
    sources: FileSources,
    #[serde(default)]
    services: BTreeMap<String, FileService>,
    #[serde(default)]
    environment_aliases: BTreeMap<String, String>,
    nats: Option<FileNats>,
    #[serde(default)]
    teams: BTreeMap<String, FileTeam>,
    digest: Option<crate::digest::config::FileDigest>,
}

/// A team's own table: its goals (`[teams.payments.goals]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTeam {
    #[serde(default)]
    goals: BTreeMap<String, f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTokens {
    ingest: Option<String>,
    read: Option<String>,
    admin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSources {
    #[serde(default)]
    github: FileGithub,
    #[serde(default)]
    gitlab: FileToken,
    #[serde(default)]
    pagerduty: FileSecret,
    #[serde(default)]
    argocd: FileArgocd,
    #[serde(default)]
    cdevents: FileToken,
    #[serde(default)]
    opsgenie: FileToken,
    #[serde(default)]
    jira: FileJira,
    #[serde(default)]
    circleci: FileCircleci,
    #[serde(default)]
    argo_rollouts: FileToken,
    #[serde(default)]
    buildkite: FileBuildkite,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJira {
    token: Option<String>,
    /// Issue types that are incidents; absent: `Incident`.
    issue_types: Option<Vec<String>>,
    /// Labels that make an issue of any type an incident.
    #[serde(default)]
    labels: Vec<String>,
    /// A field of the issue that names its service (`customfield_10050`).
    service_field: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGithub {
    secret: Option<String>,
    #[serde(default)]
    deploy_workflows: Vec<String>,
    /// Repositories (globs) whose published releases are deployments.
    #[serde(default)]
    release_repos: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCircleci {
    secret: Option<String>,
    /// Workflow names (globs) whose completed workflows are deployments.
    #[serde(default)]
    deploy_workflows: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBuildkite {
    secret: Option<String>,
    /// Pipeline slugs or names (globs) whose finished builds are deployments.
    #[serde(default)]
    deploy_pipelines: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSecret {
    secret: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToken {
    token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileArgocd {
    token: Option<String>,
    /// Application → environment, over the app's `environment` label.
    #[serde(default)]
    environments: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileService {
    team: Option<String>,
    repo: Option<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    argocd_apps: Vec<String>,
    #[serde(default)]
    pagerduty_services: Vec<String>,
    #[serde(default)]
    deploy_names: Vec<String>,
    #[serde(default)]
    opsgenie_teams: Vec<String>,
    #[serde(default)]
    opsgenie_tags: Vec<String>,
    #[serde(default)]
    jira_components: Vec<String>,
    #[serde(default)]
    jira_projects: Vec<String>,
    #[serde(default)]
    goals: BTreeMap<String, f64>,
}

/// One `goals` table, each key a [`Goal`] and each value a target it can take; the
/// refusal names the table and the key.
fn goals_of(table: &str, raw: BTreeMap<String, f64>) -> Result<Goals, String> {
    let mut goals = Goals::default();
    for (key, target) in raw {
        let goal = Goal::parse(&key).ok_or_else(|| {
            let known: Vec<&str> = Goal::ALL.iter().map(|g| g.key()).collect();
            format!(
                "[{table}]: unknown goal `{key}`; the goals are {}",
                known.join(", ")
            )
        })?;
        goals
            .set(goal, target)
            .map_err(|why| format!("[{table}] {key} {why}"))?;
    }
    Ok(goals)
}

fn secret(value: Option<String>) -> Option<SecretString> {
    value.filter(|v| !v.is_empty()).map(SecretString::from)
}

impl Config {
    /// Loads `file` (or `./shiplog.toml` when present and `file` is `None`), then the
    /// environment as `env` reports it.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let path = file.map(Path::to_path_buf).or_else(|| {
            let default = PathBuf::from(DEFAULT_FILE);
            default.exists().then_some(default)
        });
        let parsed = match &path {
            None => FileConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| parse_error(path, &text, e))?
            }
        };
        let file_error = |message: String| ConfigError::Invalid {
            path: path.clone().unwrap_or_default(),
            message,
        };

        let mut settings = Settings::default();
        if let Some(envs) = parsed.production_environments {
            settings.set_production_environments(envs);
        }
        if let Some(hours) = parsed.attribution_window_hours {
            settings.attribution_window_hours = hours;
        }
        settings.multi_region_window_hours = parsed.multi_region_window_hours;
        if let Some(branches) = parsed.main_branches {
            settings.main_branches = branches;
        }
        if let Some(bands) = parsed.bands {
            settings.bands = bands.parse::<BandsVersion>().map_err(file_error)?;
        }
        let mut goals = GoalBook::default();
        for (team, t) in parsed.teams {
            let set = goals_of(&format!("teams.{team}.goals"), t.goals).map_err(file_error)?;
            if !set.is_empty() {
                goals.teams.insert(team, set);
            }
        }
        for (name, s) in parsed.services {
            let set = goals_of(&format!("services.{name}.goals"), s.goals).map_err(file_error)?;
            if !set.is_empty() {
                goals.services.insert(name.clone(), set);
            }
            let service = ServiceSettings {
                team: s.team,
                repo: s.repo,
                paths: s.paths,
                argocd_apps: s.argocd_apps,
                pagerduty_services: s.pagerduty_services,
                deploy_names: s.deploy_names,
                opsgenie_teams: s.opsgenie_teams,
                opsgenie_tags: s.opsgenie_tags,
                jira_components: s.jira_components,
                jira_projects: s.jira_projects,
            };
            settings.services.insert(name, service);
        }
        let routing = Routing {
            services: settings.services.clone(),
            environment_aliases: parsed
                .environment_aliases
                .into_iter()
                .map(|(alias, name)| (alias.trim().to_lowercase(), name))
                .collect(),
            github_deploy_workflows: parsed.sources.github.deploy_workflows,
            github_release_repos: parsed.sources.github.release_repos,
            circleci_deploy_workflows: parsed.sources.circleci.deploy_workflows,
            buildkite_deploy_pipelines: parsed.sources.buildkite.deploy_pipelines,
            argocd_environments: parsed.sources.argocd.environments,
            jira: JiraRouting {
                issue_types: parsed
                    .sources
                    .jira
                    .issue_types
                    .unwrap_or_else(|| JiraRouting::default().issue_types),
                labels: parsed.sources.jira.labels,
                service_field: parsed
                    .sources
                    .jira
                    .service_field
                    .filter(|f| !f.trim().is_empty()),
            },
        };
        let prometheus_window_days = match parsed.prometheus_window_days {
            None => DEFAULT_PROMETHEUS_WINDOW_DAYS,
            Some(days) => u32::try_from(days)
                .ok()
                .filter(|_| PROMETHEUS_WINDOW_DAYS.contains(&days))
                .ok_or_else(|| {
                    file_error(format!(
                        "prometheus_window_days = {days}: the window is from {} to {} days",
                        PROMETHEUS_WINDOW_DAYS.start(),
                        PROMETHEUS_WINDOW_DAYS.end()
                    ))
                })?,
        };
        let digest = match parsed.digest {
            None => crate::digest::DigestConfig::default(),
            Some(file) => file.parse(&env).map_err(file_error)?,
        };
        let defaults = ConnectionLimits::default();
        let seconds = |value: Option<NonZeroU64>, default: Duration| {
            value.map_or(default, |s| Duration::from_secs(s.get()))
        };
        let connections = ConnectionLimits {
            header_timeout: seconds(parsed.header_timeout_seconds, defaults.header_timeout),
            request_timeout: seconds(parsed.request_timeout_seconds, defaults.request_timeout),
            idle_timeout: seconds(parsed.idle_timeout_seconds, defaults.idle_timeout),
            max_connections: parsed
                .max_connections
                .map_or(defaults.max_connections, NonZeroUsize::get),
            shutdown_grace: seconds(parsed.shutdown_grace_seconds, defaults.shutdown_grace),
        };
        let mut config = Config {
            db: parsed.db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB)),
            addr: parsed.addr.unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
            settings,
            max_body_bytes: parsed.max_body_bytes.unwrap_or(16 * 1024 * 1024),
            writer_queue_events: parsed.writer_queue_events.unwrap_or(10_000),
            max_period_days: parsed.max_period_days.unwrap_or(DEFAULT_MAX_PERIOD_DAYS),
            export_dir: parsed.export_dir,
            prometheus_window_days,
            connections,
            tokens: Tokens {
                ingest: secret(parsed.tokens.ingest),
                read: secret(parsed.tokens.read),
                admin: secret(parsed.tokens.admin),
            },
            sources: Sources {
                github_secret: secret(parsed.sources.github.secret),
                gitlab_token: secret(parsed.sources.gitlab.token),
                pagerduty_secret: secret(parsed.sources.pagerduty.secret),
                argocd_token: secret(parsed.sources.argocd.token),
                cdevents_token: secret(parsed.sources.cdevents.token),
                opsgenie_token: secret(parsed.sources.opsgenie.token),
                jira_token: secret(parsed.sources.jira.token),
                circleci_secret: secret(parsed.sources.circleci.secret),
                argo_rollouts_token: secret(parsed.sources.argo_rollouts.token),
                buildkite_secret: secret(parsed.sources.buildkite.secret),
            },
            routing,
            nats: parsed
                .nats
                .map(NatsConfig::from_file)
                .transpose()
                .map_err(file_error)?,
            goals,
            digest,
        };
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(db) = get("SHIPLOG_DB") {
            self.db = PathBuf::from(db);
        }
        if let Some(addr) = get("SHIPLOG_ADDR") {
            self.addr = addr;
        }
        if let Some(dir) = get("SHIPLOG_EXPORT_DIR") {
            self.export_dir = Some(PathBuf::from(dir));
        }
        if let Some(envs) = get("SHIPLOG_PRODUCTION_ENVIRONMENTS") {
            self.settings.set_production_environments(envs.split(','));
        }
        let hours = |name: &'static str| -> Result<Option<u32>, ConfigError> {
            get(name)
                .map(|hours| {
                    hours.trim().parse().map_err(|_| ConfigError::Env {
                        name,
                        value: hours.clone(),
                        message: "must be a whole number of hours".into(),
                    })
                })
                .transpose()
        };
        if let Some(hours) = hours("SHIPLOG_ATTRIBUTION_WINDOW_HOURS")? {
            self.settings.attribution_window_hours = hours;
        }
        if let Some(hours) = hours("SHIPLOG_MULTI_REGION_WINDOW_HOURS")? {
            self.settings.multi_region_window_hours = Some(hours);
        }
        let secrets: [(&str, &mut Option<SecretString>); 13] = [
            ("SHIPLOG_INGEST_TOKEN", &mut self.tokens.ingest),
            ("SHIPLOG_READ_TOKEN", &mut self.tokens.read),
            ("SHIPLOG_ADMIN_TOKEN", &mut self.tokens.admin),
            ("SHIPLOG_GITHUB_SECRET", &mut self.sources.github_secret),
            ("SHIPLOG_GITLAB_TOKEN", &mut self.sources.gitlab_token),
            (
                "SHIPLOG_PAGERDUTY_SECRET",
                &mut self.sources.pagerduty_secret,
            ),
            ("SHIPLOG_ARGOCD_TOKEN", &mut self.sources.argocd_token),
            ("SHIPLOG_CDEVENTS_TOKEN", &mut self.sources.cdevents_token),
            ("SHIPLOG_OPSGENIE_TOKEN", &mut self.sources.opsgenie_token),
            ("SHIPLOG_JIRA_TOKEN", &mut self.sources.jira_token),
            ("SHIPLOG_CIRCLECI_SECRET", &mut self.sources.circleci_secret),
            (
                "SHIPLOG_ARGO_ROLLOUTS_TOKEN",
                &mut self.sources.argo_rollouts_token,
            ),
            (
                "SHIPLOG_BUILDKITE_SECRET",
                &mut self.sources.buildkite_secret,
            ),
        ];
        for (name, slot) in secrets {
            if let Some(value) = get(name) {
                *slot = Some(SecretString::from(value));
            }
        }
        crate::jetstream::config::apply_env(&mut self.nats, &get)?;
        Ok(())
    }
}

impl Config {
    /// The warehouse export's directory: `export_dir`, else `export/` in the database
    /// file's directory, so that it follows a `--db` given after the config was read.
    pub fn export_directory(&self) -> PathBuf {
        match (&self.export_dir, self.db.parent()) {
            (Some(dir), _) => dir.clone(),
            (None, Some(parent)) => parent.join("export"),
            (None, None) => PathBuf::from("export"),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shiplog.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn environment_wins_over_file_over_defaults() {
        let (_dir, path) = write(
            "addr = \"0.0.0.0:9000\"\nattribution_window_hours = 24\n[tokens]\ningest = \"from-file\"\n\
             [services.checkout]\nteam = \"payments\"\nrepo = \"acme/shop\"\n",
        );
        let env = |name: &str| match name {
            "SHIPLOG_ATTRIBUTION_WINDOW_HOURS" => Some("48".to_string()),
            "SHIPLOG_PRODUCTION_ENVIRONMENTS" => Some("Live, prd".to_string()),
            _ => None,
        };
        let c = Config::load(Some(path.as_path()), env).unwrap();
        assert_eq!(c.addr, "0.0.0.0:9000");
        assert_eq!(c.db, PathBuf::from(DEFAULT_DB));
        assert_eq!(c.settings.attribution_window_hours, 48);
        assert!(
            c.settings.is_production(Some("LIVE")) && !c.settings.is_production(Some("production"))
        );
        assert_eq!(
            c.tokens.ingest.as_ref().unwrap().expose_secret(),
            "from-file"
        );
        assert_eq!(c.settings.team_of("checkout"), Some("payments"));
    }

    #[test]
    fn goals_come_from_team_and_service_tables_and_bad_ones_are_named() {
        let (_dir, path) = write(
            "[teams.payments.goals]\nlead_time_median_hours = 24\nchange_failure_rate = 0.10\n\
             [services.checkout]\nteam = \"payments\"\n[services.checkout.goals]\n\
             deployments_per_week = 10\n",
        );
        let c = Config::load(Some(path.as_path()), |_| None).unwrap();
        let team = c.goals.team("payments").unwrap();
        assert_eq!(team.get(Goal::LeadTimeMedian), Some(24.0));
        assert_eq!(team.get(Goal::ChangeFailureRate), Some(0.10));
        let checkout = c.goals.service("checkout", Some("payments")).unwrap();
        assert_eq!(checkout.get(Goal::DeploymentsPerWeek), Some(10.0));
        assert_eq!(checkout.get(Goal::LeadTimeMedian), Some(24.0));

        let (_dir, path) = write("[teams.payments.goals]\nlead_time = 24\n");
        let e = Config::load(Some(path.as_path()), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("teams.payments.goals") && e.contains("lead_time_median_hours"),
            "{e}"
        );
        let (_dir, path) = write("[teams.payments.goals]\nchange_failure_rate = 15\n");
        let e = Config::load(Some(path.as_path()), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("change_failure_rate") && e.contains("between 0 and 1"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let (_dir, path) = write("attribution_window = 3\n");
        let e = Config::load(Some(path.as_path()), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("attribution_window"), "{e}");
        let (_dir, path) = write("bands = \"2022\"\n");
        let e = Config::load(Some(path.as_path()), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2022"), "{e}");
        let env = |n: &str| (n == "SHIPLOG_ATTRIBUTION_WINDOW_HOURS").then(|| "a week".to_string());
        let e = Config::load(None, env).unwrap_err().to_string();
        assert!(
            e.contains("SHIPLOG_ATTRIBUTION_WINDOW_HOURS") && e.contains("a week"),
            "{e}"
        );
    }

    #[test]
    fn connection_limits_come_from_the_file_over_defaults() {
        let (_dir, path) = write("header_timeout_seconds = 2\nmax_connections = 3\n");
        let c = Config::load(Some(path.as_path()), |_| None).unwrap();
        let expected = ConnectionLimits {
            header_timeout: Duration::from_secs(2),
            max_connections: 3,
            ..ConnectionLimits::default()
        };
        assert_eq!(c.connections, expected);
        assert_eq!(c.connections.request_timeout, Duration::from_secs(30));
        let (_dir, path) = write("shutdown_grace_seconds = 0\n");
        let e = Config::load(Some(path.as_path()), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("shutdown_grace_seconds"), "{e}");
    }

    #[test]
    fn a_parse_error_names_the_line_but_never_quotes_it() {
        let cases = [
            // Unterminated: toml's own text quoted the whole line.
            ("max_connections = 3\n[tokens]\ningest = \"hunter2\n", 3),
            ("[sources.github]\nsecret = hunter2\n", 2),
            // A type error names the value it got.
            ("[tokens]\nadmin = 4815162342\n", 2),
            ("\n\nmax_connections = \"hunter2\"\n", 3),
        ];
        for (text, line) in cases {
            let (_dir, path) = write(text);
            let e = Config::load(Some(path.as_path()), |_| None).unwrap_err();
            let ConfigError::Parse { at, .. } = &e else {
                panic!("not a parse error: {e}");
            };
            assert_eq!(at.map(|at| at.line), Some(line), "{text:?}: {e}");
            let shown = e.to_string();
            let named = format!("config file {}, line {line}, column ", path.display());
            assert!(shown.starts_with(&named), "{shown}");
            assert!(
                !shown.contains("hunter2") && !shown.contains("4815162342"),
                "{shown}"
            );
            assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
        }
        let (_dir, path) = write("[tokens]\nadmin = 4815162342\n");
        let e = Config::load(Some(path.as_path()), |_| None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "config file {}, line 2, column 9: invalid type: integer, expected a string, \
                 in `tokens.admin`",
                path.display()
            )
        );
    }

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "a = 1\nbé = x\n";
        assert_eq!(Position::of(text, 0), Position { line: 1, column: 1 });
        let x = text.find('x').unwrap();
        assert_eq!(Position::of(text, x), Position { line: 2, column: 6 });
        assert_eq!(
            Position::of(text, text.len()),
            Position { line: 3, column: 1 }
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let env = |n: &str| (n == "SHIPLOG_INGEST_TOKEN").then(|| "hunter2".to_string());
        let c = Config::load(None, env).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
