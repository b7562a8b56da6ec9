//! Each repository's commit graph: feature branches merged into `main` with merge
//! commits or squashed into one commit, direct commits, and the CI builds they trigger.

use std::collections::VecDeque;

use crate::calendar::{self, HOUR, MINUTE};
use crate::catalog::{self, RepoSpec};
use crate::events::{Build, Commit, PullRequest};
use crate::history::World;
use crate::rng::Rng;
use crate::sink::Sink;

/// Chance that a CI run of a feature branch is red: pushing broken work is what CI is for.
const BRANCH_RED: f64 = 0.12;
/// Chance that a CI run of `main` is red (flaky tests, a bad merge).
const MAIN_RED: f64 = 0.05;
/// Share of a branch's earlier commits pushed (and so built) on their own.
const INTERMEDIATE_BUILD: f64 = 0.2;
/// Share of merge and squash commits whose `pr` arrives as a second, updating event, as
/// when the `push` webhook comes before the `pull_request` one.
const PR_SEPARATE: f64 = 0.25;
/// No pull request merges sooner than this after a repository's first commit, so that
/// its branch has room for a few commits inside the window.
const FIRST_MERGE_AFTER_ROOT: i64 = 2 * HOUR;

#[derive(Debug)]
pub(crate) struct Repo<'c> {
    pub(crate) spec: &'c RepoSpec<'c>,
    pub(crate) main: MainLine,
    /// When the first `main` commit of the window was made.
    root_at: Option<i64>,
    next_pr: u64,
}

#[derive(Debug)]
pub(crate) struct MainCommit {
    pub(crate) at: i64,
    pub(crate) sha: String,
    /// The sink's handle of its change event.
    pub(crate) event: usize,
}

/// The first-parent history of `main`, oldest first, addressed by position since the
/// root. The demo keeps all of it; the scale generator forgets the old end as it goes
/// (see [`MainLine::forget_before`]), and positions stay valid across that.
#[derive(Debug, Default)]
pub(crate) struct MainLine {
    kept: VecDeque<MainCommit>,
    /// Position of `kept[0]`: how many commits were forgotten.
    forgotten: usize,
}

impl MainLine {
    /// Commits ever pushed, forgotten ones included.
    pub(crate) fn len(&self) -> usize {
        self.forgotten + self.kept.len()
    }

    #[cfg(test)]
    pub(crate) fn retained(&self) -> usize {
        self.kept.len()
    }

    pub(crate) fn last(&self) -> Option<&MainCommit> {
        self.kept.back()
    }

    /// The commit at `position`. Panics for a forgotten one: the world keeps every
    /// position it still refers to.
    pub(crate) fn at(&self, position: usize) -> &MainCommit {
        &self.kept[position - self.forgotten]
    }

    fn push(&mut self, commit: MainCommit) {
        self.kept.push_back(commit);
    }

    /// The head at instant `t`: the newest commit made at or before `t`, or the oldest
    /// kept one when older ones are forgotten.
    fn head_at(&self, t: i64) -> Option<&MainCommit> {
        match self.kept.partition_point(|c| c.at <= t) {
            0 if self.forgotten > 0 => self.kept.front(),
            0 => None,
            n => self.kept.get(n - 1),
        }
    }

    /// Forgets commits made before `t`, except the head, positions from `keep_from`
    /// on, and those a branch may still fork from.
    pub(crate) fn forget_before(&mut self, t: i64, keep_from: usize) {
        while self.kept.len() > 1
            && self.forgotten < keep_from
            && self.kept.front().is_some_and(|c| c.at < t)
        {
            self.kept.pop_front();
            self.forgotten += 1;
        }
    }
}

impl<'c> Repo<'c> {
    pub(crate) fn new(spec: &'c RepoSpec<'c>, rng: &mut Rng) -> Self {
        Self {
            spec,
            main: MainLine::default(),
            root_at: None,
            next_pr: 20 + rng.below(300),
        }
    }
}

