//! The per-service deployment sequence (SPEC §3.1-3.3): change sets, lead-time
//! samples, rollbacks and redeploys. Pure: the inputs are loaded by the caller, so
//! every rule is tested here on hand-computed sets.

use std::collections::{HashMap, HashSet};

/// A stored commit as the graph walk needs it. Instants are microseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub parents: Vec<String>,
    pub committed_at: i64,
    /// `first_commit_at` of the pull request this commit merged or squashed.
    pub first_commit_at: Option<i64>,
    /// When that pull request was opened and merged (for the lead-time stages).
    pub opened_at: Option<i64>,
    pub merged_at: Option<i64>,
}

/// One repository's stored commits by sha.
pub type Graph = HashMap<String, Commit>;

/// A successful production deployment, in service order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentInput {
    pub id: String,
    pub sha: String,
    pub finished_at: i64,
    /// The resolved repository (SPEC §8); `None` means its sha counts as unstored.
    pub repo: Option<String>,
    /// An explicit change set: `(sha, committed_at)` in list order.
    pub commits: Option<Vec<(String, Option<i64>)>>,
}

/// How a deployment relates to the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The service's first deployment: its change set is its head only (or its list).
    First,
    Change,
    Rollback,
    Redeploy,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Change => "change",
            Self::Rollback => "rollback",
            Self::Redeploy => "redeploy",
        }
    }
}

/// What SPEC §3.1-3.3 derive for one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentFacts {
    pub kind: Kind,
    pub change_set: Vec<String>,
    /// `(sha, hours)` for every change-set commit with a known start and a
    /// non-negative lead time.
    pub samples: Vec<(String, f64)>,
    /// The rollback deployment (index into the input) that failed this one.
    pub rolled_back_by: Option<usize>,
    /// The commit whose ancestors on this deployment's graph are every commit
    /// reached so far (what `Walked::reachable` holds after it), when one is: this
    /// one's sha when its walk met the tip before it, the tip before it when it
    /// reached nothing new (see `0007_walk_state.sql`).
    pub reach_tip: Option<String>,
}

/// A service's sequence, and every commit reachable from its deployments' heads (on
/// their graphs, unstored commits included, where a walk stopped).
#[derive(Debug, Clone, PartialEq)]
pub struct Walked {
    pub facts: Vec<DeploymentFacts>,
    pub reachable: HashSet<String>,
    /// The commits reached or listed that the deployment's graph does not store.
    pub missing: HashSet<String>,
}

pub(super) const MICROS_PER_HOUR: f64 = 3_600_000_000.0;

/// The lead time from `start` to `finished` (microseconds) in hours, when it is not
/// negative. Checked: instants are parsed within the years 0000 to 9999, but a file
/// written before that check may hold chrono's extremes, the years -262,143 and
/// +262,142, whose difference does not fit an `i64` (wrapped, it read as a lead time
/// of some 60,000 years).
pub(super) fn lead_time_hours(start: i64, finished: i64) -> Option<f64> {
    let micros = finished.checked_sub(start)?;
    (micros >= 0).then(|| micros as f64 / MICROS_PER_HOUR)
}

/// Derives the facts of a service's deployments, given in order of
/// `(finished_at, id)`, with the graphs of their repositories.
pub fn derive_sequence(
    deployments: &[DeploymentInput],
    graphs: &HashMap<String, Graph>,
) -> Vec<DeploymentFacts> {
    walk_sequence(deployments, graphs).facts
}

