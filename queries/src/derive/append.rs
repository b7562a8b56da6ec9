//! Extending a service's derived facts with deployments that come after every stored
//! one of it, instead of recomputing the service whole (`mod.rs` decides which).
//!
//! A deployment appended to a service's sequence changes nothing before it but the
//! rollback fields of the one it rolls back: its own kind, change set and samples
//! follow from the one before it, from the commits the walks so far reached (its
//! heads, its change sets and `walk_reached`: see `0007_walk_state.sql`), and from
//! the commits it reaches that none did, all of them stored since this deriver
//! started ([`RecentCommits`]). Whatever falls outside that — a commit list, a
//! `paths` filter, a walk that leaves the recent commits, a sha the walks reached
//! without it being a head — is left to the whole recomputation, by returning no
//! plan.

use std::collections::{HashMap, HashSet, VecDeque};

use duckdb::types::{TimeUnit, Value};
use duckdb::{Connection, OptionalExt, params};
use shiplog_model::Change;

use super::sequence::{Commit, Kind, lead_time_hours, next_tip, walk};
use super::{Deriver, Head};
use crate::QueryError;
use crate::temp::set_names;

/// How many recently stored commits a deriver keeps (about 200 bytes each).
const RECENT_COMMITS: usize = 200_000;

/// How many recent commits one appended walk may visit before the service is
/// recomputed whole instead.
const MAX_WALK: usize = 10_000;

/// Commits stored since the deriver started paying, as stored, by repository: the
/// part of the graph an appended deployment's walk visits. The oldest are forgotten
/// past [`RECENT_COMMITS`], and a repository's are forgotten when one of its commits
/// changes in place.
#[derive(Debug, Clone, Default)]
pub(super) struct RecentCommits {
    by_repo: HashMap<String, HashMap<String, Commit>>,
    order: VecDeque<(String, String)>,
}

impl RecentCommits {
    /// Keeps `change` as the stored row reads (see `repo_graph.sql`).
    pub(super) fn add(&mut self, change: &Change) {
        let micros = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_micros());
        let pr = change.pr.as_ref();
        let commit = Commit {
            parents: change
                .parents
                .iter()
                .flatten()
                .map(|p| p.to_string())
                .collect(),
            committed_at: change.committed_at.timestamp_micros(),
            first_commit_at: micros(pr.and_then(|p| p.first_commit_at)),
            opened_at: micros(pr.and_then(|p| p.opened_at)),
            merged_at: micros(pr.and_then(|p| p.merged_at)),
        };
        let (repo, sha) = (change.repo.to_string(), change.sha.to_string());
        self.by_repo
            .entry(repo.clone())
            .or_default()
            .insert(sha.clone(), commit);
        self.order.push_back((repo, sha));
        while self.order.len() > RECENT_COMMITS {
            let Some((repo, sha)) = self.order.pop_front() else {
                break;
            };
            if let Some(commits) = self.by_repo.get_mut(&repo) {
                commits.remove(&sha);
                if commits.is_empty() {
                    self.by_repo.remove(&repo);
                }
            }
        }
    }

    pub(super) fn forget_repo(&mut self, repo: &str) {
        self.by_repo.remove(repo);
    }

    fn get(&self, repo: &str, sha: &str) -> Option<&Commit> {
        self.by_repo.get(repo)?.get(sha)
    }
}

/// A `deploy_facts` row.
#[derive(Debug, Clone)]
struct Fact {
    id: String,
    sha: String,
    finished_at: i64,
    position: i32,
    kind: Kind,
    change_set: Vec<String>,
    rolled_back_by: Option<(String, i64)>,
    repo: String,
    sha_in_graph: bool,
    reach_tip: Option<String>,
}

/// A deployment stored for the first time, its repository resolved.
#[derive(Debug, Clone)]
struct New {
    id: String,
    sha: String,
    finished_at: i64,
    environment: Option<String>,
    repo: String,
}

/// What appending a service's new deployments writes.
#[derive(Debug)]
pub(super) struct Plan {
    service: String,
    facts: Vec<Fact>,
    /// Samples: deployment index into `facts`, sha, hours, the commit.
    samples: Vec<(usize, String, f64, Commit)>,
    /// A stored deployment the first appended one rolls back.
    rolls_back: Option<String>,
    /// The service's `environment_heads` rows, when they change.
    heads: Option<Vec<Head>>,
}

