//! Incidents: pages after some production releases (naming the deployment, a commit or
//! nothing), pages of the never-deployed legacy service, and for each a second event
//! with the same id that resolves it.

use crate::calendar::{DAY, HOUR, MINUTE};
use crate::catalog;
use crate::events::{Blame, Incident};
use crate::history::{Action, World};
use crate::sink::Sink;

/// Chance that a sev1 or sev2 page makes the team roll the release back.
const ROLLBACK_AFTER_PAGE: f64 = 0.4;
/// Chance that the "triggered" webhook is retried until after the "resolved" one, so
/// the open event (with `resolved_at: null`) arrives last.
const LATE_TRIGGER_SHARE: f64 = 0.04;

impl<S: Sink> World<'_, S> {
    /// A page caused by production deployment `deployment` of `service`.
    pub(crate) fn deployment_incident(
        &mut self,
        service: usize,
        deployment: &str,
        blame: Blame,
        now: i64,
    ) {
        let spec = self.services[service].spec;
        let incident = Incident {
            id: self.ids.next_incident(),
            service: spec.name,
            opened_at: now,
            severity: catalog::severity(&mut self.rng),
            title: self.rng.pick(spec.incident_titles),
            blame,
        };
        let serious = matches!(incident.severity, "sev1" | "sev2");
        self.page(&incident);
        if serious && self.rng.chance(ROLLBACK_AFTER_PAGE) {
            let at = now + self.rng.range(5 * MINUTE, 45 * MINUTE);
            self.schedule(
                at,
                Action::Rollback {
                    service,
                    bad: deployment.to_owned(),
                },
            );
        }
    }

    /// A page of an incident-only service: names nothing, since nothing was deployed.
    pub(crate) fn stray_incident(&mut self, which: usize, now: i64) {
        let spec = &self.strays[which];
        let incident = Incident {
            id: self.ids.next_incident(),
            service: spec.name,
            opened_at: now,
            severity: catalog::severity(&mut self.rng),
            title: self.rng.pick(spec.incident_titles),
            blame: Blame::Unknown,
        };
        self.page(&incident);
    }

    /// Posts the open event and the resolving update. A resolution after the window's
    /// end is dropped with everything else past it, which leaves that incident open.
    fn page(&mut self, incident: &Incident<'_>) {
        let restore = self
            .rng
            .duration(2.5 * HOUR as f64, 1.1, 8 * MINUTE, 4 * DAY);
        let resolved_at = incident.opened_at + restore;
        let resolve_arrival = resolved_at + self.rng.range(5, 2 * MINUTE);
        let open_arrival = if self.rng.chance(LATE_TRIGGER_SHARE) {
            resolve_arrival + self.rng.range(MINUTE, 30 * MINUTE)
        } else {
            incident.opened_at + self.rng.range(5, 2 * MINUTE)
        };
        self.sink
            .incident(incident, open_arrival, resolved_at, resolve_arrival);
    }
}
