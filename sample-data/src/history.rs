//! The simulation: one world (repositories, services, counters) and an agenda of timed
//! actions run in time order, then the arrival order a real webhook feed would have.
//!
//! A single agenda rather than one pass per repository or per event type: a deployment
//! must see the `main` head of its moment, a rollback must see the deployments before
//! it, and a hotfix commit must land between the rollback and the fix deployment. Time
//! order gives all three for free.
//!
//! The demo plans every day, runs the agenda and reorders what its [`Collector`] kept.
//! The scale generator plans and runs one day at a time into a streaming sink and calls
//! [`World::forget_before`] between days, so that its state stays the size of a few
//! weeks whatever the length of the history.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Options;
use crate::calendar::{self, DAY, HOUR, MINUTE, Window};
use crate::catalog::{self, Cadence, Company, StraySpec};
use crate::deploy::Service;
use crate::events::Blame;
use crate::git::Repo;
use crate::rng::Rng;
use crate::sink::{Collector, Emitted, IncidentLog, Sink};

/// Activity on a weekend day, relative to a working day: the odd on-call fix.
const WEEKEND_LOAD: f64 = 0.05;
/// Exact repeats (webhook retries), one per this many events, at least two.
const EVENTS_PER_DUPLICATE: usize = 2_500;
/// How recent the incident left open must be, when none stayed open by chance.
const OPEN_INCIDENT_RECENCY: i64 = 14 * DAY;

#[derive(Debug)]
pub(crate) enum Action {
    /// The first commit of a repository that the window sees.
    Root {
        repo: usize,
    },
    Merge {
        repo: usize,
    },
    Chore {
        repo: usize,
    },
    DeploySlot {
        service: usize,
    },
    Incident {
        service: usize,
        deployment: String,
        blame: Blame,
    },
    StrayIncident {
        which: usize,
    },
    Rollback {
        service: usize,
        bad: String,
    },
    Hotfix {
        service: usize,
    },
    FixDeploy {
        service: usize,
    },
}

/// Id counters. GitHub's deployment ids are global, so one counter serves every
/// GitHub-deployed service; ArgoCD counters live with each application.
#[derive(Debug)]
pub(crate) struct Ids {
    gha: u64,
    build: u64,
    incident: u64,
}

impl Ids {
    fn new(rng: &mut Rng) -> Self {
        Self {
            gha: 4_100_000 + rng.below(800_000),
            build: 300_000 + rng.below(50_000),
            incident: 1_000 + rng.below(4_000),
        }
    }

    pub(crate) fn next_gha(&mut self) -> String {
        self.gha += 1;
        let n = self.gha;
        format!("gha-{n}")
    }

    pub(crate) fn next_build(&mut self) -> String {
        self.build += 1;
        let n = self.build;
        format!("ci-{n}")
    }

    pub(crate) fn next_incident(&mut self) -> String {
        self.incident += 1;
        let n = self.incident;
        format!("PD-{n}")
    }
}

#[derive(Debug)]
pub(crate) struct World<'c, S> {
    pub(crate) rng: Rng,
    pub(crate) window: Window,
    pub(crate) sink: S,
    pub(crate) repos: Vec<Repo<'c>>,
    pub(crate) services: Vec<Service<'c>>,
    pub(crate) strays: &'c [StraySpec<'c>],
    pub(crate) older_history: bool,
    pub(crate) ids: Ids,
    /// Keyed by (time, order of scheduling): a `BTreeMap` pops the earliest first and
    /// breaks ties by scheduling order, which a `BinaryHeap` would need a wrapper for.
    agenda: BTreeMap<(i64, u64), Action>,
    scheduled: u64,
}

pub(crate) fn generate(options: &Options) -> Vec<Value> {
    let window = Window::ending(options.end, options.days);
    let mut world = World::new(catalog::DEMO, options.seed, window, Collector::default());
    world.plan_roots();
    for day in 0..options.days.max(1) {
        world.plan_day(day);
    }
    world.run_until(window.end);
    world.finish()
}

impl<'c, S: Sink> World<'c, S> {
    pub(crate) fn new(company: Company<'c>, seed: u64, window: Window, sink: S) -> Self {
        let mut rng = Rng::new(seed);
        let repos = company
            .repos
            .iter()
            .map(|spec| Repo::new(spec, &mut rng))
            .collect();
        let services = company
            .services
            .iter()
            .map(|spec| Service::new(spec, &mut rng))
            .collect();
        let ids = Ids::new(&mut rng);
        Self {
            rng,
            window,
            sink,
            repos,
            services,
            strays: company.strays,
            older_history: company.older_history,
            ids,
            agenda: BTreeMap::new(),
            scheduled: 0,
        }
    }

    pub(crate) fn schedule(&mut self, at: i64, action: Action) {
        self.agenda.insert((at, self.scheduled), action);
        self.scheduled += 1;
    }

    /// Puts each repository's first commit on the agenda, early on the first day.
    pub(crate) fn plan_roots(&mut self) {
        for repo in 0..self.repos.len() {
            let at = calendar::add_working(self.window.start, self.rng.range(0, 45 * MINUTE));
            self.schedule(at, Action::Root { repo });
        }
    }

