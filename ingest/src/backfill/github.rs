//! GitHub API pages → typed events. A backfill stores each page it fetched as one
//! raw-log delivery, a *bundle*: the items of one list page that it took, and for each
//! of them what it fetched besides (a deployment's statuses, a pull request's
//! commits). This module writes and reads that bundle and maps it, the same way on
//! the first run and on `shiplog replay`.
//!
//! The mapping agrees with the webhook adapter (`sources::github`) wherever both see
//! the same thing, so that a deployment or a merge seen both ways is one record:
//! the same deployment id, the same verdict, the same service and environment.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use serde_json::{Map, Value, json};
use shiplog_model::{Change, Deployment, Event, PullRequest, RepoName, Status, Timestamp};

use crate::sources::commits::merge_commit;
use crate::sources::github::payload_service;
use crate::sources::payload::{Node, event_id, parse_time, service_name};
use crate::sources::{MapError, Routing};

/// The raw log's `source` for backfilled GitHub pages.
pub const SOURCE: &str = "github-backfill";

/// A list the backfill pages through; its name is the raw log's `event_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `GET /repos/{repo}/deployments`, newest first, each with its statuses.
    Deployments,
    /// `GET /repos/{repo}/pulls?state=closed&sort=updated&direction=desc`, each merged
    /// one with its commits.
    Pulls,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Deployments, Kind::Pulls];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deployments => "deployments",
            Kind::Pulls => "pulls",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// What a person calls the list.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Deployments => "deployments",
            Kind::Pulls => "pull requests",
        }
    }

    /// The field the list is ordered by (newest first).
    pub fn order_field(self) -> &'static str {
        match self {
            Kind::Deployments => "created_at",
            Kind::Pulls => "updated_at",
        }
    }

    /// The bundle's field that holds what was fetched per item.
    fn details_field(self) -> &'static str {
        match self {
            Kind::Deployments => "statuses",
            Kind::Pulls => "commits",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One fetched page and what was fetched for its items.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    pub kind: Kind,
    /// The repository as GitHub spells it (`full_name`), as the webhooks name it.
    pub repo: RepoName,
    pub since: Timestamp,
    pub page: u32,
    /// The items the backfill took: deployments created at or after `since`, pull
    /// requests merged at or after `since`. The page's other items are not kept.
    pub items: Vec<Value>,
    /// Per item (a deployment's id, a pull request's number, as text): its statuses or
    /// its commits, as the API listed them.
    pub details: BTreeMap<String, Vec<Value>>,
    /// Set only on the record that closes a run whose last page was stored before
    /// (see `walk`): makes that record new, so the run's end is in the raw log.
    pub ended_at: Option<Timestamp>,
}

fn time_text(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl Bundle {
    /// The body stored in the raw log.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("kind".into(), json!(self.kind.as_str()));
        map.insert("repo".into(), json!(self.repo.as_str()));
        map.insert("since".into(), json!(time_text(self.since)));
        map.insert("page".into(), json!(self.page));
        map.insert("items".into(), Value::Array(self.items.clone()));
        let details: Map<String, Value> = self
            .details
            .iter()
            .map(|(k, v)| (k.clone(), Value::Array(v.clone())))
            .collect();
        map.insert(self.kind.details_field().into(), Value::Object(details));
        if let Some(t) = self.ended_at {
            map.insert("ended_at".into(), json!(time_text(t)));
        }
        Value::Object(map)
    }

    /// Reads a stored body back.
    pub fn parse(body: &str) -> Result<Bundle, MapError> {
        let value: Value = serde_json::from_str(body).map_err(|e| {
            MapError::new(format!("backfill page: the body is not valid JSON: {e}"))
        })?;
        let root = Node::root(&value, "backfill page");
        let kind_name = root.str("kind")?;
        let kind = Kind::parse(kind_name).ok_or_else(|| {
            root.error(
                "kind",
                &format!("is {kind_name:?}, not deployments or pulls"),
            )
        })?;
        let page = root
            .opt_i64("page")?
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| root.error("page", "is missing or not a page number"))?;
        let mut details = BTreeMap::new();
        if let Some(node) = root.opt_object(kind.details_field())? {
            for (key, list) in node.value().as_object().into_iter().flatten() {
                let list = list
                    .as_array()
                    .ok_or_else(|| node.error(key, "must be an array"))?;
                details.insert(key.clone(), list.clone());
            }
        }
        Ok(Bundle {
            kind,
            repo: root.repo("repo")?,
            since: root.time("since")?,
            page,
            items: root
                .array("items")?
                .iter()
                .map(|n| n.value().clone())
                .collect(),
            details,
            ended_at: root.opt_time("ended_at")?,
        })
    }
}

