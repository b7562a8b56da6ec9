//! Each service's deployments: release slots that ship the `main` head through staging
//! to production, failed attempts and their retries, redeploys, and the rollback →
//! hotfix → fix-deployment sequence.

use crate::calendar::{self, HOUR, MINUTE};
use crate::catalog::{Deployer, ServiceSpec};
use crate::events::{Blame, Deployment};
use crate::history::{Action, World};
use crate::rng::Rng;
use crate::sink::Sink;

/// Chance that a staging attempt fails (and is retried).
const STAGING_RED: f64 = 0.03;
/// Chance that a slot with nothing new redeploys the running revision (a config
/// refresh, a node rotation): SPEC §3 rule 3's redeploy.
const REDEPLOY_SHARE: f64 = 0.04;
/// Chance that a release nobody was paged for is rolled back anyway (a bad dashboard).
const QUIET_ROLLBACK_SHARE: f64 = 0.012;
/// Chance that the `main` commit a release ships is posted only after the release, as
/// when a push webhook is retried late.
const LATE_CHANGE_SHARE: f64 = 0.03;
/// A failed attempt is retried at most this often before one succeeds.
const MAX_FAILED_ATTEMPTS: u32 = 2;
/// Successful production deployments a service remembers: a rollback needs the running
/// one and the one before it, nothing older.
const REMEMBERED_DEPLOYMENTS: usize = 2;

#[derive(Debug)]
pub(crate) struct Service<'c> {
    pub(crate) spec: &'c ServiceSpec<'c>,
    /// The newest successful production deployments, in order of `finished_at`.
    pub(crate) deployments: Vec<Deployed>,
    /// The `main` index of the newest revision shipped going forward (not by rollback).
    forward: Option<usize>,
    /// Rolled back and waiting for the fix: regular slots must not ship the bad head
    /// again, which would read as a second rollback.
    frozen: bool,
    /// A release is under way until then; slots before it pass.
    busy_until: i64,
    argo_next: u64,
}

#[derive(Debug)]
pub(crate) struct Deployed {
    pub(crate) id: String,
    pub(crate) sha: String,
    pub(crate) finished: i64,
    pub(crate) main_index: usize,
}

impl<'c> Service<'c> {
    pub(crate) fn new(spec: &'c ServiceSpec<'c>, rng: &mut Rng) -> Self {
        Self {
            spec,
            deployments: Vec::new(),
            forward: None,
            frozen: false,
            busy_until: i64::MIN,
            argo_next: 100_000 + rng.below(900_000),
        }
    }

    /// The `main` positions the service may still deploy or pick a commit from.
    pub(crate) fn main_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.forward
            .into_iter()
            .chain(self.deployments.iter().map(|d| d.main_index))
    }
}

