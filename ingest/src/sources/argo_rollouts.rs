//! Argo Rollouts notifications → deployments and aborted rollouts (SPEC §6). Like
//! ArgoCD's, the controller posts what a template renders from the Rollout
//! (`.rollout`); Shiplog ships the template and two triggers
//! (`deploy/argo-rollouts/argo-rollouts-notification-configmap.yaml`), and this
//! adapter reads the JSON it renders:
//!
//! ```json
//! {"event": "rollout-completed", "rollout": "shop", "namespace": "shop",
//!  "environment": "production", "revision": "9f2c…", "rollout_revision": "4",
//!  "image": "ghcr.io/acme/shop:9f2c…", "phase": "Healthy", "abort": null,
//!  "aborted_at": null, "message": null,
//!  "conditions": [{"type": "Completed", "status": "True", "reason": "RolloutCompleted",
//!                  "lastTransitionTime": "2021-07-27T12:14:21Z", …}, …]}
//! ```
//!
//! - `rollout-completed` of a Healthy rollout is a successful deployment
//!   `argo-rollouts:{namespace}/{name}@{rollout revision}`, finished when its
//!   `Completed` condition turned true.
//! - `rollout-aborted` of an aborted rollout (its analysis failed, or someone aborted
//!   it) is a deployment attempt with status `aborted`, at `status.abortedAt`: never a
//!   deployment for a DORA figure (SPEC §1), and it fails nothing; it is what the
//!   "aborted rollouts" figure counts. Its id carries the abort's time, so a revision
//!   aborted, retried and completed is one aborted attempt and one deployment.
//! - A Rollout names no commit. The revision is the `shiplog.dev/revision` annotation
//!   when the Rollout carries one, else the tag of its first container's image (a tag
//!   that is the commit sha gives lead times; any other tag still counts deployments
//!   and tells a rollback from a new release).

use chrono::SecondsFormat;
use shiplog_model::{CommitSha, Deployment, Event, Status, Timestamp};

use super::payload::{Node, event_id, parse_object, service_name};
use super::{Incoming, MapError, Mapping, Routing};

/// Every key of the shipped template's body (a test checks the template renders each).
pub const BODY_KEYS: &[&str] = &[
    "event",
    "rollout",
    "namespace",
    "environment",
    "revision",
    "rollout_revision",
    "image",
    "phase",
    "abort",
    "aborted_at",
    "message",
    "conditions",
];

/// The `event` each shipped template sends, one per trigger.
pub const EVENTS: &[&str] = &["rollout-completed", "rollout-aborted"];

