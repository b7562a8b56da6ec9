//! `push` and `pull_request` deliveries → changes: the commits a push brings, and the
//! merge commit of a merged pull request with its `pr`.

use shiplog_model::{Event, PullRequest};

use super::delivery::Outcome;
use crate::sources::MapError;
use crate::sources::commits::{merge_commit, pushed_commit};
use crate::sources::payload::Node;

/// A push: one change per listed commit, plus `head_commit` when the list lacks it.
pub(super) fn push(root: &Node<'_>) -> Result<Outcome, MapError> {
    let repo = root.object("repository")?.repo("full_name")?;
    // Every push names its ref and lists its commits (possibly none): a body without
    // them is not a push.
    let git_ref = root.str("ref")?;
    if root.get("commits").is_none() {
        return Err(root.error("commits", "is missing"));
    }
    // A tag points at a commit that a branch push brought (or will); its
    // `head_commit` is that old commit, not something new.
    if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
        return Ok(Outcome::skipped(format!(
            "push of tag {tag}: a tag adds no commits (branch pushes bring them)"
        )));
    }
    let mut changes = root
        .array("commits")?
        .iter()
        .map(|node| pushed_commit(&repo, node))
        .collect::<Result<Vec<_>, _>>()?;
    // A branch created from a known commit lists no commits but still has a head.
    if let Some(head) = root.opt_object("head_commit")? {
        let head = pushed_commit(&repo, &head)?;
        if !changes.iter().any(|c| c.sha == head.sha) {
            changes.push(head);
        }
    }
    if changes.is_empty() {
        let what = if root.opt_bool("deleted")? == Some(true) {
            "deletes the branch"
        } else {
            "brings no commits"
        };
        return Ok(Outcome::skipped(format!(
            "push to {git_ref} {what}: nothing to map"
        )));
    }
    Ok(Outcome::events(
        changes.into_iter().map(Event::Change).collect(),
    ))
}

/// A pull request closed by merging: its merge (or squash) commit, with `pr`.
pub(super) fn pull_request(root: &Node<'_>) -> Result<Outcome, MapError> {
    let repo = root.object("repository")?.repo("full_name")?;
    let action = root.str("action")?;
    let pr = root.object("pull_request")?;
    let number = match pr.opt_i64("number")? {
        Some(number) => number,
        None => root
            .opt_i64("number")?
            .ok_or_else(|| pr.error("number", "is missing"))?,
    };
    if action != "closed" {
        return Ok(Outcome::skipped(format!(
            "pull_request {action}: only a merged pull request maps (to its merge commit)"
        )));
    }
    if pr.opt_bool("merged")? != Some(true) {
        return Ok(Outcome::skipped(format!(
            "pull request #{number} was closed without merging"
        )));
    }
    let Some(sha) = pr.opt_sha("merge_commit_sha")? else {
        return Ok(Outcome::skipped(format!(
            "merged pull request #{number} has no merge_commit_sha"
        )));
    };
    let merged_at = pr.time("merged_at")?;
    // `repository` is the base repository, where the merge commit lands, also for a
    // pull request from a fork.
    let pr = PullRequest {
        number: Some(number),
        // The delivery does not list the pull request's commits; the backfill fills
        // this in.
        first_commit_at: None,
        opened_at: pr.opt_time("created_at")?,
        merged_at: None,
    };
    Ok(Outcome::events(vec![Event::Change(merge_commit(
        repo, sha, merged_at, pr,
    ))]))
}
