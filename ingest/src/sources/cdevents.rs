//! CDEvents deliveries → changes, builds, deployments and incidents (SPEC §6).
//!
//! A CDEvent (`{"context": …, "subject": …, "customData": …}`) reaches the one route
//! three ways:
//!
//! - CloudEvents binary mode: `ce-type`, `ce-id`, … headers, the CDEvent as the body;
//! - CloudEvents structured mode (`Content-Type: application/cloudevents+json`, or a
//!   body with a top-level `specversion`): the CDEvent under `data`;
//! - a bare CDEvent body (what the CDEvents conformance examples are).
//!
//! A structured-mode CloudEvent whose `data` is not a CDEvent but the Jenkins
//! CDEvents plugin's earlier layout goes to [`jenkins`].
//!
//! The type is `context.type` (`dev.cdevents.service.deployed.0.3.0`), read without
//! its version. CDEvents carry no commit sha where Shiplog needs one (a merged change
//! names its repository, a deployment its artifact), so senders add it under
//! `customData` ([`SHA_KEYS`], with `repo`, `branch`, `parents`, `committed_at`,
//! `severity`); `docs/sources/cdevents.md` lists what each type reads.

use shiplog_model::{
    Build, Change, CommitSha, Deployment, Event, Incident, PullRequest, RepoName, Status, Timestamp,
};

use super::payload::{Node, event_id, parse_json, percent_decode, service_name};
use super::{Incoming, MapError, Mapping, Routing, jenkins};

/// The CloudEvents binary-mode headers, which the adapter reads and the raw log keeps.
pub const KEPT_HEADERS: &[&str] = &[
    "ce-id",
    "ce-type",
    "ce-source",
    "ce-time",
    "ce-subject",
    "ce-specversion",
    "content-type",
];

/// The `customData` keys read as the commit sha, the first present winning.
pub const SHA_KEYS: &[&str] = &["sha", "commit", "revision"];

const CDEVENT_PREFIX: &str = "dev.cdevents.";

/// What one CDEvent maps to, or why it is skipped.
type Outcome = Result<Event, String>;

pub fn map(incoming: &Incoming<'_>, routing: &Routing) -> Result<Mapping, MapError> {
    let value = parse_json(incoming.body, "cdevents")?;
    let content_type = incoming
        .header("content-type")
        .map(|c| c.trim().to_ascii_lowercase());
    let has_type = |prefix: &str| {
        content_type
            .as_deref()
            .is_some_and(|c| c.starts_with(prefix))
    };
    if has_type("application/cloudevents-batch+json") || value.is_array() {
        return Err(MapError::new(
            "cdevents: batched CloudEvents are not supported; send one event per request",
        ));
    }
    if !value.is_object() {
        return Err(MapError::new("cdevents: the body must be a JSON object"));
    }

    if let Some(ce_type) = incoming.header("ce-type") {
        let envelope_id = incoming.header("ce-id").map(str::to_owned);
        if !ce_type.starts_with(CDEVENT_PREFIX) {
            return Ok(not_a_cdevent(ce_type, envelope_id));
        }
        return map_cdevent(Node::root(&value, ce_type), envelope_id, routing);
    }

    if has_type("application/cloudevents+json") || value.get("specversion").is_some() {
        let ce_type = Node::root(&value, "cloudevent").str("type")?;
        let root = Node::root(&value, ce_type);
        let envelope_id = root.opt_id("id")?;
        if !ce_type.starts_with(CDEVENT_PREFIX) {
            return Ok(not_a_cdevent(ce_type, envelope_id));
        }
        if jenkins::is_plugin_layout(&value) {
            return jenkins::map(root, ce_type);
        }
        if root.get("data").is_none() && root.get("data_base64").is_some() {
            return Err(root.error(
                "data_base64",
                "is not supported: send the CDEvent as JSON under `data`",
            ));
        }
        return map_cdevent(root.object("data")?, envelope_id, routing);
    }

    let cd_type = Node::root(&value, "cdevents")
        .object("context")?
        .str("type")?;
    map_cdevent(Node::root(&value, cd_type), None, routing)
}

/// A CloudEvent of another vocabulary: stored, nothing mapped.
fn not_a_cdevent(ce_type: &str, delivery_id: Option<String>) -> Mapping {
    let why = if ce_type.starts_with("dev.tekton.event.") {
        format!(
            "{ce_type}: Tekton's own events name a run, not a commit, a service or an outcome \
             Shiplog can use; send CDEvents (dev.cdevents.*) instead"
        )
    } else {
        format!("{ce_type}: not a CDEvent (dev.cdevents.*)")
    };
    Mapping::skipped(ce_type, delivery_id, why)
}

