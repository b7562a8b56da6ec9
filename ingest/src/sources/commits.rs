//! The commit shapes GitHub and GitLab share: a commit as a push lists it, and the
//! merge (or squash) commit of a merged pull request, as the webhooks and the
//! GitHub backfill map them.

use shiplog_model::{Change, CommitSha, PullRequest, RepoName, Timestamp};

use super::MapError;
use super::payload::Node;

/// One entry of a push's `commits` (or its `head_commit`): `id`, `timestamp`,
/// `author.name` (GitHub: else `author.username`), `message`, and the files of
/// `added`, `modified` and `removed` (both forges list them; GitLab caps a push at
/// 20 commits with files, and lists none for the rest: then they stay unknown).
pub(crate) fn pushed_commit(repo: &RepoName, node: &Node<'_>) -> Result<Change, MapError> {
    let author = match node.opt_object("author")? {
        Some(author) => author.opt_str("name")?.or(author.opt_str("username")?),
        None => None,
    };
    Ok(Change {
        repo: repo.clone(),
        sha: node.sha("id")?,
        // Push payloads list commits without their parents, so `parents` stays
        // unset and the git import supplies the graph. Taking the previous entry of
        // the list as a commit's parent was turned down: the list is a walk of every
        // branch the push brings, so with a merge in it consecutive entries are not
        // parent and child, and a wrong edge moves commits into the wrong change set
        // (worse than a missing edge, where the walk just stops).
        parents: None,
        committed_at: node.time("timestamp")?,
        authored_at: None,
        author: author.map(str::to_owned),
        message: node.opt_str("message")?.map(str::to_owned),
        pr: None,
        paths: touched_files(node)?,
    })
}

/// `added` + `modified` + `removed`, sorted and without repeats; `None` when the
/// entry has none of the three lists.
fn touched_files(node: &Node<'_>) -> Result<Option<Vec<String>>, MapError> {
    let mut files = Vec::new();
    let mut listed = false;
    for key in ["added", "modified", "removed"] {
        if let Some(list) = node.opt_strings(key)? {
            listed = true;
            // A name with a control character cannot be one of the configured
            // `paths` prefixes' files in practice, and the store's list form
            // reserves one; such a name is left out rather than the push refused.
            let names = list
                .into_iter()
                .filter(|f| !f.chars().any(char::is_control));
            files.extend(names.map(str::to_owned));
        }
    }
    files.sort();
    files.dedup();
    Ok(listed.then_some(files))
}

/// The merge (or squash) commit of a pull request merged at `merged_at` (which is
/// also set on `pr`). Neither forge's delivery carries that commit's own time; each
/// writes the commit when it merges, so `merged_at` is its time to within a second
/// (a push or the git import of the same commit may bring the exact one).
pub(crate) fn merge_commit(
    repo: RepoName,
    sha: CommitSha,
    merged_at: Timestamp,
    pr: PullRequest,
) -> Change {
    Change {
        repo,
        sha,
        parents: None,
        committed_at: merged_at,
        authored_at: None,
        author: None,
        message: None,
        pr: Some(PullRequest {
            merged_at: Some(merged_at),
            ..pr
        }),
        paths: None,
    }
}
