//! `shiplog git import --path CLONE [--repo org/name]`: the commit graph of a local
//! clone (SPEC §6, Git pull), incrementally: commits already stored with their
//! parents are not read again.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use shiplog_ingest::git::{read_new_commits, repo_name_from_remote};
use shiplog_ingest::sources::typed_json::to_parsed;
use shiplog_ingest::store::commits::known_commits;
use shiplog_ingest::store::{Delivery, Submission};
use shiplog_ingest::typed_delivery;
use shiplog_model::{Event, RepoName};

use super::CliError;
use crate::config::Config;
use crate::store::Database;

/// Commits per transaction.
const CHUNK: usize = 5_000;

#[derive(Debug, Subcommand)]
pub enum GitCommand {
    /// Read the commit graph of a local clone.
    Import(GitImportArgs),
}

#[derive(Debug, Args)]
pub struct GitImportArgs {
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The local clone.
    #[arg(long, value_name = "CLONE")]
    pub path: PathBuf,
    /// `org/name` as deployments name the repository; default: from the `origin` remote.
    #[arg(long)]
    pub repo: Option<String>,
}

pub async fn run(mut config: Config, command: GitCommand) -> Result<(), CliError> {
    let GitCommand::Import(args) = command;
    if let Some(db) = args.db {
        config.db = db;
    }
    let repo = match args.repo {
        Some(raw) => RepoName::parse(&raw)
            .map_err(|e| CliError::Usage(format!("--repo {raw:?} {e}")))?,
        None => repo_name_from_remote(&args.path)
            .map_err(|e| CliError::Failed(e.to_string()))?
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "{} has no `origin` remote to name the repository: pass --repo org/name",
                    args.path.display()
                ))
            })?,
    };
    let db = super::open_db(
        &config,
        CHUNK,
        "POST the commits as `change` events to /api/v1/events",
    )
    .await?;
    let result = import(&db, &args.path, &repo).await;
    super::close_db(&db).await?;
    let (new, stored) = result?;
    eprintln!(
        "{repo}: {new} new commit(s) read from {}, {stored} stored",
        args.path.display()
    );
    Ok(())
}

/// Reads the new commits of the clone at `path` and stores them; returns how many
/// were read and how many were new to the raw log.
pub async fn import(
    db: &Arc<Database>,
    path: &std::path::Path,
    repo: &RepoName,
) -> Result<(usize, usize), CliError> {
    let reader = db.clone();
    let repo_name = repo.as_str().to_owned();
    let known = tokio::task::spawn_blocking(move || {
        reader.readers.with(|conn| known_commits(conn, &repo_name))
    })
    .await
    .map_err(|e| CliError::Failed(e.to_string()))?
    .map_err(|e| CliError::Failed(e.to_string()))?
    .map_err(|e| CliError::Failed(e.to_string()))?;

    let bar = super::progress::items(None, "commits");
    bar.set_message(format!("reading {}", path.display()));
    let walk_bar = bar.clone();
    let (path, walk_repo) = (path.to_owned(), repo.clone());
    let changes = tokio::task::spawn_blocking(move || {
        read_new_commits(
            &path,
            &walk_repo,
            &|sha| known.contains(sha),
            &mut |n| walk_bar.set_position(n as u64),
        )
    })
    .await
    .map_err(|e| CliError::Failed(e.to_string()))?
    .map_err(|e| CliError::Failed(e.to_string()))?;
    bar.finish_and_clear();

    let read = changes.len();
    let received_at = chrono::Utc::now();
    let mut stored = 0;
    let mut deliveries: Vec<Delivery> = changes
        .into_iter()
        .map(|c| typed_delivery("git", to_parsed(Event::Change(c)), received_at))
        .collect();
    while !deliveries.is_empty() {
        let rest = deliveries.split_off(deliveries.len().min(CHUNK));
        let outcome = db
            .writer
            .submit(Submission { deliveries })
            .await
            .map_err(|e| CliError::Failed(format!("git import stopped, earlier commits are stored: {e}")))?;
        stored += outcome.accepted;
        deliveries = rest;
    }
    Ok((read, stored))
}