impl Plan {
    pub(super) fn service(&self) -> &str {
        &self.service
    }

    /// The appended production deployments: `(id, service, finished_at)`.
    pub(super) fn deployments(&self) -> impl Iterator<Item = (&str, &str, i64)> {
        self.facts
            .iter()
            .map(|f| (f.id.as_str(), self.service.as_str(), f.finished_at))
    }

    /// Their heads and change sets: `(service, sha)`.
    pub(super) fn shas(&self) -> impl Iterator<Item = (&str, &str)> {
        self.facts.iter().flat_map(|f| {
            std::iter::once(f.sha.as_str())
                .chain(f.change_set.iter().map(String::as_str))
                .map(|sha| (self.service.as_str(), sha))
        })
    }
}

/// Writes `plans` (in the caller's transaction), each table through one Appender:
/// a flush costs about as much as a planned `INSERT`, whatever its row count.
pub(super) fn write(conn: &Connection, plans: &[Plan]) -> Result<(), QueryError> {
    let at = |micros: i64| Value::Timestamp(TimeUnit::Microsecond, micros);
    let time = |t: Option<i64>| t.map_or(Value::Null, at);
    for plan in plans {
        if let (Some(stored), Some(first)) = (&plan.rolls_back, plan.facts.first()) {
            conn.execute(
                "UPDATE deploy_facts SET rolled_back_by = ?, rolled_back_at = ? WHERE deployment_id = ?",
                params![first.id, at(first.finished_at), stored],
            )?;
        }
    }
    let mut deploys = conn.appender("deploy_facts")?;
    let mut members = conn.appender("change_set_members")?;
    let mut samples = conn.appender("lead_time_samples")?;
    for plan in plans {
        let service = plan.service.as_str();
        for f in &plan.facts {
            let rollback = f.rolled_back_by.as_ref();
            deploys.append_row(params![
                f.id,
                service,
                f.sha,
                at(f.finished_at),
                f.position,
                f.kind.as_str(),
                f.change_set.len() as i32,
                rollback.map(|(id, _)| id.as_str()),
                rollback.map_or(Value::Null, |(_, t)| at(*t)),
                f.repo,
                f.sha_in_graph,
                f.reach_tip
            ])?;
            for sha in &f.change_set {
                members.append_row(params![f.id, service, sha])?;
            }
        }
        for (index, sha, hours, commit) in &plan.samples {
            let f = &plan.facts[*index];
            samples.append_row(params![
                f.id,
                service,
                at(f.finished_at),
                sha,
                hours,
                f.repo,
                time(commit.first_commit_at),
                time(commit.opened_at),
                time(commit.merged_at)
            ])?;
        }
    }
    deploys.flush()?;
    members.flush()?;
    samples.flush()?;
    let changed: Vec<&Plan> = plans.iter().filter(|p| p.heads.is_some()).collect();
    if changed.is_empty() {
        return Ok(());
    }
    set_names(
        conn,
        "heads_services",
        changed.iter().map(|p| p.service.as_str()),
    )?;
    conn.execute_batch(
        "DELETE FROM environment_heads WHERE service IN (SELECT service FROM heads_services)",
    )?;
    let mut appender = conn.appender("environment_heads")?;
    for plan in changed {
        for h in plan.heads.iter().flatten() {
            appender.append_row(params![
                plan.service,
                h.environment,
                h.production,
                h.deployment_id,
                h.sha,
                at(h.finished_at),
                h.repo,
                h.commits_ahead
            ])?;
        }
    }
    Ok(appender.flush()?)
}

/// A deployment row as `appended_deployment.sql` reads it.
type Row = (
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
);

