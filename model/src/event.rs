//! The typed events of SPEC §2 (and annotations, the note a team leaves on its own
//! timeline), and how a later version of one merges into the stored one (SPEC §8: field by field, a missing or null field keeps the stored
//! value, a carried list replaces the stored list whole).

use crate::names::{CommitSha, EventId, NAME_MAX_BYTES, RepoName, ServiceName};
use crate::time::Timestamp;

/// A commit, keyed by `(repo, sha)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub repo: RepoName,
    pub sha: CommitSha,
    pub parents: Option<Vec<CommitSha>>,
    pub committed_at: Timestamp,
    pub authored_at: Option<Timestamp>,
    pub author: Option<String>,
    pub message: Option<String>,
    /// Present when this commit is the merge (or squash) commit of a pull request.
    pub pr: Option<PullRequest>,
    /// The files the commit added, modified or removed, when the source lists them
    /// (a push does): a monorepo service with `paths` counts only the commits that
    /// touch them.
    pub paths: Option<Vec<String>>,
}

/// Joins a commit's parent shas where a list travels as text (a [`CommitSha`] holds
/// no comma).
pub const PARENT_SEPARATOR: char = ',';

/// Joins a commit's file paths where a list travels as text: the unit separator,
/// `chr(31)` in SQL (a path the push mapping keeps holds no control character).
pub const PATH_SEPARATOR: char = '\u{1f}';

/// The pull request whose merge (or squash) commit a change is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequest {
    pub number: Option<i64>,
    pub first_commit_at: Option<Timestamp>,
    pub opened_at: Option<Timestamp>,
    pub merged_at: Option<Timestamp>,
}

/// One attempt to put a revision of a service into an environment, keyed by `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub id: EventId,
    pub service: ServiceName,
    /// Absent means `production` (SPEC §2); kept absent so that a later event that
    /// does name the environment is not overruled by a default.
    pub environment: Option<String>,
    pub repo: Option<RepoName>,
    pub sha: CommitSha,
    /// Absent means `success`.
    pub status: Option<Status>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Timestamp,
    pub team: Option<String>,
    /// An explicit change set, replacing the graph walk (SPEC §3.1).
    pub commits: Option<Vec<ListedCommit>>,
}

/// One entry of a deployment's explicit `commits` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCommit {
    pub sha: CommitSha,
    pub committed_at: Option<Timestamp>,
}

/// A production problem of a service, keyed by `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: EventId,
    pub service: ServiceName,
    pub opened_at: Timestamp,
    /// The source did not say when the incident opened (a resolution that knows only
    /// its own time, SPEC §6): `opened_at` is this report's time, a stand-in kept only
    /// while no opening time is stored, and an update never moves a stored one with
    /// it. The typed API always says (`opened_at` is required there).
    pub opened_at_estimated: bool,
    pub resolved_at: Option<Timestamp>,
    pub severity: Option<String>,
    pub deployment_id: Option<EventId>,
    pub sha: Option<CommitSha>,
    pub title: Option<String>,
}

/// A CI run, keyed by `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub id: EventId,
    pub repo: RepoName,
    pub sha: CommitSha,
    pub status: Status,
    pub branch: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Timestamp,
    pub provider: Option<String>,
}

/// A note a team leaves on its timeline ("moved to trunk-based development"), keyed
/// by `id`: drawn on the dashboard's charts and listed in the digest, so a change in
/// a trend can be read against what the team changed. Neither `service` nor `team`:
/// the whole organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub id: EventId,
    pub at: Timestamp,
    pub text: String,
    pub service: Option<ServiceName>,
    pub team: Option<String>,
}

/// The one status a deployment or build succeeds with (SPEC §2: `status` may be any
/// string; only `success`, or no status, is successful).
pub const SUCCESS: &str = "success";
/// The status of a progressive rollout (a canary, a blue-green switch) stopped before
/// it fully reached its environment: a failed attempt like any other non-success, and
/// what the aborted-rollouts figure counts.
pub const ABORTED: &str = "aborted";