/// `("service", "deployed")` of `dev.cdevents.service.deployed.0.3.0`.
pub(super) fn subject_and_predicate(cd_type: &str) -> Option<(&str, &str)> {
    let mut parts = cd_type.strip_prefix(CDEVENT_PREFIX)?.split('.');
    Some((parts.next()?, parts.next()?))
}

fn map_cdevent(
    cdevent: Node<'_>,
    envelope_id: Option<String>,
    routing: &Routing,
) -> Result<Mapping, MapError> {
    let context = cdevent.object("context")?;
    let cd_type = context.str("type")?;
    // A CloudEvent's id is the CDEvent's `context.id` (the CDEvents binding); the
    // envelope's is the delivery's when there is one.
    let delivery_id = match envelope_id {
        Some(id) => Some(id),
        None => context.opt_id("id")?,
    };
    let kind = subject_and_predicate(cd_type);
    let outcome = match kind {
        Some(("change", "merged")) => change_merged(&CdEvent::read(&cdevent, "change.merged")?)?,
        Some(("pipelinerun", "finished")) => {
            pipelinerun_finished(&CdEvent::read(&cdevent, "pipelinerun.finished")?)?
        }
        // A rollback is a deployment too: the derivation tells it by its sha
        // (SPEC §3.3), whatever the sender called it.
        Some(("service", predicate @ ("deployed" | "upgraded" | "rolledback"))) => {
            let name = format!("service.{predicate}");
            service_deployed(&CdEvent::read(&cdevent, &name)?, routing)?
        }
        // `reported` (a person or a ticket) opens an incident as `detected` (a
        // monitor) does; both name the incident by its subject id.
        Some(("incident", predicate @ ("detected" | "reported"))) => {
            let name = format!("incident.{predicate}");
            incident(&CdEvent::read(&cdevent, &name)?, routing, false)?
        }
        Some(("incident", "resolved")) => incident(
            &CdEvent::read(&cdevent, "incident.resolved")?,
            routing,
            true,
        )?,
        _ => Err(unmapped(cd_type, kind)),
    };
    Ok(match outcome {
        Ok(event) => Mapping::one(cd_type, delivery_id, event),
        Err(why) => Mapping::skipped(cd_type, delivery_id, why),
    })
}

fn unmapped(cd_type: &str, kind: Option<(&str, &str)>) -> String {
    match kind {
        Some(("pipelinerun" | "taskrun" | "build", "queued" | "started")) => {
            format!("{cd_type}: the run has not finished; Shiplog records pipelinerun.finished")
        }
        Some(("taskrun", "finished")) => {
            format!(
                "{cd_type}: a task is part of a pipeline run; Shiplog records pipelinerun.finished"
            )
        }
        Some(("build", "finished")) => format!(
            "{cd_type}: describes a built artifact, not a CI run of a commit; send \
             pipelinerun.finished with customData.repo and customData.sha"
        ),
        _ => format!(
            "{cd_type}: not a type Shiplog maps (change.merged, pipelinerun.finished, \
             service.deployed/upgraded/rolledback, incident.detected/reported/resolved)"
        ),
    }
}

/// The parts of a CDEvent the mappings read.
struct CdEvent<'a> {
    /// `service.deployed`: names the event in skip reasons.
    name: String,
    context: Node<'a>,
    subject: Node<'a>,
    content: Option<Node<'a>>,
    /// Only a JSON object counts: `customData` may be of any content type.
    custom: Option<Node<'a>>,
}

impl<'a> CdEvent<'a> {
    fn read(cdevent: &Node<'a>, name: &str) -> Result<CdEvent<'a>, MapError> {
        let subject = cdevent.object("subject")?;
        Ok(CdEvent {
            name: name.to_owned(),
            context: cdevent.object("context")?,
            content: subject.opt_object("content")?,
            subject,
            custom: cdevent.get("customData").filter(|c| c.value().is_object()),
        })
    }

    fn timestamp(&self) -> Result<Timestamp, MapError> {
        self.context.time("timestamp")
    }

    fn custom_str(&self, key: &str) -> Result<Option<&'a str>, MapError> {
        match &self.custom {
            Some(custom) => custom.opt_str(key),
            None => Ok(None),
        }
    }

    fn custom_time(&self, key: &str) -> Result<Option<Timestamp>, MapError> {
        match &self.custom {
            Some(custom) => custom.opt_time(key),
            None => Ok(None),
        }
    }

    fn custom_sha(&self) -> Result<Option<CommitSha>, MapError> {
        let Some(custom) = &self.custom else {
            return Ok(None);
        };
        for key in SHA_KEYS {
            if let Some(sha) = custom.opt_sha(key)? {
                return Ok(Some(sha));
            }
        }
        Ok(None)
    }

