//! `shiplog backfill github --repo org/name --since DATE`: deployments (with their
//! statuses) and merged pull requests (with their commits) from GitHub's REST API,
//! for the history before the webhooks were set up (SPEC §6). Each page is stored as
//! it arrives, so a run that stops (an error, Ctrl-C, a rate limit longer than
//! `--max-wait`) is resumed by running the same command again; a run after a finished
//! one reads only the newest pages. See docs/sources/github-backfill.md.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::ProgressBar;
use secrecy::{ExposeSecret, SecretString};
use shiplog_ingest::backfill::client::Observer;
use shiplog_ingest::backfill::cursor;
use shiplog_ingest::backfill::{
    Api, Kind, Octo, Policy, Progress, Start, Stopped, SystemClock, Target, Wait, WalkSummary,
    repository, walk,
};
use shiplog_ingest::sources::Routing;
use shiplog_model::Timestamp;

use super::CliError;
use crate::config::Config;
use crate::store::Database;

/// What a user is told when a server holds the database: there is no HTTP route
/// for a backfill.
const HELD: &str = "stop the server, or run the backfill against a copy of the database";

#[derive(Debug, Subcommand)]
pub enum BackfillCommand {
    /// Deployments and merged pull requests of one GitHub repository, from its REST API.
    Github(GithubArgs),
}

#[derive(Debug, Args)]
pub struct GithubArgs {
    /// Database file [env: SHIPLOG_DB] [default: ./shiplog.duckdb]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The repository, owner/name.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: String,
    /// Load history from this day (YYYY-MM-DD, UTC) or RFC 3339 instant on.
    #[arg(long, value_name = "DATE")]
    pub since: String,
    /// A token that can read the repository's deployments and pull requests.
    #[arg(long, env = "SHIPLOG_GITHUB_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The REST API's base address (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(long, value_name = "URL", default_value = "https://api.github.com")]
    pub api_url: String,
    /// The longest rate-limit wait to sit out (e.g. 90s, 15m, 2h); a longer one stops
    /// the run, to be resumed later.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub max_wait: String,
    /// Times a request is sent again after a server error or a lost connection.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
}

pub async fn run(mut config: Config, command: BackfillCommand) -> Result<(), CliError> {
    let BackfillCommand::Github(args) = command;
    if let Some(db) = args.db.clone() {
        config.db = db;
    }
    let repo = repo_argument(&args.repo).map_err(CliError::Usage)?;
    let since = since_argument(&args.since).map_err(CliError::Usage)?;
    let max_wait = duration_argument(&args.max_wait).map_err(CliError::Usage)?;
    let token = args.token.map(SecretString::from);
    if token.is_none() {
        eprintln!(
            "warning: no token (--token or SHIPLOG_GITHUB_TOKEN): GitHub allows 60 requests an hour \
             without one, and none to a private repository"
        );
    }
    let transport = Octo::new(
        &args.api_url,
        token.as_ref().map(|t| t.expose_secret().to_owned()),
    )
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let policy = Policy {
        retries: args.retries,
        max_wait,
        ..Policy::default()
    };
    let api = Api::new(transport, SystemClock, policy);

    let db = super::open_db(&config, 0, HELD).await?;
    let bar = Bar::new();
    let outcome = tokio::select! {
        result = backfill(&db, &api, &config.routing, &repo, since, &bar) => result,
        _ = tokio::signal::ctrl_c() => Err(Interrupted::Signal(bar.position())),
    };
    bar.0.finish_and_clear();
    super::close_db(&db).await?;
    let requests = format!("{} request(s), {} wait(s)", api.requests(), api.waits());
    match outcome {
        Ok((repo, summaries)) => {
            print_skipped(&summaries);
            eprintln!(
                "{}; {requests}",
                summary_line(repo.as_str(), since, &summaries)
            );
            Ok(())
        }
        Err(Interrupted::Stopped(stopped, done)) => {
            let mut summaries = done;
            summaries.push(stopped.summary.clone());
            print_skipped(&summaries);
            eprintln!("{}; {requests}", summary_line(&repo, since, &summaries));
            Err(CliError::Failed(format!(
                "{stopped}; run the same command again to resume{}",
                hint(&stopped)
            )))
        }
        Err(Interrupted::Preflight(error)) => Err(CliError::Failed(error)),
        Err(Interrupted::Signal((kind, page))) => Err(CliError::Failed(format!(
            "interrupted at {} page {page}; the pages before it are stored: run the same command again to resume",
            kind.label()
        ))),
    }
}

/// Why a run ended early.
enum Interrupted {
    /// The repository could not be looked up: nothing was loaded.
    Preflight(String),
    /// A list stopped; the summaries of the lists finished before it.
    Stopped(Box<Stopped>, Vec<WalkSummary>),
    /// Ctrl-C, at this list and page.
    Signal((Kind, u32)),
}

/// Each list in turn, from where the raw log says it stands.
async fn backfill(
    db: &Arc<Database>,
    api: &Api<Octo, SystemClock>,
    routing: &Routing,
    repo: &str,
    since: Timestamp,
    bar: &Bar,
) -> Result<(shiplog_model::RepoName, Vec<WalkSummary>), Interrupted> {
    bar.0.set_message(format!("looking up {repo}"));
    let repo = repository(api, repo, bar)
        .await
        .map_err(|e| Interrupted::Preflight(format!("{e}{}", api_hint(e.status()))))?;
    let target = Target { repo, since };
    let mut summaries = Vec::new();
    for kind in Kind::ALL {
        let start = read_start(db, &target, kind)
            .await
            .map_err(Interrupted::Preflight)?;
        if let Start::Resume { page, .. } = start {
            tracing::info!(list = kind.as_str(), page, "resuming");
        }
        match walk(api, &db.writer, routing, &target, kind, &start, bar).await {
            Ok(summary) => summaries.push(summary),
            Err(stopped) => return Err(Interrupted::Stopped(Box::new(stopped), summaries)),
        }
    }
    Ok((target.repo, summaries))
}