/// What a bundle maps to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapped {
    pub events: Vec<Event>,
    /// One reason per item that gave no event: a deployment not finished, a pull
    /// request closed without merging, a repository several services claim, or an
    /// item that is not what GitHub documents (the message names the JSON path).
    pub skipped: Vec<String>,
}

/// Maps a stored body (for `shiplog replay`).
pub fn map_body(body: &str, routing: &Routing) -> Result<Mapped, MapError> {
    Ok(map_bundle(&Bundle::parse(body)?, routing))
}

/// Maps every item of `bundle`; an item that cannot be mapped is skipped with the
/// reason, and the others still map.
pub fn map_bundle(bundle: &Bundle, routing: &Routing) -> Mapped {
    let mut mapped = Mapped::default();
    let what = format!("{} page {}", bundle.kind.as_str(), bundle.page);
    for (index, item) in bundle.items.iter().enumerate() {
        let node = Node::root(item, &what);
        let result = match bundle.kind {
            Kind::Deployments => deployment(&bundle.repo, &node, &bundle.details, routing),
            Kind::Pulls => pull_request(&bundle.repo, &node, &bundle.details),
        };
        match result {
            Ok(Ok(events)) => mapped.events.extend(events),
            Ok(Err(skip)) => mapped.skipped.push(skip),
            Err(e) => mapped.skipped.push(format!("item {index}: {e}")),
        }
    }
    mapped
}

