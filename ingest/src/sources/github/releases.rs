//! `release` deliveries → deployments, for the repositories the config lists under
//! `[sources.github] release_repos` (where publishing a release is how a version
//! ships, e.g. a library or an app store build).
//!
//! A deployment needs the commit it put out (lead time is counted to it). The release
//! payload names its tag (`release.tag_name`) and `release.target_commitish`, which is
//! whatever the release was created against: usually a branch (`main`), whose head may
//! have moved on, and ignored by GitHub when the tag already existed. Neither gives the
//! tag's commit, so only a `target_commitish` that is itself a full 40-hex sha is taken;
//! any other release is stored and skipped with the reason. Turned down: the branch's
//! head from the latest push (a guess that is wrong whenever the branch moved, or the
//! tag was made elsewhere), and a later tag push (the mapping is per delivery; it keeps
//! no state to join two deliveries). A workflow run on `release: published` does carry
//! the tag's commit (`head_sha`): list it under `deploy_workflows` instead.

use shiplog_model::{CommitSha, Deployment, Event, Status};

use super::delivery::Outcome;
use crate::sources::payload::{Node, event_id, service_name};
use crate::sources::{MapError, Routing};

pub(super) fn release(root: &Node<'_>, routing: &Routing) -> Result<Outcome, MapError> {
    let repo = root.object("repository")?.repo("full_name")?;
    let action = root.str("action")?;
    let release = root.object("release")?;
    let release_id = release.id("id")?;
    let tag = release.opt_str("tag_name")?.unwrap_or("(no tag)");
    if action != "published" {
        return Ok(Outcome::skipped(format!(
            "release {action}: only a published release is a deployment (release {tag} of {repo})"
        )));
    }
    if release.opt_bool("draft")? == Some(true) {
        return Ok(Outcome::skipped(format!(
            "release {tag} of {repo} is a draft: not a deployment"
        )));
    }
    if release.opt_bool("prerelease")? == Some(true) {
        return Ok(Outcome::skipped(format!(
            "release {tag} of {repo} is a prerelease: not a deployment"
        )));
    }
    if !routing.is_release_repo(repo.as_str()) {
        return Ok(Outcome::skipped(format!(
            "release {tag} of {repo}: not a deployment unless `[sources.github] release_repos` \
             lists the repository; list it there, then run `shiplog replay`"
        )));
    }
    let target = release.opt_str("target_commitish")?;
    let Some(sha) = target.and_then(full_sha) else {
        return Ok(Outcome::skipped(format!(
            "release {tag} of {repo} targets {}, not a commit sha, and the payload does not say \
             which commit the tag points at; create releases against a commit sha \
             (`gh release create {tag} --target <sha>`), or report the deployment from a \
             workflow run on `release: published` listed under `deploy_workflows`",
            target.map_or_else(|| "nothing".to_owned(), |t| format!("{t:?}"))
        )));
    };
    let service = match routing.repo_service(repo.as_str(), None) {
        Ok(service) => service_name(&service, "the service map")?,
        Err(reason) => return Ok(Outcome::skipped(reason)),
    };
    let finished_at = match release.opt_time("published_at")? {
        Some(t) => t,
        None => release.time("created_at")?,
    };
    Ok(Outcome::events(vec![Event::Deployment(Deployment {
        id: event_id(&format!("github:{repo}:release:{release_id}"), "release.id")?,
        service,
        // A release names no environment; absent means production (SPEC §2).
        environment: None,
        repo: Some(repo),
        sha,
        status: Some(Status::new("success")),
        started_at: None,
        finished_at,
        team: None,
        commits: None,
    })]))
}

/// `raw` when it is a full 40-hex commit sha, lower-cased as pushes deliver shas (a
/// branch or tag name, or a short sha, names no commit for certain).
fn full_sha(raw: &str) -> Option<CommitSha> {
    let raw = raw.trim();
    if raw.len() == 40 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        CommitSha::parse(&raw.to_ascii_lowercase()).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::full_sha;

    #[test]
    fn only_a_full_hex_sha_is_taken_for_a_commit() {
        assert!(full_sha("6113728f27ae82c7b1a177c8d03f9e96e0adf246").is_some());
        assert_eq!(
            full_sha("6113728F27AE82C7B1A177C8D03F9E96E0ADF246")
                .unwrap()
                .as_str(),
            "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
        );
        assert!(full_sha("master").is_none());
        assert!(full_sha("6113728").is_none());
        assert!(full_sha("6113728f27ae82c7b1a177c8d03f9e96e0adf24g").is_none());
    }
}
