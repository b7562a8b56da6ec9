//! ArgoCD deliveries → deployments (SPEC §6). ArgoCD has no webhook payload of its
//! own: argocd-notifications posts whatever a template renders. Shiplog ships that
//! template (`deploy/argocd/argocd-notifications-cm.yaml`, one per trigger), and this
//! adapter reads exactly the JSON it renders:
//!
//! ```json
//! {"id": "argocd/shop@2024-03-05T07:33:03Z#sync-succeeded", "event": "sync-succeeded",
//!  "app": "shop", "namespace": "argocd", "environment": "production",
//!  "revision": "ea87…", "phase": "Succeeded", "health": "Healthy",
//!  "started_at": "2024-03-05T07:33:03Z", "finished_at": "2024-03-05T07:33:04Z",
//!  "repo_url": "https://github.com/acme/shop.git"}
//! ```
//!
//! One sync operation is one deployment, keyed by the app and the operation's start,
//! so the later deliveries about that operation (its app going Degraded) update it.

use chrono::SecondsFormat;
use shiplog_model::{Deployment, Event, RepoName, Status};

use super::payload::{Node, event_id, parse_object, service_name};
use super::{Incoming, MapError, Mapping, Routing};

/// Every key of the shipped template's body that this adapter reads (a test checks
/// that each template renders all of them). `health` is rendered for the raw log only.
pub const BODY_KEYS: &[&str] = &[
    "id",
    "event",
    "app",
    "namespace",
    "environment",
    "revision",
    "phase",
    "started_at",
    "finished_at",
    "repo_url",
];

/// The `event` each shipped template sends, one per trigger.
pub const EVENTS: &[&str] = &["sync-succeeded", "sync-failed", "health-degraded"];

/// The deployment status an event stands for, or why it is skipped.
fn status(event: &str, phase: Option<&str>) -> Result<&'static str, String> {
    if phase == Some("Running") {
        return Err(format!(
            "{event}: the sync operation is still running; it is recorded once it has finished"
        ));
    }
    match event {
        "sync-succeeded" => Ok("success"),
        "sync-failed" => Ok("failure"),
        // The app went Degraded after the sync put this revision in: the attempt to
        // deploy it failed. The delivery names the same operation as the sync's own,
        // so it turns that deployment's status to failure (the later stored wins,
        // SPEC §8). Turned down: an incident per degradation, which would need a
        // "recovered" trigger to ever resolve.
        "health-degraded" => Ok("failure"),
        // A hand-written template that sends no `event`: the operation's phase says.
        "sync" => match phase {
            Some("Succeeded") => Ok("success"),
            Some("Failed" | "Error") => Ok("failure"),
            other => Err(format!(
                "sync: phase {other:?} is not a finished sync (Succeeded, Failed or Error)"
            )),
        },
        other => Err(format!(
            "event {other:?} is not one Shiplog maps; the shipped template sends {}",
            EVENTS.join(", ")
        )),
    }
}

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let value = parse_object(incoming.body, "argocd")?;
    let event = Node::root(&value, "argocd")
        .opt_str("event")?
        .unwrap_or("sync");
    let what = format!("argocd {event}");
    let root = Node::root(&value, &what);
    let delivery_id = root.opt_id("id")?;

    let status = match status(event, root.opt_str("phase")?) {
        Ok(status) => status,
        Err(why) => return Ok(Mapping::skipped(event, delivery_id, why)),
    };
    let sha = root.sha("revision")?;
    let finished_at = root.time("finished_at")?;
    let started_at = root.time("started_at")?;
    let app = root.str("app")?;
    let namespace = root.str("namespace")?;

    let id = format!(
        "argocd:{namespace}/{app}@{}",
        started_at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    );
    let service = routing.argocd_service(app);
    let environment = match routing.argocd_environments.get(app) {
        Some(configured) => Some(configured.clone()),
        None => root.opt_str("environment")?.map(|e| routing.environment(e)),
    };
    let repo = root
        .opt_str("repo_url")?
        .and_then(repo_from_url)
        .and_then(|r| RepoName::parse(&r).ok());

    let deployment = Deployment {
        id: event_id(&id, "the app and its sync operation")?,
        service: service_name(&service, "the ArgoCD application")?,
        environment,
        repo,
        sha,
        status: Some(Status::new(status)),
        started_at: Some(started_at),
        finished_at,
        team: None,
        commits: None,
    };
    Ok(Mapping::one(
        event,
        delivery_id,
        Event::Deployment(deployment),
    ))
}

/// `owner/name` of a GitHub or GitLab repository URL (`https://github.com/acme/shop.git`,
/// `git@gitlab.com:group/sub/shop.git`, `ssh://git@github.acme.com/acme/shop`), the
/// form the GitHub and GitLab adapters store commits under. The revision ArgoCD
/// deploys is a commit of that repository, so naming it lets the change set be
/// walked there; the config's `repo` of the service would name the application's
/// source repository, which for a separate GitOps repository does not hold that
/// commit. Other hosts give `None`: a Helm chart repository's "revision" is a chart
/// version, and an unknown Git host's path layout is a guess.
pub fn repo_from_url(url: &str) -> Option<String> {
    let url = url.trim();
    let (host, path) = if let Some((_, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit('@').next()?;
        (host.split(':').next()?, path)
    } else {
        // scp-like: git@github.com:acme/shop.git
        let (authority, path) = url.split_once(':')?;
        (authority.rsplit('@').next()?, path)
    };
    let host = host.to_ascii_lowercase();
    let known = ["github.com", "gitlab.com"].contains(&host.as_str())
        || host.starts_with("github.")
        || host.starts_with("gitlab.");
    if !known {
        return None;
    }
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let whole = segments.len() >= 2 && segments.iter().all(|s| !s.is_empty());
    let github_shaped = !host.contains("github") || segments.len() == 2;
    (whole && github_shaped).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_of_github_and_gitlab_give_owner_and_name() {
        let cases = [
            (
                "https://github.com/foo/manifests-velero.git",
                Some("foo/manifests-velero"),
            ),
            ("https://github.com/acme/shop", Some("acme/shop")),
            ("https://github.com/acme/shop/", Some("acme/shop")),
            ("git@github.com:acme/shop.git", Some("acme/shop")),
            (
                "ssh://git@github.acme.com:22/acme/shop.git",
                Some("acme/shop"),
            ),
            (
                "https://token@gitlab.com/group/sub/shop.git",
                Some("group/sub/shop"),
            ),
            ("https://gitlab.acme.com/group/shop", Some("group/shop")),
            ("https://charts.bitnami.com/bitnami", None),
            ("oci://europe-west1-docker.pkg.dev/foo/charts", None),
            ("https://github.com/acme", None),
            ("https://github.com/acme/shop/tree/main", None),
            ("", None),
        ];
        for (url, want) in cases {
            assert_eq!(repo_from_url(url).as_deref(), want, "{url}");
        }
    }
}
