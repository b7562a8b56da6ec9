//! The scale generator's sink: every event becomes one NDJSON line the moment it
//! happens, is written out and counted; nothing is kept.

use std::io::{self, Write};

use crate::calendar::Window;
use crate::events::{Build, Commit, Deployment, Incident, PullRequest};
use crate::ndjson;
use crate::scale::ScaleSummary;
use crate::sink::Sink;

#[derive(Debug)]
pub(crate) struct Stream<W: Write> {
    out: W,
    window: Window,
    /// The line being written, reused: one allocation for the whole run.
    line: String,
    pub(crate) summary: ScaleSummary,
    /// The first write error. [`Sink`]'s methods cannot fail (the simulation does not
    /// care where its events go), so the error waits here for the next
    /// [`Stream::check`], and nothing more is written.
    error: Option<io::Error>,
}

impl<W: Write> Stream<W> {
    pub(crate) fn new(out: W, window: Window) -> Self {
        Self {
            out,
            window,
            line: String::with_capacity(1_024),
            summary: ScaleSummary::default(),
            error: None,
        }
    }

    /// Writes one event if all of its instants lie inside the window, as the demo keeps
    /// only those (a deployment finishing after the last second, a resolution after
    /// it); says whether it did.
    fn emit(&mut self, (earliest, latest): (i64, i64), write: impl FnOnce(&mut String)) -> bool {
        if self.error.is_some() || !self.window.contains(earliest) || !self.window.contains(latest)
        {
            return false;
        }
        self.line.clear();
        write(&mut self.line);
        self.line.push('\n');
        match self.out.write_all(self.line.as_bytes()) {
            Ok(()) => true,
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    /// The first write error since the start, if any.
    pub(crate) fn check(&mut self) -> io::Result<()> {
        self.error.take().map_or(Ok(()), Err)
    }

    /// Flushes what is buffered and returns the counts.
    pub(crate) fn finish(mut self) -> io::Result<ScaleSummary> {
        self.check()?;
        self.out.flush()?;
        Ok(self.summary)
    }
}

impl<W: Write> Sink for Stream<W> {
    fn change(&mut self, _arrival: i64, commit: &Commit<'_>) -> usize {
        if self.emit(commit.span(), |line| ndjson::change(line, commit)) {
            self.summary.changes += 1;
            self.summary.pull_requests += u64::from(commit.pr.is_some());
        }
        // Lines are written in the order events happen; nothing can be delayed.
        0
    }

    fn pr_update(
        &mut self,
        _arrival: i64,
        repo: &str,
        sha: &str,
        committed_at: i64,
        pr: &PullRequest,
    ) {
        let span = crate::events::pr_update_span(committed_at, pr);
        if self.emit(span, |line| {
            ndjson::pr_update(line, repo, sha, committed_at, pr);
        }) {
            self.summary.changes += 1;
            self.summary.pull_requests += 1;
        }
    }

    fn deployment(&mut self, _arrival: i64, d: &Deployment<'_>) {
        if self.emit((d.started_at, d.finished_at), |line| {
            ndjson::deployment(line, d);
        }) {
            self.summary.deployments += 1;
            let production = d.environment == "production" && d.succeeded;
            self.summary.production_deployments += u64::from(production);
        }
    }

    fn build(&mut self, _arrival: i64, b: &Build<'_>) {
        if self.emit((b.started_at, b.finished_at), |line| ndjson::build(line, b)) {
            self.summary.builds += 1;
        }
    }

    fn incident(
        &mut self,
        incident: &Incident<'_>,
        _open_arrival: i64,
        resolved_at: i64,
        _resolve_arrival: i64,
    ) {
        let opened = incident.opened_at;
        if self.emit((opened, opened), |line| {
            ndjson::incident_opened(line, incident);
        }) {
            self.summary.incidents += 1;
        }
        // Resolved after the end: the incident stays open, as in the demo.
        if self.emit((opened, resolved_at), |line| {
            ndjson::incident_resolved(line, incident, resolved_at);
        }) {
            self.summary.resolutions += 1;
        }
    }

    fn delay(&mut self, _handle: usize, _arrival: i64) {}
}
