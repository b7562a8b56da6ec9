//! One webhook delivery: which sender, what arrived, what it maps to, and the
//! dispatch to the sender's adapter.

use std::collections::BTreeMap;
use std::fmt;

use shiplog_model::Event;

use super::{
    Routing, argo_rollouts, argocd, buildkite, cdevents, circleci, github, gitlab, jira, opsgenie,
    pagerduty,
};

/// A webhook sender Shiplog has an adapter for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Github,
    Gitlab,
    Argocd,
    Pagerduty,
    Cdevents,
    Opsgenie,
    Jira,
    Circleci,
    ArgoRollouts,
    Buildkite,
}

impl Source {
    pub const ALL: [Source; 10] = [
        Self::Github,
        Self::Gitlab,
        Self::Argocd,
        Self::Pagerduty,
        Self::Cdevents,
        Self::Opsgenie,
        Self::Jira,
        Self::Circleci,
        Self::ArgoRollouts,
        Self::Buildkite,
    ];

    /// The name in URLs (`/webhooks/{name}`), the raw log and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Argocd => "argocd",
            Self::Pagerduty => "pagerduty",
            Self::Cdevents => "cdevents",
            Self::Opsgenie => "opsgenie",
            Self::Jira => "jira",
            Self::Circleci => "circleci",
            Self::ArgoRollouts => "argo-rollouts",
            Self::Buildkite => "buildkite",
        }
    }

    pub fn parse(raw: &str) -> Option<Source> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The request headers this source's adapter reads, lower-case. Only these are
    /// kept in the raw log (never a signature or a token).
    pub fn kept_headers(self) -> &'static [&'static str] {
        match self {
            Self::Github => &["x-github-event", "x-github-delivery", "x-github-hook-id"],
            Self::Gitlab => &["x-gitlab-event", "x-gitlab-event-uuid", "x-gitlab-instance"],
            Self::Argocd => &[],
            Self::Pagerduty => &["x-webhook-id", "x-webhook-subscription"],
            Self::Cdevents => cdevents::KEPT_HEADERS,
            Self::Opsgenie => &[],
            Self::Jira => &[jira::DELIVERY_HEADER],
            // CircleCI sends no delivery id header: the body's `id` is the delivery id.
            Self::Circleci => &[circleci::EVENT_HEADER],
            Self::ArgoRollouts => &[],
            Self::Buildkite => buildkite::KEPT_HEADERS,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One delivery as received: what an adapter reads and the raw log keeps.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The headers of [`Source::kept_headers`] that were present, names lower-case.
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
}

impl<'a> Incoming<'a> {
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// What one delivery maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The sender's event name (`push`, `Merge Request Hook`, `incident.resolved`, …),
    /// kept in the raw log's `event_type`.
    pub event_type: String,
    /// The sender's id of this delivery, the raw log's dedupe key (prefixed with the
    /// source); `None` when the sender gave none, and the body's hash is used.
    pub delivery_id: Option<String>,
    pub events: Vec<Event>,
    /// Why nothing (or less than the body suggests) was mapped: an event type
    /// Shiplog does not use, an action it skips, a repository no service claims.
    /// Shown to the sender in the response, so a misrouted delivery is visible.
    pub skipped: Option<String>,
}

impl Mapping {
    /// A delivery that maps to one event.
    pub fn one(
        event_type: impl Into<String>,
        delivery_id: Option<String>,
        event: Event,
    ) -> Mapping {
        Mapping {
            event_type: event_type.into(),
            delivery_id,
            events: vec![event],
            skipped: None,
        }
    }

    /// A delivery of a kind Shiplog stores but takes nothing from.
    pub fn skipped(
        event_type: impl Into<String>,
        delivery_id: Option<String>,
        why: impl Into<String>,
    ) -> Mapping {
        Mapping {
            event_type: event_type.into(),
            delivery_id,
            events: Vec::new(),
            skipped: Some(why.into()),
        }
    }
}

/// Why a delivery cannot be read: the body is not what its event type says. The
/// message names the event and the JSON path (`push: commits[2].timestamp: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MapError(pub String);

impl MapError {
    pub fn new(message: impl Into<String>) -> MapError {
        MapError(message.into())
    }
}

/// Maps one delivery of `source` as SPEC §6 says to keep it: a body that is JSON but
/// that the adapter cannot map (a field missing, a shape other than its event header
/// says) maps to nothing, with the adapter's reason, so that it is stored unmapped and
/// a replay can map it once the mapping or the config is fixed. Only a body that is
/// not JSON at all is refused.
pub fn map_or_keep(
    source: Source,
    incoming: &Incoming<'_>,
    routing: &Routing,
) -> Result<Mapping, MapError> {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(incoming.body) {
        return Err(MapError::new(format!("the body is not JSON: {e}")));
    }
    Ok(map(source, incoming, routing).unwrap_or_else(|error| {
        let (event_header, id_header) = match source {
            Source::Github => ("x-github-event", "x-github-delivery"),
            Source::Gitlab => ("x-gitlab-event", "x-gitlab-event-uuid"),
            Source::Cdevents => ("ce-type", "ce-id"),
            Source::Jira => ("", jira::DELIVERY_HEADER),
            Source::Circleci => (circleci::EVENT_HEADER, ""),
            Source::Buildkite => (buildkite::EVENT_HEADER, buildkite::DELIVERY_HEADER),
            Source::Argocd | Source::Pagerduty | Source::Opsgenie | Source::ArgoRollouts => {
                ("", "")
            }
        };
        Mapping::skipped(
            incoming.header(event_header).unwrap_or("unknown"),
            incoming.header(id_header).map(str::to_owned),
            format!("cannot be mapped: {error}"),
        )
    }))
}

/// Maps one delivery of `source` with the adapter for it. A mapping whose event has a
/// field over its bound (`Event::oversized`) is an error like any other field the
/// adapter cannot read.
pub fn map(
    source: Source,
    incoming: &Incoming<'_>,
    routing: &Routing,
) -> Result<Mapping, MapError> {
    let mapping = match source {
        Source::Github => github::map(incoming, routing),
        Source::Gitlab => gitlab::map(incoming, routing),
        Source::Argocd => argocd::map(incoming, routing),
        Source::Pagerduty => pagerduty::map(incoming, routing),
        Source::Cdevents => cdevents::map(incoming, routing),
        Source::Opsgenie => opsgenie::map(incoming, routing),
        Source::Jira => jira::map(incoming, routing),
        Source::Circleci => circleci::map(incoming, routing),
        Source::ArgoRollouts => argo_rollouts::map(incoming, routing),
        Source::Buildkite => buildkite::map(incoming, routing),
    }?;
    match mapping.events.iter().find_map(Event::oversized) {
        None => Ok(mapping),
        Some(problem) => Err(MapError::new(problem)),
    }
}