    fn custom_parents(&self) -> Result<Option<Vec<CommitSha>>, MapError> {
        let Some(custom) = self.custom.as_ref().filter(|c| c.get("parents").is_some()) else {
            return Ok(None);
        };
        custom
            .array("parents")?
            .iter()
            .map(|parent| match parent.value().as_str() {
                Some(raw) => CommitSha::parse(raw).map_err(|e| parent.error("", &e.to_string())),
                None => Err(parent.error("", "must be a string")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The `id` of the reference `subject.content.{key}` (`{"id": …, "source": …}`).
    fn content_ref(&self, key: &str) -> Result<Option<String>, MapError> {
        let Some(content) = &self.content else {
            return Ok(None);
        };
        match content.opt_object(key)? {
            Some(reference) => reference.opt_id("id"),
            None => Ok(None),
        }
    }

    /// `customData.sha`, else the version of `subject.content.artifactId`
    /// (`pkg:oci/myapp@sha256%3A0b31…` → `sha256:0b31…`). An image digest tells
    /// deployments of one build apart (rollbacks and redeploys are found by sha) but
    /// is no commit, so it gives no lead time.
    fn revision(&self) -> Result<Option<CommitSha>, MapError> {
        if let Some(sha) = self.custom_sha()? {
            return Ok(Some(sha));
        }
        let artifact = match &self.content {
            Some(content) => content.opt_str("artifactId")?,
            None => None,
        };
        Ok(artifact
            .and_then(artifact_version)
            .and_then(|v| CommitSha::parse(&v).ok()))
    }
}

fn change_merged(ev: &CdEvent<'_>) -> Result<Outcome, MapError> {
    let Some(sha) = ev.custom_sha()? else {
        return Ok(Err(
            "change.merged carries no commit sha; send the merge (or squash) commit in customData.sha"
                .to_owned(),
        ));
    };
    let repo = match ev.content_ref("repository")? {
        Some(repo) => repo,
        None => match ev.custom_str("repo")? {
            Some(repo) => repo.to_owned(),
            None => {
                return Ok(Err(
                    "change.merged names no repository; send subject.content.repository.id or customData.repo"
                        .to_owned(),
                ));
            }
        },
    };
    let merged_at = ev.timestamp()?;
    let number = ev
        .subject
        .opt_id("id")?
        .and_then(|id| id.trim_start_matches('#').parse::<i64>().ok());
    Ok(Ok(Event::Change(Change {
        repo: RepoName::parse(&repo)
            .map_err(|e| MapError::new(format!("change.merged: repository {repo:?} {e}")))?,
        sha,
        parents: ev.custom_parents()?,
        // The merge commit is made when the change merges, unless the sender knows better.
        committed_at: ev.custom_time("committed_at")?.unwrap_or(merged_at),
        authored_at: None,
        author: None,
        message: None,
        pr: Some(PullRequest {
            number,
            merged_at: Some(merged_at),
            ..PullRequest::default()
        }),
        paths: None,
    })))
}

fn pipelinerun_finished(ev: &CdEvent<'_>) -> Result<Outcome, MapError> {
    let no_commit = || -> Result<Outcome, MapError> {
        Ok(Err(
            "pipelinerun.finished carries no commit; send customData.repo and customData.sha"
                .to_owned(),
        ))
    };
    let Some(repo) = ev.custom_str("repo")? else {
        return no_commit();
    };
    let Some(sha) = ev.custom_sha()? else {
        return no_commit();
    };
    let outcome = match &ev.content {
        Some(content) => content.opt_str("outcome")?,
        None => None,
    };
    let status = match outcome {
        Some("success") => "success".to_owned(),
        // `error` is the pipeline failing to run rather than its checks failing: for
        // build health both leave the branch without a green build.
        Some("failure" | "error") => "failure".to_owned(),
        Some(other) => other.to_ascii_lowercase(),
        None => {
            return Ok(Err(
                "pipelinerun.finished carries no subject.content.outcome".to_owned(),
            ));
        }
    };
    // A subject's source defaults to the context's (CDEvents spec).
    let source = match ev.subject.opt_str("source")? {
        Some(source) => source,
        None => ev.context.str("source")?,
    };
    let run = ev.subject.id("id")?;
    Ok(Ok(Event::Build(Build {
        id: event_id(
            &format!("cdevents:{source}:{run}"),
            "subject.source and subject.id",
        )?,
        repo: RepoName::parse(repo)
            .map_err(|e| MapError::new(format!("pipelinerun.finished: customData.repo {e}")))?,
        sha,
        status: Status::new(status),
        branch: ev.custom_str("branch")?.map(str::to_owned),
        started_at: None,
        finished_at: ev.timestamp()?,
        provider: Some("cdevents".to_owned()),
    })))
}

fn service_deployed(ev: &CdEvent<'_>, routing: &Routing) -> Result<Outcome, MapError> {
    let name = ev.subject.id("id")?;
    let repo = ev.custom_str("repo")?;
    let service = match repo {
        Some(repo) => match routing.repo_service(repo, Some(name.as_str())) {
            Ok(service) => service,
            Err(why) => return Ok(Err(why)),
        },
        None => routing.service_named(&name),
    };
    let Some(sha) = ev.revision()? else {
        return Ok(Err(format!(
            "{}: carries neither customData.sha nor subject.content.artifactId; send the \
             deployed commit in customData.sha",
            ev.name
        )));
    };
    let id = ev.context.id("id")?;
    Ok(Ok(Event::Deployment(Deployment {
        id: event_id(&format!("cdevents:{id}"), "context.id")?,
        service: service_name(&service, "subject.id")?,
        environment: ev
            .content_ref("environment")?
            .map(|e| routing.environment(&e)),
        repo: repo
            .map(|r| {
                RepoName::parse(r)
                    .map_err(|e| MapError::new(format!("{}: customData.repo {e}", ev.name)))
            })
            .transpose()?,
        sha,
        status: Some(Status::success()),
        started_at: None,
        finished_at: ev.timestamp()?,
        team: None,
        commits: None,
    })))
}

fn incident(ev: &CdEvent<'_>, routing: &Routing, resolved: bool) -> Result<Outcome, MapError> {
    let Some(service) = ev.content_ref("service")? else {
        return Ok(Err(format!(
            "{}: names no service; send subject.content.service.id",
            ev.name
        )));
    };
    let service = routing.service_named(&service);
    let id = ev.subject.id("id")?;
    let at = ev.timestamp()?;
    // The resolution's description and artifact are the fix's ("Response time
    // restored"), not the problem's: they would overwrite the title and the sha that
    // attributes the incident, so a resolution carries neither.
    let (title, sha) = if resolved {
        (None, None)
    } else {
        let title = match &ev.content {
            Some(content) => content.opt_str("description")?.map(str::to_owned),
            None => None,
        };
        (title, ev.revision()?)
    };
    Ok(Ok(Event::Incident(Incident {
        id: event_id(&format!("cdevents:{id}"), "subject.id")?,
        service: service_name(&service, "subject.content.service.id")?,
        // A resolution knows only its own time: a stand-in that never moves the
        // stored open time.
        opened_at: at,
        opened_at_estimated: resolved,
        resolved_at: resolved.then_some(at),
        severity: ev.custom_str("severity")?.map(str::to_owned),
        deployment_id: None,
        sha,
        title,
    })))
}

/// The version of a package URL (`pkg:oci/myapp@sha256%3A0b31…?repository_url=…`),
/// percent-decoded.
pub fn artifact_version(purl: &str) -> Option<String> {
    let rest = purl.trim().strip_prefix("pkg:")?;
    let without_qualifiers = rest.split(['?', '#']).next()?;
    let (_, version) = without_qualifiers.rsplit_once('@')?;
    (!version.is_empty()).then(|| percent_decode(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_url_versions_are_percent_decoded() {
        assert_eq!(
            artifact_version("pkg:oci/myapp@sha256%3A0b31b1c0").as_deref(),
            Some("sha256:0b31b1c0")
        );
        assert_eq!(
            artifact_version("pkg:oci/myapp@sha256%3Aab?repository_url=ghcr.io/acme").as_deref(),
            Some("sha256:ab")
        );
        assert_eq!(
            artifact_version("pkg:npm/%40angular/core@16.1.0").as_deref(),
            Some("16.1.0")
        );
        assert_eq!(artifact_version("pkg:oci/myapp"), None);
        assert_eq!(artifact_version("pkg:oci/myapp@"), None);
        assert_eq!(artifact_version("myapp@1.0"), None);
    }

    #[test]
    fn types_are_read_without_their_version() {
        assert_eq!(
            subject_and_predicate("dev.cdevents.service.deployed.0.3.0"),
            Some(("service", "deployed"))
        );
        assert_eq!(
            subject_and_predicate("dev.cdevents.change.merged.0.6.0-draft"),
            Some(("change", "merged"))
        );
        assert_eq!(
            subject_and_predicate("dev.tekton.event.taskrun.unknown.v1"),
            None
        );
    }
}
