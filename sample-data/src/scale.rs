//! Organisation-scale history for benchmarks: [`generate_scale`] runs the demo's
//! simulation (`history`, `git`, `deploy`, `incidents`) for an organisation of hundreds
//! of services (`scale::org`) and streams SPEC §2 typed events out as NDJSON.
//!
//! The shape is the demo's: pull requests merged or squashed into `main`, direct
//! commits, builds, staging and production deployments with failed attempts, redeploys,
//! rollbacks and their hotfixes, and incidents naming a deployment, a commit or nothing,
//! resolved by a later update. At 500 services over 730 days that is about 10 million
//! changes, a million successful production deployments and 50,000 incidents.
//!
//! Memory does not grow with the length of the history: each day is planned, run and
//! written before the next is planned, and between days the world forgets `main`
//! commits that no branch can fork from and no release can return to (a few weeks'
//! worth). What it holds grows with the number of services only.
//!
//! Where it differs from the demo, and why:
//! - Events are written in the order they happen, not sorted by arrival: a sort would
//!   hold the whole history. So there are no late arrivals and no exact duplicates.
//! - CI runs on `main` only (see `org`), which keeps the event count near the number
//!   of commits the benchmarks want.
//! - Repositories start inside the window: each one's first commit has no parents.

mod org;
mod stream;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::{self, BufWriter, Write};

use chrono::NaiveDate;

use crate::calendar::{DAY, Window};
use crate::history::World;
use crate::rng::Rng;
use org::{Org, Specs};
use stream::Stream;

/// How far back a branch can fork from `main`: its span is at most 110 working hours,
/// which is 10 working days, two weeks with their weekends. Three weeks leave room.
const BRANCH_REACH: i64 = 21 * DAY;
/// Bytes gathered before each write to the caller's writer.
const WRITE_CHUNK: usize = 64 * 1024;
/// Seeds the organisation's draws (habits, team sizes), apart from the simulation's.
const ORG_STREAM: u64 = 0x0126_5CA1_E000_0001;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleOptions {
    /// Selects the history; the same options give the same bytes.
    pub seed: u64,
    /// Number of services, ten to a team.
    pub services: u32,
    /// Length of the history in whole UTC days, `end` included (0 counts as 1).
    pub days: u32,
    /// The last day generated, inclusive.
    pub end: NaiveDate,
}

impl Default for ScaleOptions {
    /// Seed 42, 500 services over 730 days ending 2026-01-01: the benchmark size.
    fn default() -> Self {
        Self {
            seed: 42,
            services: 500,
            days: 730,
            end: NaiveDate::from_ymd_opt(2026, 1, 1).expect("2026-01-01 is a date"),
        }
    }
}

/// Events written, by type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScaleSummary {
    /// `change` events: commits, and the separate `pr` updates of some merges.
    pub changes: u64,
    /// Pull requests merged, each carried by one of the change events.
    pub pull_requests: u64,
    /// `deployment` events: every environment and status.
    pub deployments: u64,
    /// Of those, the successful production deployments.
    pub production_deployments: u64,
    /// `incident` events that open an incident.
    pub incidents: u64,
    /// `incident` events that resolve one (incidents resolved after the end stay open).
    pub resolutions: u64,
    /// `build` events.
    pub builds: u64,
}

impl ScaleSummary {
    /// Lines written.
    pub fn events(&self) -> u64 {
        self.changes + self.deployments + self.incidents + self.resolutions + self.builds
    }
}

impl fmt::Display for ScaleSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events: {} changes ({} pull requests), {} deployments ({} successful in \
             production), {} incidents ({} resolved), {} builds",
            self.events(),
            self.changes,
            self.pull_requests,
            self.deployments,
            self.production_deployments,
            self.incidents,
            self.resolutions,
            self.builds
        )
    }
}

/// Writes the history as NDJSON (one SPEC §2 event a line) to `out`, as it is made,
/// in chunks of 64 KiB; `out` needs no buffer of its own.
pub fn generate_scale(options: &ScaleOptions, out: &mut impl Write) -> io::Result<ScaleSummary> {
    generate_scale_with_progress(options, out, |_, _| {})
}

/// [`generate_scale`], calling `progress` after each day with the number of days done
/// and the counts so far.
pub fn generate_scale_with_progress(
    options: &ScaleOptions,
    out: &mut impl Write,
    mut progress: impl FnMut(u32, &ScaleSummary),
) -> io::Result<ScaleSummary> {
    run(options, out, |days, world| {
        progress(days, &world.sink.summary)
    })
}

/// The day loop; `after_day` sees the world between days (the tests measure it).
fn run<W: Write>(
    options: &ScaleOptions,
    out: W,
    mut after_day: impl FnMut(u32, &World<'_, Stream<BufWriter<W>>>),
) -> io::Result<ScaleSummary> {
    let mut org_rng = Rng::new(options.seed ^ ORG_STREAM);
    let org = Org::new(options, &mut org_rng);
    let people = org.people();
    let specs = Specs::new(&org, &people, &mut org_rng);

    let window = Window::ending(options.end, options.days);
    let stream = Stream::new(BufWriter::with_capacity(WRITE_CHUNK, out), window);
    let mut world = World::new(specs.company(), options.seed, window, stream);
    world.plan_roots();
    for day in 0..options.days.max(1) {
        world.plan_day(day);
        let last_second = window.start + (i64::from(day) + 1) * DAY - 1;
        world.run_until(last_second);
        world.forget_before(last_second - BRANCH_REACH);
        world.sink.check()?;
        after_day(day + 1, &world);
    }
    world.sink.finish()
}