impl<S: Sink> World<'_, S> {
    /// The oldest commit the window sees. With older history, its parent is that
    /// history, never posted, as when Shiplog is pointed at a repository with years
    /// behind it; otherwise it is the repository's root.
    pub(crate) fn root_commit(&mut self, repo: usize, now: i64) {
        let spec = self.repos[repo].spec;
        let sha = self.rng.sha();
        let parents = if self.older_history {
            vec![self.rng.sha()]
        } else {
            Vec::new()
        };
        let commit = Commit {
            repo: spec.name,
            sha,
            parents,
            committed_at: now,
            authored_at: (now - self.rng.range(0, 20 * MINUTE)).max(self.window.start),
            author: self.rng.pick(spec.authors),
            message: self.rng.pick(catalog::CHORES).to_owned(),
            pr: None,
        };
        self.push_main(repo, commit);
    }

    /// A commit straight onto `main` (a chore, or the hotfix after a rollback).
    pub(crate) fn direct_commit(&mut self, repo: usize, now: i64, message: String) {
        let spec = self.repos[repo].spec;
        let Some(head) = self.repos[repo].main.last() else {
            return;
        };
        let parent = head.sha.clone();
        let commit = Commit {
            repo: spec.name,
            sha: self.rng.sha(),
            parents: vec![parent],
            committed_at: now,
            authored_at: (now - self.rng.range(MINUTE, 2 * HOUR)).max(self.window.start),
            author: self.rng.pick(spec.authors),
            message,
            pr: None,
        };
        self.push_main(repo, commit);
    }

    /// A pull request merged at `now`: its branch of two to six commits, forked from the
    /// `main` of its first commit, then a merge commit or a squash commit on `main`.
    pub(crate) fn merge_pull_request(&mut self, repo: usize, now: i64) {
        let spec = self.repos[repo].spec;
        let Some(root_at) = self.repos[repo].root_at else {
            return;
        };
        if now < root_at + FIRST_MERGE_AFTER_ROOT {
            return;
        }
        let authors = spec.authors;
        let author = self.rng.pick(authors);
        let title = catalog::title(&mut self.rng, spec);
        let branch = catalog::branch_name(author, &title);
        let times = self.branch_times(now, root_at + MINUTE);
        let Some(base) = self.repos[repo].main.head_at(times[0]) else {
            return;
        };

        let mut parent = base.sha.clone();
        for (i, &at) in times.iter().enumerate() {
            let tip = i + 1 == times.len();
            let message = if i == 0 {
                title.clone()
            } else {
                self.rng.pick(catalog::FOLLOW_UPS).to_owned()
            };
            let commit = Commit {
                repo: spec.name,
                sha: self.rng.sha(),
                parents: vec![parent],
                committed_at: at,
                authored_at: (at - self.rng.range(0, 40 * MINUTE)).max(self.window.start),
                author,
                message,
                pr: None,
            };
            // Pushed a little after committing, sometimes with the next commits.
            let arrival = at + self.rng.range(5, 10 * MINUTE);
            self.sink.change(arrival, &commit);
            if spec.branch_builds && (tip || self.rng.chance(INTERMEDIATE_BUILD)) {
                self.build(repo, &commit.sha, &branch, at, BRANCH_RED);
            }
            parent = commit.sha;
        }

        let first = times[0];
        let last = times[times.len() - 1];
        let number = self.repos[repo].next_pr;
        self.repos[repo].next_pr += 1;
        let pr = PullRequest {
            number,
            first_commit_at: first,
            opened_at: self.rng.range(first, last),
            merged_at: now,
        };
        let Some(head) = self.repos[repo].main.last() else {
            return;
        };
        let head = head.sha.clone();
        let commit = if self.rng.chance(spec.squash_share) {
            Commit {
                repo: spec.name,
                sha: self.rng.sha(),
                parents: vec![head],
                committed_at: now,
                authored_at: last,
                author,
                message: format!("{title} (#{number})"),
                pr: Some(pr),
            }
        } else {
            let owner = spec.name.split('/').next().unwrap_or(spec.name);
            Commit {
                repo: spec.name,
                sha: self.rng.sha(),
                parents: vec![head, parent],
                committed_at: now,
                authored_at: now,
                author: self.rng.pick(authors),
                message: format!("Merge pull request #{number} from {owner}/{branch}"),
                pr: Some(pr),
            }
        };
        self.push_main(repo, commit);
    }

    /// Commit times of a branch merged at `merge`: spread over a span of working time
    /// (median about one working day, long tail), all after `earliest`, a minute apart.
    /// The caller leaves at least two hours between `earliest` and `merge`.
    fn branch_times(&mut self, merge: i64, earliest: i64) -> Vec<i64> {
        let n = self.rng.range(2, 6) as usize;
        let latest = merge - 5 * MINUTE;
        let mut span = self
            .rng
            .duration(9.0 * HOUR as f64, 0.8, 20 * MINUTE, 110 * HOUR);
        // Early in the window a branch would start before the repository's first
        // commit; squeeze it into the room there is instead of piling its commits up
        // at the first possible minute.
        let room = calendar::working_between(earliest, latest);
        if span > room {
            span = self.rng.range(room / 2, room);
        }
        let mut offsets: Vec<i64> = (1..n).map(|_| self.rng.range(5 * MINUTE, span)).collect();
        offsets.push(span);
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        let mut times: Vec<i64> = offsets
            .iter()
            .map(|&o| calendar::sub_working(merge, o).clamp(earliest, latest))
            .collect();
        // Clamping can bunch commits together; spread them a minute apart, forward from
        // `earliest` and then back from `latest` (the room is at least two hours).
        for i in 1..times.len() {
            times[i] = times[i].max(times[i - 1] + MINUTE);
        }
        let mut ceiling = latest;
        for t in times.iter_mut().rev() {
            *t = (*t).min(ceiling);
            ceiling = *t - MINUTE;
        }
        times
    }

    /// Posts a new `main` commit and builds it.
    fn push_main(&mut self, repo: usize, mut commit: Commit<'_>) {
        let arrival = commit.committed_at + self.rng.range(2, 45);
        let separate_pr = if commit.pr.is_some() && self.rng.chance(PR_SEPARATE) {
            commit.pr.take()
        } else {
            None
        };
        let event = self.sink.change(arrival, &commit);
        if let Some(pr) = separate_pr {
            let later = arrival + self.rng.range(3, 3 * MINUTE);
            self.sink
                .pr_update(later, commit.repo, &commit.sha, commit.committed_at, &pr);
        }
        self.build(repo, &commit.sha, "main", commit.committed_at, MAIN_RED);
        let repo = &mut self.repos[repo];
        repo.root_at.get_or_insert(commit.committed_at);
        repo.main.push(MainCommit {
            at: commit.committed_at,
            sha: commit.sha,
            event,
        });
    }

    /// CI for a push: a run, and when it is red one re-run (a flaky test, or the fix
    /// pushed to the same ref) that goes green.
    fn build(&mut self, repo: usize, sha: &str, branch: &str, pushed: i64, red_share: f64) {
        let spec = self.repos[repo].spec;
        let mut started = pushed + self.rng.range(15, 2 * MINUTE);
        let mut failures = 0;
        loop {
            let took = self.rng.duration(
                spec.build_minutes * MINUTE as f64,
                0.35,
                2 * MINUTE,
                90 * MINUTE,
            );
            let finished = started + took;
            let succeeded = failures > 0 || !self.rng.chance(red_share);
            let build = Build {
                id: self.ids.next_build(),
                repo: spec.name,
                sha,
                succeeded,
                branch,
                started_at: started,
                finished_at: finished,
            };
            let arrival = finished + self.rng.range(1, 30);
            self.sink.build(arrival, &build);
            if succeeded {
                return;
            }
            failures += 1;
            started = finished + self.rng.range(3 * MINUTE, 45 * MINUTE);
        }
    }
}