async fn read_start(db: &Arc<Database>, target: &Target, kind: Kind) -> Result<Start, String> {
    let (db, repo, since) = (db.clone(), target.repo.clone(), target.since);
    tokio::task::spawn_blocking(move || {
        db.readers
            .with(|conn| cursor::start(conn, &repo, kind, since))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot read the raw log: {e}"))?
    .map_err(|e| format!("cannot read where the last backfill stopped: {e}"))
}

/// What to do about a stop, beyond running the command again.
fn hint(stopped: &Stopped) -> String {
    match &stopped.error {
        shiplog_ingest::backfill::walk::WalkError::Api(e) => api_hint(e.status()).to_owned(),
        shiplog_ingest::backfill::walk::WalkError::Write(_) => String::new(),
    }
}

fn api_hint(status: Option<u16>) -> &'static str {
    match status {
        Some(401) => " (check --token or SHIPLOG_GITHUB_TOKEN)",
        Some(403) => " (the token may not read this repository's deployments or pull requests)",
        Some(404) => {
            " (GitHub answers 404 for a repository the token cannot read: check --repo and the token's access)"
        }
        _ => "",
    }
}

/// The skip reasons, a few of them: most are deployments that never finished.
fn print_skipped(summaries: &[WalkSummary]) {
    const LISTED: usize = 10;
    let all: Vec<&String> = summaries.iter().flat_map(|s| &s.skipped).collect();
    for reason in all.iter().take(LISTED) {
        eprintln!("skipped: {reason}");
    }
    if all.len() > LISTED {
        eprintln!("skipped: … and {} more", all.len() - LISTED);
    }
}

fn summary_line(repo: &str, since: Timestamp, summaries: &[WalkSummary]) -> String {
    let parts: Vec<String> = summaries
        .iter()
        .map(|s| {
            let mode = match s.mode {
                shiplog_ingest::backfill::Mode::Full if s.first_page > 1 => {
                    format!(" from page {}", s.first_page)
                }
                shiplog_ingest::backfill::Mode::Full => String::new(),
                shiplog_ingest::backfill::Mode::Refresh => " (newest only)".to_owned(),
            };
            format!(
                "{}{mode}: {} page(s) read, {} new, {} taken, {} event(s) stored, {} skipped",
                s.kind.label(),
                s.pages,
                s.new_pages,
                s.items,
                s.events,
                s.skipped.len()
            )
        })
        .collect();
    format!(
        "{repo} since {}: {}",
        since.format("%Y-%m-%d %H:%M:%S UTC"),
        parts.join("; ")
    )
}

/// The progress bar: a spinner with the items taken so far and what is being asked.
struct Bar(ProgressBar, Mutex<(Kind, u32)>);

impl Bar {
    fn new() -> Bar {
        let bar = super::progress::items(None, "items");
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar(bar, Mutex::new((Kind::Deployments, 1)))
    }

    fn position(&self) -> (Kind, u32) {
        *self.1.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Observer for Bar {
    fn waiting(&self, wait: &Wait) {
        self.0.set_message(format!(
            "{}: waiting {}s, until {} UTC",
            wait.reason,
            wait.duration.as_secs(),
            wait.until.format("%H:%M:%S")
        ));
    }
}

impl Progress for Bar {
    fn fetching(&self, kind: Kind, page: u32, what: &str) {
        *self.1.lock().unwrap_or_else(|e| e.into_inner()) = (kind, page);
        self.0
            .set_message(format!("{} page {page}: {what}", kind.label()));
    }

    fn page_done(&self, _kind: Kind, _page: u32, items: usize) {
        self.0.inc(items as u64);
    }
}

/// `owner/name`, checked before any request.
fn repo_argument(raw: &str) -> Result<String, String> {
    let raw = raw.trim().trim_end_matches(".git");
    let ok = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match raw.split_once('/') {
        Some((owner, name)) if ok(owner) && ok(name) => Ok(raw.to_owned()),
        _ => Err(format!(
            "--repo {raw:?} is not owner/name (as in github.com/owner/name)"
        )),
    }
}

/// A day (`YYYY-MM-DD`, from its start in UTC) or an RFC 3339 instant.
fn since_argument(raw: &str) -> Result<Timestamp, String> {
    let raw = raw.trim();
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .or_else(|_| shiplog_model::parse_timestamp(raw))
        .map_err(|_| format!("--since {raw:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant"))
}

/// `90`, `90s`, `15m`, `2h`.
fn duration_argument(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => raw.split_at(at),
        None => (raw, "s"),
    };
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if seconds_per > 0 => Ok(Duration::from_secs(n * seconds_per)),
        _ => Err(format!(
            "--max-wait {raw:?} is not a duration: use seconds, or a number with s, m or h (15m)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_before_any_request() {
        assert_eq!(repo_argument("acme/shop.git").unwrap(), "acme/shop");
        assert!(repo_argument("acme").is_err());
        assert!(repo_argument("acme/shop/extra").is_err());
        assert!(repo_argument("acme/sh op").is_err());
        assert_eq!(
            since_argument("2026-03-01").unwrap(),
            shiplog_model::parse_timestamp("2026-03-01T00:00:00Z").unwrap()
        );
        assert!(since_argument("March").is_err());
        assert_eq!(duration_argument("90").unwrap(), Duration::from_secs(90));
        assert_eq!(duration_argument("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(duration_argument("2h").unwrap(), Duration::from_secs(7200));
        assert!(duration_argument("2d").is_err());
        assert!(duration_argument("m").is_err());
    }
}