/// The key of an item's details: its id or number as text.
pub fn item_key(item: &Value, kind: Kind) -> Option<String> {
    let field = match kind {
        Kind::Deployments => "id",
        Kind::Pulls => "number",
    };
    match item.get(field)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// `Ok(Err(reason))` is an item skipped on purpose; `Err` one that is malformed.
type ItemResult = Result<Result<Vec<Event>, String>, MapError>;

/// A deployment is decided by its latest status (by `created_at`), `inactive` ones
/// left out: GitHub marks a successful deployment inactive when a later one to the
/// same environment succeeds, which says nothing about its own result. The webhook
/// adapter maps the success status when it arrives and skips the later `inactive`,
/// so both ways give the same verdict.
fn deployment(
    repo: &RepoName,
    item: &Node<'_>,
    details: &BTreeMap<String, Vec<Value>>,
    routing: &Routing,
) -> ItemResult {
    let id = item.id("id")?;
    let sha = item.sha("sha")?;
    let statuses = details.get(&id).map(Vec::as_slice).unwrap_or_default();
    let mut decisive: Option<(Timestamp, &Value)> = None;
    for (i, status) in statuses.iter().enumerate() {
        let path = format!("statuses[{id}][{i}]");
        let node = Node::root(status, &path);
        if node.str("state")? == "inactive" {
            continue;
        }
        let at = match node.opt_time("created_at")? {
            Some(t) => t,
            None => node.time("updated_at")?,
        };
        // GitHub lists statuses newest first: on a tie the earlier entry is the later status.
        if decisive.is_none_or(|(best, _)| at > best) {
            decisive = Some((at, status));
        }
    }
    let Some((finished_at, status)) = decisive else {
        return Ok(Err(format!(
            "deployment {id}: no status that decides it (not started, or only inactive)"
        )));
    };
    let path = format!("statuses[{id}]");
    let status = Node::root(status, &path);
    let state = status.str("state")?;
    let verdict = match state {
        "success" => "success",
        "failure" | "error" => "failure",
        "pending" | "queued" | "in_progress" => {
            return Ok(Err(format!(
                "deployment {id}: not finished (latest status {state})"
            )));
        }
        other => {
            return Ok(Err(format!(
                "deployment {id}: latest status {other:?} is not a state Shiplog knows"
            )));
        }
    };
    let deploy_name = payload_service(item.value());
    let service = match routing.repo_service(repo.as_str(), deploy_name.as_deref()) {
        Ok(service) => service_name(&service, "the service map or deployment.payload.service")?,
        Err(reason) => return Ok(Err(format!("deployment {id}: {reason}"))),
    };
    let environment = match status.opt_str("environment")? {
        Some(environment) => Some(environment),
        None => item.opt_str("environment")?,
    };
    Ok(Ok(vec![Event::Deployment(Deployment {
        // The webhook adapter's id for the same deployment, so the two merge.
        id: event_id(&format!("github:{repo}:{id}"), "deployment.id")?,
        service,
        environment: environment.map(|e| routing.environment(e)),
        repo: Some(repo.clone()),
        sha,
        status: Some(Status::new(verdict)),
        started_at: item.opt_time("created_at")?,
        finished_at,
        team: None,
        commits: None,
    })]))
}

/// A merged pull request: one change per commit of it, with parents and times, and
/// its merge (or squash) commit with `pr`. `first_commit_at` is the earliest author
/// date among its commits, which is what makes the lead time of a squash merge start
/// at the first commit rather than at the squash (SPEC §3.2).
fn pull_request(
    repo: &RepoName,
    item: &Node<'_>,
    details: &BTreeMap<String, Vec<Value>>,
) -> ItemResult {
    let number = item
        .opt_i64("number")?
        .ok_or_else(|| item.error("number", "is missing"))?;
    let Some(merged_at) = item.opt_time("merged_at")? else {
        return Ok(Err(format!(
            "pull request #{number} was closed without merging"
        )));
    };
    let Some(merge_sha) = item.opt_sha("merge_commit_sha")? else {
        return Ok(Err(format!(
            "merged pull request #{number} has no merge_commit_sha"
        )));
    };
    let listed = details
        .get(&number.to_string())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut events = Vec::with_capacity(listed.len() + 1);
    let mut first_commit_at: Option<Timestamp> = None;
    for (i, commit) in listed.iter().enumerate() {
        let path = format!("commits[{number}][{i}]");
        let change = pr_commit(repo, &Node::root(commit, &path))?;
        let started = change.authored_at.unwrap_or(change.committed_at);
        first_commit_at = Some(first_commit_at.map_or(started, |t| t.min(started)));
        events.push(Event::Change(change));
    }
    // Last, so that when the merge commit is also listed (a fast-forward merge) the
    // fold keeps the listed commit's parents and times and adds `pr`.
    let pr = PullRequest {
        number: Some(number),
        first_commit_at,
        opened_at: item.opt_time("created_at")?,
        merged_at: None,
    };
    events.push(Event::Change(merge_commit(
        repo.clone(),
        merge_sha,
        merged_at,
        pr,
    )));
    Ok(Ok(events))
}

/// One entry of `GET /pulls/{n}/commits`. Stored under the base repository even when
/// the pull request came from a fork: that is where its merge brought it.
fn pr_commit(repo: &RepoName, node: &Node<'_>) -> Result<Change, MapError> {
    let commit = node.object("commit")?;
    let author = commit.opt_object("author")?;
    let committer = commit.opt_object("committer")?;
    let authored_at = match &author {
        Some(a) => a.opt_time("date")?,
        None => None,
    };
    let committed_at = match (&committer, authored_at) {
        (Some(c), fallback) => match c.opt_time("date")? {
            Some(t) => t,
            None => fallback.ok_or_else(|| c.error("date", "is missing"))?,
        },
        (None, Some(t)) => t,
        (None, None) => return Err(commit.error("committer", "is missing")),
    };
    let parents = node
        .array("parents")?
        .iter()
        .map(|p| p.sha("sha"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Change {
        repo: repo.clone(),
        sha: node.sha("sha")?,
        parents: Some(parents),
        committed_at,
        authored_at,
        author: match &author {
            Some(a) => a.opt_str("name")?.map(str::to_owned),
            None => None,
        },
        message: commit.opt_str("message")?.map(str::to_owned),
        pr: None,
        // The commit list of a pull request does not say which files each touched.
        paths: None,
    })
}

/// The time an item is ordered by in its list, when it has one.
pub fn order_time(item: &Value, kind: Kind) -> Option<Timestamp> {
    item.get(kind.order_field())?.as_str().and_then(parse_time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::raw_log::RawDelivery;
    use shiplog_model::{ServiceSettings, parse_timestamp};

    /// The hand-recorded API answers (see tests/fixtures-github-api/README.md).
    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures-github-api")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn list(name: &str) -> Vec<Value> {
        fixture(name).as_array().unwrap().clone()
    }

    fn t(raw: &str) -> Timestamp {
        parse_timestamp(raw).unwrap()
    }

    fn bundle(kind: Kind, items: Vec<Value>, details: &[(&str, &str)]) -> Bundle {
        Bundle {
            kind,
            repo: RepoName::parse("acme/shop").unwrap(),
            since: t("2026-03-01T00:00:00Z"),
            page: 1,
            items,
            details: details
                .iter()
                .map(|(key, file)| ((*key).to_owned(), list(file)))
                .collect(),
            ended_at: None,
        }
    }

    fn deployments(mapped: &Mapped) -> Vec<&Deployment> {
        mapped
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Deployment(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    fn first_page_of_deployments() -> Bundle {
        bundle(
            Kind::Deployments,
            list("deployments-page-1.json"),
            &[
                ("106", "deployment-106-statuses.json"),
                ("105", "deployment-105-statuses.json"),
                ("104", "deployment-104-statuses.json"),
                ("103", "deployment-103-statuses.json"),
            ],
        )
    }

    #[test]
    fn finished_deployments_map_with_the_webhook_adapters_ids_and_unfinished_ones_are_skipped() {
        let mapped = map_bundle(&first_page_of_deployments(), &Routing::default());
        let found = deployments(&mapped);
        let ids: Vec<&str> = found.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "github:acme/shop:106",
                "github:acme/shop:105",
                "github:acme/shop:104"
            ]
        );
        let staging = found[0];
        assert_eq!(staging.environment.as_deref(), Some("staging"));
        assert_eq!(staging.status.as_deref(), Some("success"));
        let production = found[1];
        assert_eq!(production.service.as_str(), "shop");
        assert_eq!(production.environment.as_deref(), Some("production"));
        assert_eq!(
            production.repo.as_ref().map(RepoName::as_str),
            Some("acme/shop")
        );
        assert_eq!(
            production.sha.as_str(),
            "d3d5417af24b22e6af1486a4da976b026be9da8c"
        );
        assert_eq!(production.started_at, Some(t("2026-03-10T10:00:00Z")));
        assert_eq!(production.finished_at, t("2026-03-10T10:05:00Z"));
        assert_eq!(found[2].status.as_deref(), Some("failure"));
        assert_eq!(found[2].finished_at, t("2026-03-09T09:07:00Z"));
        assert_eq!(mapped.skipped.len(), 1);
        assert!(
            mapped.skipped[0].contains("deployment 103: not finished (latest status in_progress)"),
            "{:?}",
            mapped.skipped
        );
    }

    #[test]
    fn a_later_inactive_status_leaves_the_success_that_decided_the_deployment() {
        let items = list("deployments-page-2.json")[..1].to_vec();
        let b = bundle(
            Kind::Deployments,
            items,
            &[("102", "deployment-102-statuses.json")],
        );
        let mapped = map_bundle(&b, &Routing::default());
        let d = deployments(&mapped)[0];
        assert_eq!(d.status.as_deref(), Some("success"));
        assert_eq!(d.finished_at, t("2026-03-05T12:10:00Z"));
    }

    #[test]
    fn deployments_are_routed_by_payload_service_and_a_shared_repo_without_one_is_skipped() {
        let mut routing = Routing::default();
        let claim = ServiceSettings {
            repo: Some("acme/shop".into()),
            ..ServiceSettings::default()
        };
        routing.services.insert("checkout".into(), claim.clone());
        routing.services.insert("search".into(), claim);
        routing
            .environment_aliases
            .insert("production".into(), "prod".into());
        let mut b = first_page_of_deployments();
        b.items[1]["payload"] = serde_json::json!({"service": "search"});
        let mapped = map_bundle(&b, &routing);
        let found = deployments(&mapped);
        assert_eq!(found.len(), 1, "{:?}", mapped.skipped);
        assert_eq!(found[0].service.as_str(), "search");
        assert_eq!(found[0].environment.as_deref(), Some("prod"));
        assert!(
            mapped
                .skipped
                .iter()
                .any(|s| s.contains("several services")),
            "{:?}",
            mapped.skipped
        );
    }

    #[test]
    fn merged_pull_requests_map_to_their_commits_and_a_merge_commit_with_first_commit_at() {
        let pulls = list("pulls-page-1.json");
        let b = bundle(
            Kind::Pulls,
            vec![pulls[0].clone(), pulls[2].clone()],
            &[
                ("12", "pull-12-commits.json"),
                ("11", "pull-11-commits.json"),
            ],
        );
        let mapped = map_bundle(&b, &Routing::default());
        assert!(mapped.skipped.is_empty(), "{:?}", mapped.skipped);
        let changes: Vec<&Change> = mapped
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Change(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(changes.len(), 6);
        let (a12, b12, s12) = (changes[0], changes[1], changes[2]);
        assert_eq!(a12.sha.as_str(), "11d2bfc1014008053febd018f2897078c87860e4");
        assert_eq!(
            a12.parents.as_ref().unwrap()[0].as_str(),
            "a2583cf386ef113d138bc18eb132457eb1872ecf",
            "the parent is the commit the branch started from"
        );
        assert_eq!(b12.parents.as_ref().unwrap()[0], a12.sha);
        assert_eq!(b12.authored_at, Some(t("2026-03-08T11:00:00Z")));
        assert_eq!(b12.committed_at, t("2026-03-08T11:30:00Z"));
        assert_eq!(b12.author.as_deref(), Some("ana-dev"));
        assert_eq!(s12.sha.as_str(), "d3d5417af24b22e6af1486a4da976b026be9da8c");
        assert_eq!(s12.committed_at, t("2026-03-09T08:00:00Z"));
        assert_eq!(s12.parents, None);
        let pr = s12.pr.as_ref().unwrap();
        assert_eq!(pr.number, Some(12));
        assert_eq!(pr.first_commit_at, Some(t("2026-03-06T15:00:00Z")));
        assert_eq!(pr.opened_at, Some(t("2026-03-07T10:00:00Z")));
        assert_eq!(pr.merged_at, Some(t("2026-03-09T08:00:00Z")));
        assert_eq!(
            changes[5].pr.as_ref().unwrap().first_commit_at,
            Some(t("2026-03-02T09:00:00Z"))
        );
    }

    #[test]
    fn a_pull_request_closed_without_merging_is_skipped_with_the_reason() {
        let unmerged = list("pulls-page-1.json")[1].clone();
        let mapped = map_bundle(
            &bundle(Kind::Pulls, vec![unmerged], &[]),
            &Routing::default(),
        );
        assert!(mapped.events.is_empty());
        assert_eq!(
            mapped.skipped,
            ["pull request #13 was closed without merging"]
        );
    }

    #[test]
    fn a_malformed_item_is_skipped_naming_its_path_and_the_rest_still_map() {
        let mut b = first_page_of_deployments();
        b.items[0].as_object_mut().unwrap().remove("sha");
        let mapped = map_bundle(&b, &Routing::default());
        assert_eq!(deployments(&mapped).len(), 2);
        assert!(
            mapped
                .skipped
                .iter()
                .any(|s| s == "item 0: deployments page 1: sha is missing"),
            "{:?}",
            mapped.skipped
        );
    }

    #[test]
    fn a_stored_bundle_reads_back_and_replays_to_the_same_events() {
        let b = Bundle {
            ended_at: Some(t("2026-03-12T00:00:00Z")),
            ..first_page_of_deployments()
        };
        let body = b.to_json().to_string();
        assert_eq!(Bundle::parse(&body).unwrap(), b);
        let raw = RawDelivery {
            seq: 1,
            delivery_key: "github-backfill:sha256:x".into(),
            source: SOURCE.into(),
            event_type: "deployments".into(),
            received_at: t("2026-03-12T00:00:00Z"),
            headers: Some("{}".into()),
            body,
        };
        let replayed = crate::remap::remap(&raw, &Routing::default()).unwrap();
        assert!(replayed.replayed);
        assert_eq!(replayed.events, map_bundle(&b, &Routing::default()).events);
    }
}