fn row(r: &duckdb::Row<'_>) -> duckdb::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

/// How many deployments a payment reads by key, one lookup each; past it, one scan
/// of `deployments` for all of them is cheaper.
const LOOKUPS: usize = 16;

/// What one payment's plans read, once for all of them: the appended deployments,
/// and the last stored production deployment of each service.
#[derive(Debug, Default)]
pub(super) struct Stored {
    rows: HashMap<String, Row>,
    tails: HashMap<String, Fact>,
}

impl Stored {
    pub(super) fn load(
        conn: &Connection,
        ids: &[&str],
        services: &[&str],
    ) -> Result<Stored, QueryError> {
        let mut stored = Stored::default();
        if ids.len() <= LOOKUPS {
            let mut stmt = conn.prepare_cached(include_str!("../sql/appended_deployment.sql"))?;
            for id in ids {
                if let Some(r) = stmt.query_row(params![id], row).optional()? {
                    stored.rows.insert(r.0.clone(), r);
                }
            }
        } else {
            crate::temp::set_list(conn, "appended_ids", "id", ids.iter().copied())?;
            let mut stmt = conn.prepare_cached(include_str!("../sql/appended_deployments.sql"))?;
            for r in stmt.query_map([], row)? {
                let r = r?;
                stored.rows.insert(r.0.clone(), r);
            }
        }
        set_names(conn, "plan_services", services.iter().copied())?;
        let mut stmt = conn.prepare_cached(include_str!("../sql/sequence_tails.sql"))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let fact = Fact {
                id: r.get(0)?,
                sha: r.get(1)?,
                finished_at: r.get(2)?,
                position: r.get(3)?,
                kind: Kind::Change,
                change_set: Vec::new(),
                rolled_back_by: None,
                repo: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                sha_in_graph: r.get(5)?,
                reach_tip: r.get(6)?,
            };
            // A stored head without a repository never matches an appended one's.
            if !fact.repo.is_empty() {
                stored.tails.insert(r.get(7)?, fact);
            }
        }
        Ok(stored)
    }
}

/// Plans the extension of `service`'s facts with its deployments `ids`, stored for the
/// first time; `None` when the service is to be recomputed whole.
pub(super) fn plan(
    deriver: &Deriver,
    conn: &Connection,
    stored: &Stored,
    service: &str,
    ids: &[&str],
) -> Result<Option<Plan>, QueryError> {
    let settings = &deriver.settings;
    if settings
        .services
        .get(service)
        .is_some_and(|s| !s.paths.is_empty())
    {
        return Ok(None);
    }
    let mut new = Vec::new();
    for id in ids {
        let Some((id, sha, finished_at, environment, status, repo, listed)) =
            stored.rows.get(*id).cloned()
        else {
            return Ok(None);
        };
        if !shiplog_model::succeeded(status.as_deref()) {
            continue;
        }
        let Some(repo) = repo.or_else(|| settings.repo_of(service).map(str::to_owned)) else {
            return Ok(None);
        };
        if listed {
            return Ok(None);
        }
        new.push(New {
            id,
            sha,
            finished_at,
            environment,
            repo,
        });
    }
    new.sort_by(|a, b| (a.finished_at, &a.id).cmp(&(b.finished_at, &b.id)));
    let mut planner = Planner {
        deriver,
        conn,
        service,
        added: HashSet::new(),
        listed: None,
        reached: HashMap::new(),
        stored_heads: HashMap::new(),
    };
    let tail = stored.tails.get(service).cloned();
    let production: Vec<&New> = new
        .iter()
        .filter(|d| settings.is_production(d.environment.as_deref()))
        .collect();
    if let Some(tail) = &tail {
        planner.prefetch(&production, tail)?;
    }
    let mut facts: Vec<Fact> = Vec::new();
    let mut samples = Vec::new();
    let mut rolls_back = None;
    for d in production {
        let prev = match facts.last().or(tail.as_ref()) {
            Some(prev) if (prev.finished_at, &prev.id) < (d.finished_at, &d.id) => prev.clone(),
            _ => return Ok(None),
        };
        if prev.repo != d.repo {
            return Ok(None);
        }
        let position = prev.position + 1;
        let mut fact = Fact {
            id: d.id.clone(),
            sha: d.sha.clone(),
            finished_at: d.finished_at,
            position,
            kind: Kind::Redeploy,
            change_set: Vec::new(),
            rolled_back_by: None,
            repo: d.repo.clone(),
            sha_in_graph: prev.sha_in_graph,
            // Reaching nothing new, a redeploy or a rollback keeps the tip.
            reach_tip: prev.reach_tip.clone(),
        };
        // With releases counted once across regions, a sha deployed before (the one
        // just before, or an earlier one below) may be a release reaching another
        // region: the whole derivation decides that (`Releases`).
        let once_per_release = settings.multi_region_window_hours.is_some();
        if once_per_release && d.sha == prev.sha {
            return Ok(None);
        }
        if d.sha != prev.sha {
            let earlier = facts
                .iter()
                .find(|f| f.sha == d.sha)
                .map(|f| f.sha_in_graph);
            let earlier = match earlier {
                Some(in_graph) => Some(Some(in_graph)),
                None => planner.head_in_graph(&d.sha, &d.repo),
            };
            if let Some(in_graph) = earlier {
                if once_per_release {
                    return Ok(None);
                }
                // A rollback to an earlier deployment's sha.
                let Some(in_graph) = in_graph else {
                    return Ok(None);
                };
                fact.kind = Kind::Rollback;
                fact.sha_in_graph = in_graph;
                match facts.last_mut() {
                    Some(last) => last.rolled_back_by = Some((d.id.clone(), d.finished_at)),
                    None => rolls_back = Some(prev.id.clone()),
                }
            } else {
                let tip = prev.reach_tip.as_deref();
                let walked = planner.walk(&d.repo, &d.sha, tip, prev.finished_at)?;
                let Some((change_set, met)) = walked else {
                    return Ok(None);
                };
                if change_set.is_empty() {
                    // Reached before, yet no earlier head: whether it is an ancestor
                    // of the last one takes the whole graph.
                    return Ok(None);
                }
                fact.kind = Kind::Change;
                fact.sha_in_graph = true;
                fact.reach_tip = next_tip(tip, &change_set, met);
                for sha in &change_set {
                    let commit = planner.recent(&d.repo, sha).clone();
                    let start = commit
                        .first_commit_at
                        .map_or(commit.committed_at, |f| f.min(commit.committed_at));
                    if let Some(hours) = lead_time_hours(start, d.finished_at) {
                        samples.push((facts.len(), sha.clone(), hours, commit));
                    }
                }
                planner.added.extend(change_set.iter().cloned());
                fact.change_set = change_set;
            }
        }
        facts.push(fact);
    }
    let Some(heads) = planner.heads(&new, facts.last().or(tail.as_ref()))? else {
        return Ok(None);
    };
    Ok(Some(Plan {
        service: service.to_owned(),
        facts,
        samples,
        rolls_back,
        heads,
    }))
}