    /// Puts every merge, chore, release slot and stray page of day `d` of the window on
    /// the agenda; the consequences (incidents, rollbacks, hotfixes) are scheduled as
    /// they happen.
    pub(crate) fn plan_day(&mut self, d: u32) {
        let day = self.window.start + i64::from(d) * DAY;
        let weekday = calendar::weekday(day);
        let load = if calendar::is_workday(day) {
            1.0
        } else {
            WEEKEND_LOAD
        };
        for repo in 0..self.repos.len() {
            let spec = self.repos[repo].spec;
            for _ in 0..self.rng.count(spec.merges_per_day * load) {
                let at = day + self.rng.range(9 * HOUR, 18 * HOUR + 30 * MINUTE);
                self.schedule(at, Action::Merge { repo });
            }
            for _ in 0..self.rng.count(spec.chores_per_day * load) {
                let at = day + self.rng.range(8 * HOUR + 30 * MINUTE, 18 * HOUR);
                self.schedule(at, Action::Chore { repo });
            }
        }
        for service in 0..self.services.len() {
            match self.services[service].spec.cadence {
                Cadence::Daily { slots } => {
                    for _ in 0..self.rng.count(slots * load) {
                        let at = day
                            + self
                                .rng
                                .range(9 * HOUR + 30 * MINUTE, 17 * HOUR + 30 * MINUTE);
                        self.schedule(at, Action::DeploySlot { service });
                    }
                }
                Cadence::Weekly {
                    weekday: train,
                    hour,
                } if train == weekday => {
                    let at = day + hour * HOUR + self.rng.range(0, 90 * MINUTE);
                    self.schedule(at, Action::DeploySlot { service });
                }
                Cadence::Weekly { .. } => {}
            }
        }
        // Pages come at any hour, weekends included.
        for which in 0..self.strays.len() {
            if self.rng.chance(self.strays[which].per_week / 7.0) {
                let at = day + self.rng.range(0, DAY - 1);
                self.schedule(at, Action::StrayIncident { which });
            }
        }
    }

    /// Runs the agenda's actions up to `limit` inclusive, in time order; later ones
    /// (and those they schedule after `limit`) stay on the agenda.
    pub(crate) fn run_until(&mut self, limit: i64) {
        while let Some(entry) = self.agenda.first_entry() {
            if entry.key().0 > limit {
                break;
            }
            let ((at, _), action) = entry.remove_entry();
            match action {
                Action::Root { repo } => self.root_commit(repo, at),
                Action::Merge { repo } => self.merge_pull_request(repo, at),
                Action::Chore { repo } => {
                    let message = self.rng.pick(catalog::CHORES).to_owned();
                    self.direct_commit(repo, at, message);
                }
                Action::DeploySlot { service } => self.deploy_slot(service, at),
                Action::Incident {
                    service,
                    deployment,
                    blame,
                } => {
                    self.deployment_incident(service, &deployment, blame, at);
                }
                Action::StrayIncident { which } => self.stray_incident(which, at),
                Action::Rollback { service, bad } => self.roll_back(service, &bad, at),
                Action::Hotfix { service } => self.hotfix(service, at),
                Action::FixDeploy { service } => self.fix_deploy(service, at),
            }
        }
    }

    /// Drops the `main` commits made before `t` that nothing can use any more: a
    /// branch forks from a `main` of at most a few weeks ago, and each service's
    /// running, previous and last forward releases are kept whatever their age.
    pub(crate) fn forget_before(&mut self, t: i64) {
        let mut needed: Vec<usize> = self.repos.iter().map(|r| r.main.len()).collect();
        for service in &self.services {
            let repo = service.spec.repo;
            if let Some(oldest) = service.main_indices().min() {
                needed[repo] = needed[repo].min(oldest);
            }
        }
        for (repo, keep_from) in self.repos.iter_mut().zip(needed) {
            repo.main.forget_before(t, keep_from);
        }
    }

    /// How much the world holds: `main` commits kept, and actions on the agenda.
    #[cfg(test)]
    pub(crate) fn footprint(&self) -> usize {
        let commits: usize = self.repos.iter().map(|r| r.main.retained()).sum();
        commits + self.agenda.len()
    }
}

impl World<'_, Collector> {
    /// Drops what lies outside the window, adds webhook retries and returns the events
    /// in arrival order.
    fn finish(mut self) -> Vec<Value> {
        let window = self.window;
        let mut keep: Vec<bool> = self
            .sink
            .items
            .iter()
            .map(|item| window.contains(item.event.earliest) && window.contains(item.event.latest))
            .collect();

        // An open incident belongs in any demo; most runs leave one open by themselves
        // (resolved after the end), the others get their newest recent page left open.
        let open =
            |log: &IncidentLog, keep: &[bool]| keep[log.open_event] && !keep[log.resolve_event];
        if !self.sink.incidents.iter().any(|log| open(log, &keep)) {
            let newest = self
                .sink
                .incidents
                .iter()
                .filter(|log| {
                    keep[log.open_event] && log.opened >= window.end - OPEN_INCIDENT_RECENCY
                })
                .max_by_key(|log| log.opened);
            if let Some(log) = newest {
                keep[log.resolve_event] = false;
            }
        }

        let items = std::mem::take(&mut self.sink.items);
        // Twins get sequence numbers after every original, so that each sorts after
        // anything arriving in the same second.
        let first_twin = items.len();
        let mut kept: Vec<Emitted> = items
            .into_iter()
            .zip(keep)
            .filter_map(|(item, k)| k.then_some(item))
            .collect();

        let copies = 2 + kept.len() / EVENTS_PER_DUPLICATE;
        for seq in first_twin..first_twin + copies {
            if kept.is_empty() {
                break;
            }
            let original = self.rng.below(kept.len() as u64) as usize;
            let mut twin = kept[original].clone();
            twin.arrival += self.rng.range(30, 3 * HOUR);
            twin.seq = seq;
            kept.push(twin);
        }

        kept.sort_by_key(|item| (item.arrival, item.seq));
        kept.into_iter().map(|item| item.event.value).collect()
    }
}
