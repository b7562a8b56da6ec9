//! Where the simulation's events go: the [`Sink`] trait, and the [`Collector`] that keeps
//! them with their arrival times for the demo's reordering at the end.
//!
//! The simulation posts typed structs, not JSON: the demo builds `serde_json` values it
//! can sort and filter later, while the scale generator (`scale::stream`) writes each
//! one straight out as text. One trait lets both run the same simulation.

use crate::events::{self, Build, Commit, Deployment, Event, Incident, PullRequest};

/// Receives each event as it happens, with the instant the product would receive it.
pub(crate) trait Sink {
    /// A change; returns a handle that [`Sink::delay`] accepts.
    fn change(&mut self, arrival: i64, commit: &Commit<'_>) -> usize;
    /// The `pr` of a change already posted, as a separate update (see `events::pr_update`).
    fn pr_update(
        &mut self,
        arrival: i64,
        repo: &str,
        sha: &str,
        committed_at: i64,
        pr: &PullRequest,
    );
    fn deployment(&mut self, arrival: i64, deployment: &Deployment<'_>);
    fn build(&mut self, arrival: i64, build: &Build<'_>);
    /// An incident's opening event and the later update that resolves it.
    fn incident(
        &mut self,
        incident: &Incident<'_>,
        open_arrival: i64,
        resolved_at: i64,
        resolve_arrival: i64,
    );
    /// Makes the change behind `handle` arrive no earlier than `arrival` (a retried
    /// webhook). A sink that has already written it out may ignore this.
    fn delay(&mut self, handle: usize, arrival: i64);
}

/// An event and when the product receives it; `seq` keeps the sort stable.
#[derive(Debug, Clone)]
pub(crate) struct Emitted {
    pub(crate) arrival: i64,
    pub(crate) seq: usize,
    pub(crate) event: Event,
}

/// Where an incident's two events sit in the collector.
#[derive(Debug)]
pub(crate) struct IncidentLog {
    pub(crate) opened: i64,
    pub(crate) open_event: usize,
    pub(crate) resolve_event: usize,
}

/// Everything emitted so far, in emission order; indices stay valid to the end, so a
/// change's arrival can be delayed after the deployment that ships it.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub(crate) items: Vec<Emitted>,
    pub(crate) incidents: Vec<IncidentLog>,
}

impl Collector {
    /// Adds an event arriving at `arrival` and returns its index.
    fn push(&mut self, arrival: i64, event: Event) -> usize {
        let seq = self.items.len();
        self.items.push(Emitted {
            arrival,
            seq,
            event,
        });
        seq
    }
}

impl Sink for Collector {
    fn change(&mut self, arrival: i64, commit: &Commit<'_>) -> usize {
        self.push(arrival, events::change(commit))
    }

    fn pr_update(
        &mut self,
        arrival: i64,
        repo: &str,
        sha: &str,
        committed_at: i64,
        pr: &PullRequest,
    ) {
        self.push(arrival, events::pr_update(repo, sha, committed_at, pr));
    }

    fn deployment(&mut self, arrival: i64, deployment: &Deployment<'_>) {
        self.push(arrival, events::deployment(deployment));
    }

    fn build(&mut self, arrival: i64, build: &Build<'_>) {
        self.push(arrival, events::build(build));
    }

    fn incident(
        &mut self,
        incident: &Incident<'_>,
        open_arrival: i64,
        resolved_at: i64,
        resolve_arrival: i64,
    ) {
        let open_event = self.push(open_arrival, events::incident_opened(incident));
        let resolve_event = self.push(
            resolve_arrival,
            events::incident_resolved(incident, resolved_at),
        );
        self.incidents.push(IncidentLog {
            opened: incident.opened_at,
            open_event,
            resolve_event,
        });
    }

    fn delay(&mut self, handle: usize, arrival: i64) {
        if let Some(item) = self.items.get_mut(handle) {
            item.arrival = item.arrival.max(arrival);
        }
    }
}