/// A stored deployment's repository, and whether that stores its sha.
type StoredHead = (Option<String>, bool);

/// The reads one plan makes.
struct Planner<'a> {
    deriver: &'a Deriver,
    conn: &'a Connection,
    service: &'a str,
    /// The commits the plan's own deployments reached.
    added: HashSet<String>,
    /// Whether a stored deployment of the service lists its commits (read once).
    listed: Option<bool>,
    /// Commits asked about: whether the service's walks reached them.
    reached: HashMap<String, bool>,
    /// Shas asked about that are heads of stored deployments: their repositories,
    /// and whether those store them.
    stored_heads: HashMap<String, Vec<StoredHead>>,
}

impl Planner<'_> {
    /// Asks at once what the appended deployments' walks will ask one by one:
    /// which of their shas are heads of stored deployments, and which of the recent
    /// commits they may visit (down to those committed before `tail` finished) the
    /// service's walks reached.
    fn prefetch(&mut self, deployments: &[&New], tail: &Fact) -> Result<(), QueryError> {
        if deployments.is_empty() {
            return Ok(());
        }
        crate::temp::set_list(
            self.conn,
            "walk_candidates",
            "sha",
            deployments.iter().map(|d| d.sha.as_str()),
        )?;
        let mut stmt = self
            .conn
            .prepare_cached(include_str!("../sql/stored_heads.sql"))?;
        let mut rows = stmt.query(params![self.service])?;
        let mut heads: HashMap<String, Vec<StoredHead>> = HashMap::new();
        while let Some(row) = rows.next()? {
            let sha: String = row.get(0)?;
            heads
                .entry(sha)
                .or_default()
                .push((row.get(1)?, row.get(2)?));
        }
        self.stored_heads = heads;
        if self.lists_commits()? {
            return Ok(());
        }
        let recent = &self.deriver.recent;
        let mut asking: HashSet<&str> = HashSet::new();
        for d in deployments {
            let mut stack = vec![d.sha.as_str()];
            while let Some(sha) = stack.pop() {
                if asking.len() > MAX_WALK || !asking.insert(sha) {
                    continue;
                }
                if let Some(commit) = recent.get(&d.repo, sha)
                    && commit.committed_at >= tail.finished_at
                {
                    stack.extend(commit.parents.iter().map(String::as_str));
                }
            }
        }
        let asking: Vec<String> = asking.into_iter().map(str::to_owned).collect();
        self.ask(asking)
    }

    /// Whether `sha` is the head of a stored deployment of the service: `Some` with
    /// whether `repo`'s graph stores it (`None` when only a deployment of another
    /// repository has it).
    /// Only after [`Planner::prefetch`], which asks about every appended sha.
    fn head_in_graph(&self, sha: &str, repo: &str) -> Option<Option<bool>> {
        let rows = self.stored_heads.get(sha)?;
        Some(
            rows.iter()
                .find(|(r, _)| r.as_deref() == Some(repo))
                .map(|(_, in_graph)| *in_graph),
        )
    }

    fn recent(&self, repo: &str, sha: &str) -> &Commit {
        self.deriver
            .recent
            .get(repo, sha)
            .expect("a walked commit is a recent one")
    }

    /// The commits reachable from `head` on `repo`'s graph that no walk of the
    /// service reached, and whether the walk met `watched` (a commit it reached);
    /// `None` when that takes more than the recent commits (or more of them than
    /// [`MAX_WALK`]).
    ///
    /// Whether a commit was reached is read from the database, for many at once: the
    /// walk first goes past every commit it has not asked about, except those
    /// committed before `horizon`, which are probably reached; it then asks about all
    /// it met, and walks again, until it meets none it has not asked about.
    fn walk(
        &mut self,
        repo: &str,
        head: &str,
        watched: Option<&str>,
        horizon: i64,
    ) -> Result<Option<(Vec<String>, bool)>, QueryError> {
        if self.lists_commits()? {
            return Ok(None);
        }
        let recent = &self.deriver.recent;
        if let Some(tip) = watched {
            self.reached.insert(tip.to_owned(), true);
        }
        let parents = |sha: &str| recent.get(repo, sha).map(|c| c.parents.as_slice());
        loop {
            let mut asking: Vec<String> = Vec::new();
            // Stops where this plan's walks or the service's did, and, until asked
            // about, at commits probably reached (asking about every commit met).
            let stops = |sha: &str| {
                if self.added.contains(sha) {
                    return true;
                }
                match self.reached.get(sha) {
                    Some(reached) => *reached,
                    None => {
                        asking.push(sha.to_owned());
                        recent
                            .get(repo, sha)
                            .is_none_or(|c| c.committed_at < horizon)
                    }
                }
            };
            let (found, met) = walk(parents, head, stops, watched);
            if found.len() > MAX_WALK {
                return Ok(None);
            }
            if asking.is_empty() {
                if found.iter().any(|sha| recent.get(repo, sha).is_none()) {
                    return Ok(None);
                }
                return Ok(Some((found, met)));
            }
            asking.sort_unstable();
            asking.dedup();
            self.ask(asking)?;
        }
    }

    /// Asks which of `shas` the service's walks reached, and remembers the answers.
    fn ask(&mut self, shas: Vec<String>) -> Result<(), QueryError> {
        let answer = self.reached(&shas)?;
        for sha in shas {
            let was = answer.contains(&sha);
            self.reached.insert(sha, was);
        }
        Ok(())
    }

    /// Which of `shas` the service's walks reached: its heads, its change sets and
    /// `walk_reached` (exact for a service no deployment of which lists commits).
    fn reached(&self, shas: &[String]) -> Result<HashSet<String>, QueryError> {
        crate::temp::set_list(
            self.conn,
            "walk_candidates",
            "sha",
            shas.iter().map(String::as_str),
        )?;
        let mut stmt = self
            .conn
            .prepare_cached(include_str!("../sql/walk_reached.sql"))?;
        let reached = stmt
            .query_map(params![self.service], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(reached)
    }

    fn lists_commits(&mut self) -> Result<bool, QueryError> {
        if let Some(listed) = self.listed {
            return Ok(listed);
        }
        let listed = self.conn.query_row(
            "SELECT count(*) > 0 FROM deployments WHERE service = ? AND has_commit_list",
            params![self.service],
            |r| r.get(0),
        )?;
        self.listed = Some(listed);
        Ok(listed)
    }

    /// The service's `environment_heads` rows after `new` (in service order), `last`
    /// being its newest production deployment after them: `Some(None)` when they do
    /// not change, `None` when computing them takes the whole graph.
    fn heads(
        &mut self,
        new: &[New],
        last: Option<&Fact>,
    ) -> Result<Option<Option<Vec<Head>>>, QueryError> {
        if new.is_empty() {
            return Ok(Some(None));
        }
        let mut stmt = self
            .conn
            .prepare_cached(include_str!("../sql/service_heads.sql"))?;
        let mut heads: Vec<Head> = stmt
            .query_map(params![self.service], |r| {
                Ok(Head {
                    environment: r.get(0)?,
                    production: r.get(1)?,
                    deployment_id: r.get(2)?,
                    sha: r.get(3)?,
                    finished_at: r.get(4)?,
                    repo: r.get(5)?,
                    commits_ahead: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let before = heads.clone();
        let settings = &self.deriver.settings;
        let mut changed: HashSet<Option<String>> = HashSet::new();
        for d in new {
            let row = Head {
                environment: d.environment.clone(),
                production: settings.is_production(d.environment.as_deref()),
                deployment_id: d.id.clone(),
                sha: d.sha.clone(),
                finished_at: d.finished_at,
                repo: Some(d.repo.clone()),
                commits_ahead: None,
            };
            match heads.iter_mut().find(|h| h.environment == d.environment) {
                Some(h) if (h.finished_at, &h.deployment_id) > (d.finished_at, &d.id) => continue,
                Some(h) => *h = row,
                None => heads.push(row),
            }
            changed.insert(d.environment.clone());
        }
        if changed.is_empty() {
            return Ok(Some(None));
        }
        let production = heads
            .iter()
            .filter(|h| h.production)
            .max_by(|a, b| {
                (a.finished_at, &a.deployment_id).cmp(&(b.finished_at, &b.deployment_id))
            })
            .cloned();
        let production_changed = production
            .as_ref()
            .is_some_and(|p| changed.contains(&p.environment));
        for h in heads.iter_mut() {
            if h.production || !(production_changed || changed.contains(&h.environment)) {
                continue;
            }
            let ahead = match (&production, last) {
                (Some(p), Some(last)) if p.repo == h.repo && last.sha_in_graph => {
                    // What production reached is all the walks reached.
                    if last.id != p.deployment_id || last.reach_tip.as_ref() != Some(&p.sha) {
                        return Ok(None);
                    }
                    let (sha, repo) = (h.sha.clone(), p.repo.clone().unwrap_or_default());
                    match self.ahead(&repo, &sha, p)? {
                        Some(ahead) => ahead,
                        None => return Ok(None),
                    }
                }
                (Some(p), _) if p.repo == h.repo => {
                    if last.is_none_or(|l| l.id != p.deployment_id) {
                        return Ok(None);
                    }
                    // Production's sha is not a commit of the graph.
                    None
                }
                _ => None,
            };
            h.commits_ahead = ahead;
        }
        Ok(Some((heads != before).then_some(heads)))
    }

    /// How many commits `sha` has on `repo`'s graph that the newest production
    /// deployment lacks, when every commit reached is its ancestor: `Some(None)` when
    /// `sha` is not a stored commit, `None` when that takes the whole graph.
    fn ahead(
        &mut self,
        repo: &str,
        sha: &str,
        production: &Head,
    ) -> Result<Option<Option<i32>>, QueryError> {
        let walked = self.walk(repo, sha, Some(&production.sha), production.finished_at)?;
        let Some((found, _)) = walked else {
            return Ok(None);
        };
        if !found.is_empty() {
            return Ok(Some(Some(found.len() as i32)));
        }
        let missing: bool = self.conn.query_row(
            "SELECT count(*) > 0 FROM walk_missing WHERE service = ? AND sha = ?",
            params![self.service, sha],
            |r| r.get(0),
        )?;
        Ok(Some((!missing).then_some(0)))
    }
}
