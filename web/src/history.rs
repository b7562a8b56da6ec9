//! Pulling history into the store: a git clone's commit graph, shared by
//! `shiplog git import` and `POST /api/v1/admin/git-import` (a running server holds
//! the database, so a nightly import goes through it).

use std::path::Path;
use std::sync::Arc;

use shiplog_ingest::git::read_new_commits;
use shiplog_ingest::sources::typed_json::to_parsed;
use shiplog_ingest::store::commits::known_commits;
use shiplog_ingest::store::{Delivery, Submission};
use shiplog_ingest::typed_delivery;
use shiplog_model::{Event, RepoName};

use crate::store::Database;

/// Commits per transaction.
pub const GIT_CHUNK: usize = 5_000;

/// Reads the commits of the clone at `path` not yet stored with their parents and
/// stores them; returns how many were read and how many were new to the raw log.
/// `progress` gets the count read so far.
pub async fn git_import(
    db: &Arc<Database>,
    path: &Path,
    repo: &RepoName,
    progress: impl FnMut(usize) + Send + 'static,
) -> Result<(usize, usize), String> {
    let reader = db.clone();
    let repo_name = repo.as_str().to_owned();
    let known = tokio::task::spawn_blocking(move || {
        reader.readers.with(|conn| known_commits(conn, &repo_name))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;

    let (path, walk_repo) = (path.to_owned(), repo.clone());
    let mut progress = progress;
    let changes = tokio::task::spawn_blocking(move || {
        read_new_commits(&path, &walk_repo, &|sha| known.contains(sha), &mut progress)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;

    let read = changes.len();
    let received_at = chrono::Utc::now();
    let mut stored = 0;
    let mut deliveries: Vec<Delivery> = changes
        .into_iter()
        .map(|c| typed_delivery("git", to_parsed(Event::Change(c)), received_at))
        .collect();
    while !deliveries.is_empty() {
        let rest = deliveries.split_off(deliveries.len().min(GIT_CHUNK));
        let outcome = db
            .writer
            .submit(Submission { deliveries })
            .await
            .map_err(|e| format!("git import stopped, earlier commits are stored: {e}"))?;
        stored += outcome.accepted;
        deliveries = rest;
    }
    Ok((read, stored))
}
