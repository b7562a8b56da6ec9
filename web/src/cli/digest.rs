//! `shiplog report digest` (write the digest in a format) and `shiplog digest send`
//! (send it to the configured targets). Both read the file as `shiplog metrics` does:
//! refused while a server holds it (the server sends on its schedule instead), and
//! opened so that the settler pays any debt first.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use duckdb::Connection;
use shiplog_model::Period;

use super::CliError;
use crate::config::Config;
use crate::digest::render::{Format, Links, render};
use crate::digest::send::{Payload, deliver_all, payload};
use crate::digest::{last_whole_week, read_digests};

#[derive(Debug, Args)]
pub struct DigestPeriodArgs {
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// First day, YYYY-MM-DD (UTC); default: the Monday of the last whole week.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Day after the last, YYYY-MM-DD (excluded); default: the Monday of this week.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// One team only.
    #[arg(long)]
    pub team: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportDigestArgs {
    #[command(flatten)]
    pub period: DigestPeriodArgs,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Send the digest to the targets of `[digest]` in the config.
    Send(SendArgs),
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub period: DigestPeriodArgs,
    /// Print what each target would be sent, and send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The period asked for, else the last whole Monday–Sunday week before today (UTC).
fn period(args: &DigestPeriodArgs) -> Result<Period, CliError> {
    let now = chrono::Utc::now();
    match (&args.from, &args.to) {
        (Some(from), Some(to)) => {
            Period::parse(Some(from.as_str()), Some(to.as_str()), now.date_naive())
                .map_err(|e| CliError::Usage(e.to_string()))
        }
        _ => Ok(last_whole_week(now)),
    }
}

/// [`super::read::read_from`], with what a server holding the file means here.
async fn read_from<T: Send + 'static>(
    config: &Config,
    read: impl FnOnce(&Connection) -> Result<T, CliError> + Send + 'static,
) -> Result<T, CliError> {
    let held = "none for the digest: the server sends it on its [digest] schedule (stop the server to send one by hand)";
    super::read::read_from(config, held, read).await
}

fn failed(e: shiplog_queries::QueryError) -> CliError {
    CliError::Failed(e.to_string())
}

pub async fn report(mut config: Config, args: ReportDigestArgs) -> Result<(), CliError> {
    if let Some(db) = &args.period.db {
        config.db = db.clone();
    }
    let period = period(&args.period)?;
    let team = args.period.team.clone();
    let reading = config.clone();
    let digest = read_from(&config, move |conn| {
        read_digests(conn, &reading, period, &[team]).map_err(failed)
    })
    .await?
    .pop()
    .expect("one digest per team asked");
    let links = Links::new(config.digest.dashboard_url.as_deref());
    let mut written = render(&digest, &links, args.format);
    if !written.ends_with('\n') {
        written.push('\n');
    }
    match &args.out {
        Some(path) => std::fs::write(path, written)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display()))),
        None => std::io::stdout()
            .write_all(written.as_bytes())
            .map_err(|e| CliError::Failed(format!("cannot write the digest: {e}"))),
    }
}

pub async fn run(mut config: Config, command: DigestCommand) -> Result<(), CliError> {
    let DigestCommand::Send(args) = command;
    if let Some(db) = &args.period.db {
        config.db = db.clone();
    }
    let period = period(&args.period)?;
    // With --team, that team's targets and the every-team ones, each sent that team's
    // digest.
    let targets: Vec<_> = config
        .digest
        .targets
        .iter()
        .filter(|t| match (&args.period.team, &t.team) {
            (Some(asked), Some(own)) => asked == own,
            _ => true,
        })
        .cloned()
        .collect();
    if targets.is_empty() {
        return Err(CliError::Usage(
            "no digest targets: add [[digest.targets]] to the config (docs/digest.md)".into(),
        ));
    }
    let teams: Vec<Option<String>> = targets
        .iter()
        .map(|t| t.team.clone().or_else(|| args.period.team.clone()))
        .collect();
    let reading = config.clone();
    let digests = read_from(&config, move |conn| {
        read_digests(conn, &reading, period, &teams).map_err(failed)
    })
    .await?;
    if args.dry_run {
        let links = Links::new(config.digest.dashboard_url.as_deref());
        for (target, digest) in targets.iter().zip(&digests) {
            println!("== {} ({})", target.name, target.kind.as_str());
            match payload(target, digest, &links) {
                Payload::Json(body) => println!(
                    "{}",
                    serde_json::to_string_pretty(&body).expect("a payload serializes")
                ),
                Payload::Email { subject, text, .. } => println!("Subject: {subject}\n\n{text}"),
            }
        }
        return Ok(());
    }
    let deliveries = deliver_all(Arc::new(config.digest.clone()), targets, digests).await;
    let mut undelivered = Vec::new();
    for d in &deliveries {
        match &d.error {
            None => eprintln!("{}: delivered ({} attempt(s))", d.target, d.attempts),
            Some(error) => {
                eprintln!(
                    "{}: NOT delivered after {} attempt(s): {error}",
                    d.target, d.attempts
                );
                undelivered.push(d.target.clone());
            }
        }
    }
    if undelivered.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "the digest was not delivered to {}",
            undelivered.join(", ")
        )))
    }
}