/// The status an aborted rollout's attempt is stored with.
pub use shiplog_model::ABORTED;

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let value = parse_object(incoming.body, "argo-rollouts")?;
    let event = Node::root(&value, "argo-rollouts").str("event")?;
    let root = Node::root(&value, event);
    let name = root.str("rollout")?;
    let namespace = root.str("namespace")?;
    let skip = |why: String| {
        Ok(Mapping::skipped(
            event,
            None,
            format!("{namespace}/{name}: {why}"),
        ))
    };
    let phase = root.opt_str("phase")?;
    let aborted = root.opt_bool("abort")? == Some(true);
    // An empty status renders its conditions as `{}` in some Rollouts: none.
    let conditions = match value.get("conditions") {
        Some(serde_json::Value::Object(empty)) if empty.is_empty() => Vec::new(),
        _ => root.array("conditions")?,
    };

    let (status, finished_at) = match event {
        "rollout-completed" => {
            if aborted {
                return skip("the rollout is aborted, not completed".into());
            }
            if let Some(phase) = phase.filter(|p| *p != "Healthy") {
                return skip(format!(
                    "phase {phase} ({}): not completed; a rollout counts once it is Healthy",
                    root.opt_str("message")?.unwrap_or("no message")
                ));
            }
            let Some(at) = completed_at(&conditions)? else {
                return skip(
                    "no Completed condition is true yet: it is recorded once it completes".into(),
                );
            };
            ("success", at)
        }
        "rollout-aborted" => {
            if !aborted {
                return skip("status.abort is not true: the rollout is not aborted".into());
            }
            let at = match root.opt_time("aborted_at")? {
                Some(at) => at,
                None => condition_time(&conditions, "Progressing", Some("RolloutAborted"))?
                    .ok_or_else(|| root.error("aborted_at", "is missing"))?,
            };
            (ABORTED, at)
        }
        other => {
            return skip(format!(
                "event {other:?} is not one Shiplog maps; the shipped template sends {}",
                EVENTS.join(", ")
            ));
        }
    };

    let rollout_revision = root.id("rollout_revision")?;
    let Some(sha) = revision(&root)? else {
        return skip(
            "no revision: annotate the Rollout with shiplog.dev/revision (the commit it \
             deploys), or tag its image"
                .into(),
        );
    };
    let mut id = format!("argo-rollouts:{namespace}/{name}@{rollout_revision}");
    if status == ABORTED {
        id.push_str(&format!(
            "#aborted@{}",
            finished_at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        ));
    }
    let deployment = Deployment {
        id: event_id(&id, "the rollout and its revision")?,
        service: service_name(&routing.rollout_service(name), "the Rollout's name")?,
        environment: root.opt_str("environment")?.map(|e| routing.environment(e)),
        repo: None,
        sha: CommitSha::parse(&sha).map_err(|e| root.error("revision", &e.to_string()))?,
        status: Some(Status::new(status)),
        started_at: None,
        finished_at,
        team: None,
        commits: None,
    };
    Ok(Mapping::one(event, Some(id), Event::Deployment(deployment)))
}

/// When the rollout completed: its `Completed` condition's turn to true, else (a
/// controller before v1.1 sets no such condition) the last update of the
/// `Progressing` condition that says the new ReplicaSet is available.
fn completed_at(conditions: &[Node<'_>]) -> Result<Option<Timestamp>, MapError> {
    for c in conditions {
        if c.opt_str("type")? == Some("Completed") && c.opt_str("status")? == Some("True") {
            return c.opt_time("lastTransitionTime");
        }
    }
    condition_time(conditions, "Progressing", Some("NewReplicaSetAvailable"))
}

/// The last update of the condition of `kind` (with `reason`, when given).
fn condition_time(
    conditions: &[Node<'_>],
    kind: &str,
    reason: Option<&str>,
) -> Result<Option<Timestamp>, MapError> {
    for c in conditions {
        if c.opt_str("type")? == Some(kind) && (reason.is_none() || c.opt_str("reason")? == reason)
        {
            return c.opt_time("lastUpdateTime");
        }
    }
    Ok(None)
}

/// The revision the rollout deploys: the annotation, else the image's tag.
fn revision(root: &Node<'_>) -> Result<Option<String>, MapError> {
    if let Some(revision) = root.opt_str("revision")? {
        return Ok(Some(revision.trim().to_owned()));
    }
    Ok(root
        .opt_str("image")?
        .and_then(image_tag)
        .map(str::to_owned))
}

/// The tag of an image reference (`ghcr.io/acme/shop:1.4.2@sha256:…` → `1.4.2`); a
/// registry's port is not a tag.
pub fn image_tag(image: &str) -> Option<&str> {
    let image = image.split('@').next()?;
    let last = image.rsplit('/').next()?;
    let (_, tag) = last.split_once(':')?;
    (!tag.is_empty()).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags() {
        let cases = [
            ("argoproj/rollouts-demo:yellow", Some("yellow")),
            ("ghcr.io/acme/shop:1.4.2@sha256:abcd", Some("1.4.2")),
            ("registry:5000/acme/shop:9f2c", Some("9f2c")),
            ("registry:5000/acme/shop", None),
            ("nginx", None),
            ("nginx@sha256:abcd", None),
            ("nginx:", None),
        ];
        for (image, want) in cases {
            assert_eq!(image_tag(image), want, "{image}");
        }
    }
}