/// [`derive_sequence`], with the commits its walks reached.
pub fn walk_sequence(deployments: &[DeploymentInput], graphs: &HashMap<String, Graph>) -> Walked {
    let empty = Graph::new();
    let graph_of = |d: &DeploymentInput| {
        d.repo
            .as_ref()
            .and_then(|r| graphs.get(r))
            .unwrap_or(&empty)
    };
    // Every commit reachable from an earlier head: ancestor-closed by construction.
    let mut reachable: HashSet<String> = HashSet::new();
    let mut missing: HashSet<String> = HashSet::new();
    // Every commit already in an earlier change set (for explicit lists).
    let mut in_change_sets: HashSet<String> = HashSet::new();
    // The earlier heads, for rollbacks to an older deployment's sha.
    let mut earlier_heads: HashSet<&str> = HashSet::new();
    let mut facts: Vec<DeploymentFacts> = Vec::with_capacity(deployments.len());

    for (i, d) in deployments.iter().enumerate() {
        let graph = graph_of(d);
        let previous = i.checked_sub(1).map(|p| &deployments[p]);
        let kind = match previous {
            None => Kind::First,
            Some(prev) if prev.sha == d.sha => Kind::Redeploy,
            Some(prev) => {
                // `prev.sha != d.sha` here, so an equal earlier head is an older one.
                if earlier_heads.contains(d.sha.as_str())
                    || (reachable.contains(&d.sha)
                        && is_ancestor(graph_of(prev), &d.sha, &prev.sha))
                {
                    Kind::Rollback
                } else {
                    Kind::Change
                }
            }
        };
        let tip = facts.last().and_then(|f| f.reach_tip.as_deref());
        let watched = tip.filter(|_| previous.is_some_and(|p| p.repo == d.repo));
        let (newly_reachable, met_tip) = walk(
            |sha| graph.get(sha).map(|c| c.parents.as_slice()),
            &d.sha,
            |sha| reachable.contains(sha),
            watched,
        );
        let reach_tip = next_tip(tip, &newly_reachable, previous.is_none() || met_tip);
        let change_set = match (kind, &d.commits) {
            (Kind::Rollback | Kind::Redeploy, _) => Vec::new(),
            (_, Some(list)) => {
                // In list order, each sha once: linear in the list's length.
                let mut listed: HashSet<&str> = HashSet::with_capacity(list.len() + 1);
                list.iter()
                    .map(|(s, _)| s)
                    .chain(std::iter::once(&d.sha))
                    .filter(|sha| !in_change_sets.contains(*sha) && listed.insert(sha))
                    .cloned()
                    .collect()
            }
            (Kind::First, None) => vec![d.sha.clone()],
            (_, None) => newly_reachable.clone(),
        };
        let listed: HashMap<&str, i64> = d
            .commits
            .iter()
            .flatten()
            .filter_map(|(sha, at)| Some((sha.as_str(), (*at)?)))
            .collect();
        let samples = change_set
            .iter()
            .filter_map(|sha| {
                let stored = graph.get(sha);
                let committed = listed
                    .get(sha.as_str())
                    .copied()
                    .or(stored.map(|c| c.committed_at))?;
                let start = stored
                    .and_then(|c| c.first_commit_at)
                    .map_or(committed, |f| f.min(committed));
                Some((sha.clone(), lead_time_hours(start, d.finished_at)?))
            })
            .collect();
        if kind == Kind::Rollback {
            facts[i - 1].rolled_back_by = Some(i);
        }
        let unstored = newly_reachable.iter().chain(&change_set);
        missing.extend(unstored.filter(|sha| !graph.contains_key(*sha)).cloned());
        reachable.extend(newly_reachable);
        in_change_sets.extend(change_set.iter().cloned());
        earlier_heads.insert(&d.sha);
        facts.push(DeploymentFacts {
            kind,
            change_set,
            samples,
            rolled_back_by: None,
            reach_tip,
        });
    }
    Walked {
        facts,
        reachable,
        missing,
    }
}

/// The tip after a deployment whose walk reached `newly` (its sha first when not
/// empty), `tip` being the one before it: the deployment's sha when it contains every
/// commit reached (the first deployment, or a walk that met `tip`).
pub(crate) fn next_tip(tip: Option<&str>, newly: &[String], contains_all: bool) -> Option<String> {
    match newly.first() {
        None => tip.map(str::to_owned),
        Some(head) => contains_all.then(|| head.clone()),
    }
}

/// The commits reachable from `head` that `known` does not hold, `head` first.
/// Traversal stops at commits that are not stored, which are still included.
pub(crate) fn walk_new(graph: &Graph, head: &str, known: &HashSet<String>) -> Vec<String> {
    let parents = |sha: &str| graph.get(sha).map(|c| c.parents.as_slice());
    walk(parents, head, |sha| known.contains(sha), None).0
}

/// The commits reachable from `head` through `parents` (`None`: not stored, so the
/// walk stops there, the commit included) that `known` does not hold, `head` first;
/// and whether the walk met `watched` (`known` or not).
pub(crate) fn walk<'g>(
    parents: impl Fn(&str) -> Option<&'g [String]>,
    head: &'g str,
    mut known: impl FnMut(&str) -> bool,
    watched: Option<&str>,
) -> (Vec<String>, bool) {
    let mut found = Vec::new();
    let mut met = false;
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack = vec![head];
    while let Some(sha) = stack.pop() {
        met |= watched == Some(sha);
        if known(sha) || !seen.insert(sha) {
            continue;
        }
        found.push(sha.to_owned());
        if let Some(parents) = parents(sha) {
            stack.extend(parents.iter().rev().map(String::as_str));
        }
    }
    (found, met)
}

/// Whether `ancestor` is a proper ancestor of `of` on the stored graph.
fn is_ancestor(graph: &Graph, ancestor: &str, of: &str) -> bool {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&str> = graph
        .get(of)
        .map(|c| c.parents.iter().map(String::as_str).collect())
        .unwrap_or_default();
    while let Some(sha) = stack.pop() {
        if sha == ancestor {
            return true;
        }
        if seen.insert(sha)
            && let Some(commit) = graph.get(sha)
        {
            stack.extend(commit.parents.iter().map(String::as_str));
        }
    }
    false
}

#[cfg(test)]
#[path = "sequence_tests.rs"]
mod tests;