/// How a deployment or build ended, as its source said: any string (SPEC §2), kept as
/// sent; only [`SUCCESS`] is a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status(String);

impl Status {
    pub fn new(raw: impl Into<String>) -> Status {
        Status(raw.into())
    }

    pub fn success() -> Status {
        Status(SUCCESS.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Status {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for Status {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Whether a deployment with this status succeeded: `success`, or no status at all.
/// The one rule, for a typed event and for a status read back from the store alike.
/// (A build always has a status; build health's SQL tests it for `success`.)
pub fn succeeded(status: Option<&str>) -> bool {
    status.is_none_or(|s| s == SUCCESS)
}

/// Any typed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Change(Change),
    Deployment(Deployment),
    Incident(Incident),
    Build(Build),
    Annotation(Annotation),
}

/// The kind of a typed event: its `type` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Change,
    Deployment,
    Incident,
    Build,
    Annotation,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        Self::Change,
        Self::Deployment,
        Self::Incident,
        Self::Build,
        Self::Annotation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Change => "change",
            Self::Deployment => "deployment",
            Self::Incident => "incident",
            Self::Build => "build",
            Self::Annotation => "annotation",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// The identity of an event: two events with one key are versions of one thing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKey {
    Change(RepoName, CommitSha),
    Deployment(EventId),
    Incident(EventId),
    Build(EventId),
    Annotation(EventId),
}

/// The most bytes of free text (a commit message, an incident title, a changed path)
/// one field of an event carries.
pub const TEXT_MAX_BYTES: usize = 65_536;

impl Event {
    /// The first of the event's plain text fields over its limit, as a refusal naming
    /// it: names (team, environment, author, severity, status, branch, provider) take
    /// [`NAME_MAX_BYTES`], free text (message, title, each path) [`TEXT_MAX_BYTES`].
    /// Ids and the typed names are bounded when they are parsed.
    pub fn oversized(&self) -> Option<String> {
        let name = NAME_MAX_BYTES;
        let text = TEXT_MAX_BYTES;
        let fields: Vec<(&str, Option<&str>, usize)> = match self {
            Self::Change(c) => {
                let mut fields = vec![
                    ("author", c.author.as_deref(), name),
                    ("message", c.message.as_deref(), text),
                ];
                fields.extend(
                    c.paths
                        .iter()
                        .flatten()
                        .map(|p| ("paths", Some(p.as_str()), text)),
                );
                fields
            }
            Self::Deployment(d) => vec![
                ("environment", d.environment.as_deref(), name),
                ("team", d.team.as_deref(), name),
                ("status", d.status.as_ref().map(Status::as_str), name),
            ],
            Self::Incident(i) => vec![
                ("severity", i.severity.as_deref(), name),
                ("title", i.title.as_deref(), text),
            ],
            Self::Build(b) => vec![
                ("status", Some(b.status.as_str()), name),
                ("branch", b.branch.as_deref(), name),
                ("provider", b.provider.as_deref(), name),
            ],
            Self::Annotation(a) => vec![
                ("text", Some(a.text.as_str()), text),
                ("team", a.team.as_deref(), name),
            ],
        };
        fields.into_iter().find_map(|(field, value, limit)| {
            let len = value?.len();
            (len > limit)
                .then(|| format!("`{field}` is {len} bytes long, over the limit of {limit} bytes"))
        })
    }

    pub fn kind(&self) -> EventKind {
        match self {
            Self::Change(_) => EventKind::Change,
            Self::Deployment(_) => EventKind::Deployment,
            Self::Incident(_) => EventKind::Incident,
            Self::Build(_) => EventKind::Build,
            Self::Annotation(_) => EventKind::Annotation,
        }
    }

    pub fn key(&self) -> EventKey {
        match self {
            Self::Change(c) => EventKey::Change(c.repo.clone(), c.sha.clone()),
            Self::Deployment(d) => EventKey::Deployment(d.id.clone()),
            Self::Incident(i) => EventKey::Incident(i.id.clone()),
            Self::Build(b) => EventKey::Build(b.id.clone()),
            Self::Annotation(a) => EventKey::Annotation(a.id.clone()),
        }
    }
}

/// Keeps `stored` unless `later` carries a value (SPEC §8: null never overwrites).
fn keep<T>(stored: Option<T>, later: Option<T>) -> Option<T> {
    later.or(stored)
}

impl Change {
    /// The version that results from storing `later` after `self`.
    pub fn merge(self, later: Change) -> Change {
        Change {
            repo: later.repo,
            sha: later.sha,
            parents: keep(self.parents, later.parents),
            committed_at: later.committed_at,
            authored_at: keep(self.authored_at, later.authored_at),
            author: keep(self.author, later.author),
            message: keep(self.message, later.message),
            pr: match (self.pr, later.pr) {
                (Some(stored), Some(later)) => Some(stored.merge(later)),
                (stored, later) => keep(stored, later),
            },
            paths: keep(self.paths, later.paths),
        }
    }
}

impl PullRequest {
    pub fn merge(self, later: PullRequest) -> PullRequest {
        PullRequest {
            number: keep(self.number, later.number),
            first_commit_at: keep(self.first_commit_at, later.first_commit_at),
            opened_at: keep(self.opened_at, later.opened_at),
            merged_at: keep(self.merged_at, later.merged_at),
        }
    }
}

impl Deployment {
    pub fn merge(self, later: Deployment) -> Deployment {
        Deployment {
            id: later.id,
            service: later.service,
            environment: keep(self.environment, later.environment),
            repo: keep(self.repo, later.repo),
            sha: later.sha,
            status: keep(self.status, later.status),
            started_at: keep(self.started_at, later.started_at),
            finished_at: later.finished_at,
            team: keep(self.team, later.team),
            commits: keep(self.commits, later.commits),
        }
    }

    /// Whether this attempt succeeded (see [`succeeded`]).
    pub fn succeeded(&self) -> bool {
        succeeded(self.status.as_deref())
    }
}

impl Incident {
    pub fn merge(self, later: Incident) -> Incident {
        // An estimate is a field the update does not really carry: the stored time stays.
        let (opened_at, opened_at_estimated) = if later.opened_at_estimated {
            (self.opened_at, self.opened_at_estimated)
        } else {
            (later.opened_at, false)
        };
        Incident {
            id: later.id,
            service: later.service,
            opened_at,
            opened_at_estimated,
            resolved_at: keep(self.resolved_at, later.resolved_at),
            severity: keep(self.severity, later.severity),
            deployment_id: keep(self.deployment_id, later.deployment_id),
            sha: keep(self.sha, later.sha),
            title: keep(self.title, later.title),
        }
    }
}

impl Build {
    pub fn merge(self, later: Build) -> Build {
        Build {
            id: later.id,
            repo: later.repo,
            sha: later.sha,
            status: later.status,
            branch: keep(self.branch, later.branch),
            started_at: keep(self.started_at, later.started_at),
            finished_at: later.finished_at,
            provider: keep(self.provider, later.provider),
        }
    }
}

impl Annotation {
    pub fn merge(self, later: Annotation) -> Annotation {
        Annotation {
            id: later.id,
            at: later.at,
            text: later.text,
            service: keep(self.service, later.service),
            team: keep(self.team, later.team),
        }
    }
}

impl Event {
    /// Merges a later version of the same key; `None` when the keys differ.
    pub fn merge(self, later: Event) -> Option<Event> {
        Some(match (self, later) {
            (Self::Change(a), Self::Change(b)) => Self::Change(a.merge(b)),
            (Self::Deployment(a), Self::Deployment(b)) => Self::Deployment(a.merge(b)),
            (Self::Incident(a), Self::Incident(b)) => Self::Incident(a.merge(b)),
            (Self::Build(a), Self::Build(b)) => Self::Build(a.merge(b)),
            (Self::Annotation(a), Self::Annotation(b)) => Self::Annotation(a.merge(b)),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;

    fn incident(resolved_at: Option<&str>, title: Option<&str>) -> Incident {
        Incident {
            id: EventId::parse("PD-1").unwrap(),
            service: ServiceName::parse("shop").unwrap(),
            opened_at: parse_timestamp("2026-03-02T10:00:00Z").unwrap(),
            opened_at_estimated: false,
            resolved_at: resolved_at.map(|t| parse_timestamp(t).unwrap()),
            severity: None,
            deployment_id: None,
            sha: None,
            title: title.map(str::to_owned),
        }
    }

    #[test]
    fn late_open_event_leaves_a_resolved_incident_resolved() {
        let resolved = incident(Some("2026-03-02T12:00:00Z"), None);
        let merged = resolved
            .clone()
            .merge(incident(None, Some("checkout down")));
        assert_eq!(merged.resolved_at, resolved.resolved_at);
        assert_eq!(merged.title.as_deref(), Some("checkout down"));
    }

    #[test]
    fn an_estimated_open_time_never_moves_a_known_one() {
        let t = |s| parse_timestamp(s).unwrap();
        let opened = incident(None, None);
        let resolution = Incident {
            opened_at: t("2026-03-02T12:00:00Z"),
            opened_at_estimated: true,
            ..incident(Some("2026-03-02T12:00:00Z"), None)
        };
        let merged = opened.clone().merge(resolution.clone());
        assert_eq!(merged.opened_at, opened.opened_at);
        assert!(!merged.opened_at_estimated);
        assert_eq!(merged.resolved_at, resolution.resolved_at);
        // The other way round, the known time replaces the stand-in.
        let merged = resolution.merge(opened.clone());
        assert_eq!(merged.opened_at, opened.opened_at);
        assert!(!merged.opened_at_estimated);
        assert_eq!(merged.resolved_at, Some(t("2026-03-02T12:00:00Z")));
    }

    #[test]
    fn pull_request_merges_sub_field_by_sub_field() {
        let t = |s| parse_timestamp(s).unwrap();
        let a = PullRequest {
            number: Some(4),
            first_commit_at: Some(t("2026-01-01T00:00:00Z")),
            ..Default::default()
        };
        let b = PullRequest {
            merged_at: Some(t("2026-01-02T00:00:00Z")),
            ..Default::default()
        };
        let m = a.merge(b);
        assert_eq!(m.number, Some(4));
        assert!(m.first_commit_at.is_some() && m.merged_at.is_some());
    }

    #[test]
    fn carried_empty_list_replaces_stored_list() {
        let sha = |s| CommitSha::parse(s).unwrap();
        let c = Change {
            repo: RepoName::parse("acme/shop").unwrap(),
            sha: sha("b"),
            parents: Some(vec![sha("a")]),
            committed_at: parse_timestamp("2026-01-01T00:00:00Z").unwrap(),
            authored_at: None,
            author: None,
            message: None,
            pr: None,
            paths: c_paths(),
        };
        let kept = c.clone().merge(Change {
            parents: None,
            paths: None,
            ..c.clone()
        });
        assert_eq!(kept.parents, Some(vec![sha("a")]));
        assert_eq!(kept.paths, c_paths(), "a missing list keeps the stored one");
        let emptied = c.clone().merge(Change {
            parents: Some(vec![]),
            ..c
        });
        assert_eq!(emptied.parents, Some(vec![]));
    }

    fn c_paths() -> Option<Vec<String>> {
        Some(vec!["services/checkout/main.go".into()])
    }
}