impl<S: Sink> World<'_, S> {
    /// A release slot: ship the `main` head if it is new, else now and then redeploy.
    pub(crate) fn deploy_slot(&mut self, service: usize, now: i64) {
        let st = &self.services[service];
        if st.frozen || now < st.busy_until {
            return;
        }
        let Some(head) = self.repos[st.spec.repo].main.len().checked_sub(1) else {
            return;
        };
        if st.forward != Some(head) {
            let staging = st.spec.staging_share;
            self.roll_out(service, now, head, staging);
            return;
        }
        let running_head = st.deployments.last().is_some_and(|d| d.main_index == head);
        if running_head && self.rng.chance(REDEPLOY_SHARE) {
            let (id, finished) = self.attempts(service, "production", head, now, 0.0);
            self.record(service, id, head, finished);
        }
    }

    /// A release of `main[head]`: staging (maybe), a soak, then production.
    fn roll_out(&mut self, service: usize, now: i64, head: usize, staging_share: f64) {
        let spec = self.services[service].spec;
        let mut start = now;
        if self.rng.chance(staging_share) {
            let (_, finished) = self.attempts(service, "staging", head, start, STAGING_RED);
            let soak =
                self.rng
                    .duration(spec.soak_minutes * MINUTE as f64, 0.5, 5 * MINUTE, 6 * HOUR);
            start = finished + soak;
        }
        let (id, finished) = self.attempts(
            service,
            "production",
            head,
            start,
            spec.failed_attempt_share,
        );
        let previous = self.services[service].forward;
        self.services[service].forward = Some(head);
        self.record(service, id.clone(), head, finished);

        if self.rng.chance(LATE_CHANGE_SHARE) {
            let event = self.repos[spec.repo].main.at(head).event;
            let late = finished + self.rng.range(MINUTE, 90 * MINUTE);
            self.sink.delay(event, late);
        }
        self.consequences(service, id, previous, head, finished);
    }

    /// Maybe a page some minutes to hours later, naming the deployment, one of the
    /// commits it shipped, or nothing; rarely a rollback without a page.
    fn consequences(
        &mut self,
        service: usize,
        id: String,
        previous: Option<usize>,
        head: usize,
        finished: i64,
    ) {
        let spec = self.services[service].spec;
        if self.rng.chance(spec.incident_share) {
            let opened = finished
                + self
                    .rng
                    .duration(50.0 * MINUTE as f64, 1.0, 5 * MINUTE, 12 * HOUR);
            // The new `main` commits are exactly this release's share of the graph, so a
            // sha picked among them is in its change set (rule b finds this release).
            let low = previous.map_or(head, |p| (p + 1).min(head));
            let picked = low + self.rng.below((head - low + 1) as u64) as usize;
            let blame = match self.rng.below(100) {
                0..45 => Blame::Deployment(id.clone()),
                45..75 => Blame::Sha(self.repos[spec.repo].main.at(picked).sha.clone()),
                _ => Blame::Unknown,
            };
            self.schedule(
                opened,
                Action::Incident {
                    service,
                    deployment: id,
                    blame,
                },
            );
        } else if self.rng.chance(QUIET_ROLLBACK_SHARE) {
            let at = finished + self.rng.range(15 * MINUTE, 2 * HOUR);
            self.schedule(at, Action::Rollback { service, bad: id });
        }
    }

    /// Production back to the revision before the bad one, if the bad one is still
    /// the running release; then a hotfix is written.
    pub(crate) fn roll_back(&mut self, service: usize, bad: &str, now: i64) {
        let st = &self.services[service];
        let [.., before, last] = st.deployments.as_slice() else {
            return;
        };
        // Rolling back to the same revision would be a redeploy (rule 3), not a rollback.
        if st.frozen || last.id != bad || last.finished >= now || last.sha == before.sha {
            return;
        }
        let target = before.main_index;
        // Straight to production: no staging, no soak, and no second failure.
        let (id, finished) = self.attempts(service, "production", target, now, 0.0);
        self.record(service, id, target, finished);
        self.services[service].frozen = true;
        let work = self
            .rng
            .duration(2.0 * HOUR as f64, 0.6, 30 * MINUTE, 8 * HOUR);
        self.schedule(
            calendar::add_working(finished, work),
            Action::Hotfix { service },
        );
    }

    /// The fix for a rolled-back release: a commit on `main`, shipped once it is built.
    pub(crate) fn hotfix(&mut self, service: usize, now: i64) {
        let spec = self.services[service].spec;
        let area = self.rng.pick(self.repos[spec.repo].spec.areas);
        self.direct_commit(spec.repo, now, format!("hotfix: {area} regression"));
        let built = now + self.rng.range(15 * MINUTE, 45 * MINUTE);
        self.schedule(built, Action::FixDeploy { service });
    }

    pub(crate) fn fix_deploy(&mut self, service: usize, now: i64) {
        let spec = self.services[service].spec;
        self.services[service].frozen = false;
        let Some(head) = self.repos[spec.repo].main.len().checked_sub(1) else {
            return;
        };
        if self.services[service].forward != Some(head) {
            // A fix skips staging more often than a routine release.
            self.roll_out(service, now, head, spec.staging_share / 2.0);
        }
    }

    /// Deployment attempts of `main[main_index]` to `environment` from `start` until one
    /// succeeds; returns its id and `finished_at`.
    fn attempts(
        &mut self,
        service: usize,
        environment: &'static str,
        main_index: usize,
        start: i64,
        red_share: f64,
    ) -> (String, i64) {
        let spec = self.services[service].spec;
        let repo = self.repos[spec.repo].spec.name;
        let sha = self.repos[spec.repo].main.at(main_index).sha.clone();
        let mut started = start;
        let mut failures = 0;
        loop {
            let id = self.next_deployment_id(service);
            let took = self.rng.duration(
                spec.deploy_minutes * MINUTE as f64,
                0.4,
                MINUTE,
                45 * MINUTE,
            );
            let finished = started + took;
            let succeeded = failures >= MAX_FAILED_ATTEMPTS || !self.rng.chance(red_share);
            let deployment = Deployment {
                id: &id,
                service: spec.name,
                environment,
                repo,
                sha: &sha,
                succeeded,
                started_at: started,
                finished_at: finished,
                team: spec.team,
            };
            let arrival = finished + self.rng.range(1, 20);
            self.sink.deployment(arrival, &deployment);
            if succeeded {
                return (id, finished);
            }
            failures += 1;
            started = finished + self.rng.range(5 * MINUTE, 40 * MINUTE);
        }
    }

    /// Notes a successful production deployment.
    fn record(&mut self, service: usize, id: String, main_index: usize, finished: i64) {
        let repo = self.services[service].spec.repo;
        let sha = self.repos[repo].main.at(main_index).sha.clone();
        let st = &mut self.services[service];
        st.deployments.push(Deployed {
            id,
            sha,
            finished,
            main_index,
        });
        if st.deployments.len() > REMEMBERED_DEPLOYMENTS {
            st.deployments.remove(0);
        }
        st.busy_until = finished + 20 * MINUTE;
    }

    fn next_deployment_id(&mut self, service: usize) -> String {
        let st = &mut self.services[service];
        match st.spec.deployer {
            Deployer::GithubActions => self.ids.next_gha(),
            Deployer::Argo => {
                st.argo_next += 1;
                let (app, n) = (st.spec.name, st.argo_next);
                format!("argo-{app}-{n}")
            }
        }
    }
}
