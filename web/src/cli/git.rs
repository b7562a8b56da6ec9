//! `shiplog git import --path CLONE [--repo org/name]`: the commit graph of a local
//! clone (SPEC §6, Git pull), incrementally: commits already stored with their
//! parents are not read again.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use shiplog_ingest::git::repo_name_from_remote;
use shiplog_model::RepoName;

use super::CliError;
use crate::config::Config;
use crate::history::{GIT_CHUNK, git_import};

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
        Some(raw) => {
            RepoName::parse(&raw).map_err(|e| CliError::Usage(format!("--repo {raw:?} {e}")))?
        }
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
        GIT_CHUNK,
        "POST /api/v1/admin/git-import?path=CLONE&repo=org/name with SHIPLOG_ADMIN_TOKEN",
    )
    .await?;
    let bar = super::progress::items(None, "commits");
    bar.set_message(format!("reading {}", args.path.display()));
    let progress = bar.clone();
    let result = git_import(&db, &args.path, &repo, move |n| {
        progress.set_position(n as u64)
    })
    .await;
    bar.finish_and_clear();
    super::close_db(&db).await?;
    let (new, stored) = result.map_err(CliError::Failed)?;
    eprintln!(
        "{repo}: {new} new commit(s) read from {}, {stored} stored",
        args.path.display()
    );
    Ok(())
}
