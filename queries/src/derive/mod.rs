//! Derived facts (SPEC §3), kept up to date by the writer's settler: a payment brings
//! them up to date with what the batches since the last one wrote, and every read
//! waits for the payment that covers what it was answered, so reads stay cheap.
//!
//! Results depend only on the stored events. A service is recomputed whole from its
//! stored deployments and the stored commit graph, unless all that changed is rows
//! the facts can be extended with (`append.rs`: a deployment after every stored one
//! of its service, commits no walk has reached, new incidents); those extensions give
//! what recomputing whole gives, which the tests check after every batch, so arrival
//! order cannot leak into the numbers.

mod append;
mod sequence;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use duckdb::types::{TimeUnit, Value};
use duckdb::{Connection, params};
use shiplog_model::{Change, EventId, RepoName, ServiceName, Settings};

use append::RecentCommits;
use sequence::walk_new;
pub use sequence::{
    Commit, DeploymentFacts, DeploymentInput, Graph, Kind, Walked, derive_sequence, walk_sequence,
};

use crate::QueryError;
use crate::temp::{set_list, set_names};

/// Bumped when the derivation itself changes, so stored facts are recomputed.
const DERIVATION_VERSION: u32 = 5;

/// What a payment of derived facts owes: what the batches since the last one wrote.
#[derive(Debug, Clone, Copy)]
pub struct Owed<'a> {
    /// Services to recompute whole.
    pub services: &'a BTreeSet<ServiceName>,
    /// Repositories whose stored commits changed in place: every service deploying
    /// one is recomputed whole.
    pub repos: &'a BTreeSet<RepoName>,
    /// Commits stored for the first time, as stored.
    pub commits: &'a [Change],
    /// `(service, id)` of deployments stored for the first time.
    pub deployments: &'a [(ServiceName, EventId)],
    /// `(service, id)` of incidents stored for the first time.
    pub incidents: &'a [(ServiceName, EventId)],
}

/// What a payment did: how many services it recomputed whole, and how many it
/// extended with appended deployments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Payment {
    pub recomputed: usize,
    pub extended: usize,
}

/// Keeps derived facts up to date with what batches wrote.
#[derive(Debug, Clone)]
pub struct Deriver {
    settings: Settings,
    /// Commits stored since this deriver started paying, for the walks of appended
    /// deployments (the stored graph is not read by sha: each lookup is a scan).
    recent: RecentCommits,
}

impl Deriver {
    pub fn new(settings: Settings) -> Deriver {
        Deriver {
            settings,
            recent: RecentCommits::default(),
        }
    }

    /// What the derived tables depend on besides the events: a change recomputes all.
    fn fingerprint(&self) -> String {
        let repos: Vec<(&String, &Option<String>, &Vec<String>)> = self
            .settings
            .services
            .iter()
            .map(|(s, c)| (s, &c.repo, &c.paths))
            .collect();
        format!(
            "v{DERIVATION_VERSION} production={:?} window={} multi_region={:?} repos={repos:?}",
            self.settings.production_environments(),
            self.settings.attribution_window_hours,
            self.settings.multi_region_window_hours
        )
    }

    /// Recomputes everything when the settings or the derivation changed since the
    /// derived tables were written (a new `production_environments`, say).
    pub fn ensure_current(&self, conn: &Connection) -> Result<bool, QueryError> {
        let stored: Option<String> =
            conn.query_row("SELECT max(fingerprint) FROM derivation_state", [], |r| {
                r.get(0)
            })?;
        let current = self.fingerprint();
        if stored.as_deref() == Some(current.as_str()) {
            return Ok(false);
        }
        conn.execute_batch("BEGIN TRANSACTION")?;
        let result = self.refresh_all(conn).and_then(|()| {
            conn.execute("DELETE FROM derivation_state", [])?;
            conn.execute("INSERT INTO derivation_state VALUES (?)", params![current])?;
            Ok(())
        });
        match result {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                conn.execute_batch("ROLLBACK")?;
                return Err(e);
            }
        }
        Ok(true)
    }

    /// Recomputes every service from scratch (in the caller's transaction).
    pub fn refresh_all(&self, conn: &Connection) -> Result<(), QueryError> {
        conn.execute_batch(
            "DELETE FROM deploy_facts; DELETE FROM change_set_members; DELETE FROM lead_time_samples;
             DELETE FROM incident_attribution; DELETE FROM deployment_outcomes;
             DELETE FROM environment_heads; DELETE FROM walk_reached; DELETE FROM walk_missing;",
        )?;
        let services: BTreeSet<String> =
            query_strings(conn, include_str!("../sql/all_services.sql"), [])?;
        self.derive(conn, &services, &[], &[])
    }

    /// Recomputes the services in `services`, and those deploying one of `repos`,
    /// then the attribution and outcomes they affect (in the caller's transaction).
    pub fn refresh(
        &self,
        conn: &Connection,
        services: &BTreeSet<ServiceName>,
        repos: &BTreeSet<RepoName>,
    ) -> Result<(), QueryError> {
        let full = self.services_deploying(conn, services, repos)?;
        self.derive(conn, &full, &[], &[])
    }

    /// Brings the derived facts up to date with what `owed` says was written (in the
    /// caller's transaction): extends them where only appended rows changed them, and
    /// recomputes the other services whole.
    pub fn pay(&mut self, conn: &Connection, owed: Owed<'_>) -> Result<Payment, QueryError> {
        for commit in owed.commits {
            self.recent.add(commit);
        }
        for repo in owed.repos {
            self.recent.forget_repo(repo.as_str());
        }
        let mut full = self.services_deploying(conn, owed.services, owed.repos)?;
        full.extend(self.services_reaching(conn, owed.commits)?);

        let mut by_service: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (service, id) in owed.deployments {
            by_service
                .entry(service.as_str())
                .or_default()
                .push(id.as_str());
        }
        by_service.retain(|service, _| !full.contains(*service));
        let ids: Vec<&str> = by_service.values().flatten().copied().collect();
        let services: Vec<&str> = by_service.keys().copied().collect();
        let stored = append::Stored::load(conn, &ids, &services)?;
        let mut plans = Vec::new();
        for (service, ids) in by_service {
            match append::plan(self, conn, &stored, service, &ids)? {
                Some(plan) => plans.push(plan),
                None => {
                    full.insert(service.to_owned());
                }
            }
        }
        let incidents: Vec<&str> = owed
            .incidents
            .iter()
            .filter(|(service, _)| !full.contains(service.as_str()))
            .map(|(_, id)| id.as_str())
            .collect();
        self.derive(conn, &full, &plans, &incidents)?;
        Ok(Payment {
            recomputed: full.len(),
            extended: plans.len(),
        })
    }

    /// `services`, and those whose change sets a commit changed in one of `repos` can
    /// change.
    fn services_deploying(
        &self,
        conn: &Connection,
        services: &BTreeSet<ServiceName>,
        repos: &BTreeSet<RepoName>,
    ) -> Result<BTreeSet<String>, QueryError> {
        let mut refresh: BTreeSet<String> = services.iter().map(|s| s.to_string()).collect();
        for repo in repos {
            refresh.extend(query_strings(
                conn,
                include_str!("../sql/services_of_repo.sql"),
                params![repo.as_str()],
            )?);
            let configured = self
                .settings
                .services
                .iter()
                .filter(|(_, c)| c.repo.as_deref() == Some(repo.as_str()));
            refresh.extend(configured.map(|(s, _)| s.clone()));
        }
        Ok(refresh)
    }

    /// The services whose facts newly stored `commits` change: those whose walks
    /// stopped at one of them (not stored until now), and those with a deployment
    /// that names no repository and deploys one of their shas (it may resolve to
    /// another repository now).
    fn services_reaching(
        &self,
        conn: &Connection,
        commits: &[Change],
    ) -> Result<BTreeSet<String>, QueryError> {
        if commits.is_empty() {
            return Ok(BTreeSet::new());
        }
        set_list(
            conn,
            "appended_commits",
            "sha",
            commits.iter().map(|c| c.sha.as_str()),
        )?;
        query_strings(conn, include_str!("../sql/services_reaching.sql"), [])
    }

    /// Recomputes `full` whole, writes the extensions `plans` computed, then
    /// attributes the incidents either can move and the new `incidents`, and judges
    /// the deployments whose attribution moved.
    fn derive(
        &self,
        conn: &Connection,
        full: &BTreeSet<String>,
        plans: &[append::Plan],
        incidents: &[&str],
    ) -> Result<(), QueryError> {
        if full.is_empty() && plans.is_empty() && incidents.is_empty() {
            return Ok(());
        }
        set_names(conn, "refresh_services", full.iter().map(String::as_str))?;
        let mut repos = Repos::default();
        for service in full {
            self.derive_service(conn, service, &mut repos)?;
        }
        append::write(conn, plans)?;

        if full.is_empty() {
            conn.execute_batch("CREATE OR REPLACE TEMP TABLE incidents_to_attribute (id VARCHAR)")?;
        } else {
            conn.execute_batch(include_str!("../sql/incidents_to_attribute.sql"))?;
        }
        conn.execute_batch(include_str!("../sql/appended_lists.sql"))?;
        let mut deployments =
            conn.appender_to_catalog_and_db("appended_deployments", "temp", "main")?;
        let mut shas = conn.appender_to_catalog_and_db("appended_shas", "temp", "main")?;
        for plan in plans {
            for (id, service, finished_at) in plan.deployments() {
                let at = Value::Timestamp(TimeUnit::Microsecond, finished_at);
                deployments.append_row(params![id, service, at])?;
            }
            for (service, sha) in plan.shas() {
                shas.append_row(params![service, sha])?;
            }
        }
        deployments.flush()?;
        shas.flush()?;
        drop((deployments, shas));
        set_list(conn, "appended_incidents", "id", incidents.iter().copied())?;
        conn.execute(
            include_str!("../sql/appended_incidents.sql"),
            params![i64::from(self.settings.attribution_window_hours)],
        )?;
        let mut outcome = full.clone();
        outcome.extend(plans.iter().map(|p| p.service().to_owned()));
        self.attribute(conn, &mut outcome)?;
        set_names(conn, "outcome_services", outcome.iter().map(String::as_str))?;
        conn.execute_batch(include_str!("../sql/outcomes.sql"))?;
        Ok(())
    }

    /// Attributes the incidents in `incidents_to_attribute` again (SPEC §3.4), adding
    /// to `outcome` the services of the deployments they were and are attributed to.
    fn attribute(
        &self,
        conn: &Connection,
        outcome: &mut BTreeSet<String>,
    ) -> Result<(), QueryError> {
        // Most payments move no attribution (a deployment with no incident near it),
        // and the four statements scan whole tables even then: ~25 of a
        // one-deployment payment's ~110 ms at 50 services × 2 years.
        let to_attribute: i64 =
            conn.query_row("SELECT count(*) FROM incidents_to_attribute", [], |r| {
                r.get(0)
            })?;
        if to_attribute == 0 {
            return Ok(());
        }
        let targets = include_str!("../sql/attribution_targets.sql");
        outcome.extend(query_strings(conn, targets, [])?);
        conn.execute_batch(include_str!("../sql/clear_attribution.sql"))?;
        conn.execute(
            include_str!("../sql/attribution.sql"),
            params![i64::from(self.settings.attribution_window_hours)],
        )?;
        outcome.extend(query_strings(conn, targets, [])?);
        Ok(())
    }

    fn derive_service(
        &self,
        conn: &Connection,
        service: &str,
        repos: &mut Repos,
    ) -> Result<(), QueryError> {
        let (inputs, heads) = self.load_deployments(conn, service)?;
        for repo in inputs.iter().filter_map(|d| d.repo.as_ref()) {
            if !repos.graphs.contains_key(repo) {
                repos.graphs.insert(repo.clone(), load_graph(conn, repo)?);
            }
        }
        let Walked {
            mut facts,
            reachable,
            missing,
        } = walk_sequence(&inputs, &repos.graphs);
        self.keep_paths(conn, service, &inputs, &mut facts, &mut repos.files)?;
        write_walk_state(conn, service, &inputs, &facts, &reachable, &missing)?;

        conn.execute(
            "DELETE FROM deploy_facts WHERE service = ?",
            params![service],
        )?;
        conn.execute(
            "DELETE FROM change_set_members WHERE service = ?",
            params![service],
        )?;
        conn.execute(
            "DELETE FROM lead_time_samples WHERE service = ?",
            params![service],
        )?;
        let at = |micros: i64| Value::Timestamp(TimeUnit::Microsecond, micros);
        let mut deploys = conn.appender("deploy_facts")?;
        let mut members = conn.appender("change_set_members")?;
        let mut samples = conn.appender("lead_time_samples")?;
        for (position, (d, f)) in inputs.iter().zip(&facts).enumerate() {
            let rollback = f.rolled_back_by.map(|r| &inputs[r]);
            let graph = d.repo.as_ref().and_then(|r| repos.graphs.get(r));
            deploys.append_row(params![
                d.id,
                service,
                d.sha,
                at(d.finished_at),
                position as i32,
                f.kind.as_str(),
                f.change_set.len() as i32,
                rollback.map(|r| r.id.as_str()),
                rollback.map_or(Value::Null, |r| at(r.finished_at)),
                d.repo,
                graph.is_some_and(|g| g.contains_key(&d.sha)),
                f.reach_tip
            ])?;
            for sha in &f.change_set {
                members.append_row(params![d.id, service, sha])?;
            }
            for (sha, hours) in &f.samples {
                let pr = graph.and_then(|g| g.get(sha));
                let time = |t: Option<i64>| t.map_or(Value::Null, at);
                samples.append_row(params![
                    d.id,
                    service,
                    at(d.finished_at),
                    sha,
                    hours,
                    d.repo,
                    time(pr.and_then(|c| c.first_commit_at)),
                    time(pr.and_then(|c| c.opened_at)),
                    time(pr.and_then(|c| c.merged_at))
                ])?;
            }
        }
        deploys.flush()?;
        members.flush()?;
        samples.flush()?;
        write_heads(conn, service, &heads, &repos.graphs)
    }

    /// A monorepo service's `paths` (SPEC §7): its walked change sets keep the commits
    /// that touch a file under one of them, and those whose files no source listed
    /// (the git import and the backfill do not). An explicit `commits` list is the
    /// sender's word and stays whole.
    fn keep_paths(
        &self,
        conn: &Connection,
        service: &str,
        inputs: &[DeploymentInput],
        facts: &mut [DeploymentFacts],
        files_by_repo: &mut HashMap<String, HashMap<String, Vec<String>>>,
    ) -> Result<(), QueryError> {
        let Some(prefixes) = self
            .settings
            .services
            .get(service)
            .map(|s| &s.paths)
            .filter(|p| !p.is_empty())
        else {
            return Ok(());
        };
        for (input, fact) in inputs.iter().zip(facts.iter_mut()) {
            let Some(repo) = input.repo.as_deref().filter(|_| input.commits.is_none()) else {
                continue;
            };
            if !files_by_repo.contains_key(repo) {
                files_by_repo.insert(repo.to_owned(), load_files(conn, repo)?);
            }
            let files = &files_by_repo[repo];
            let keep = |sha: &str| {
                files
                    .get(sha)
                    .is_none_or(|files| files.iter().any(|f| under_any(f, prefixes)))
            };
            fact.change_set.retain(|sha| keep(sha));
            fact.samples.retain(|(sha, _)| keep(sha));
        }
        Ok(())
    }

    /// The service's successful production deployments, in service order, and the
    /// newest successful deployment of each environment. With
    /// `multi_region_window_hours`, a release's later regions are left out
    /// ([`Releases`]); they stay their environments' heads.
    fn load_deployments(
        &self,
        conn: &Connection,
        service: &str,
    ) -> Result<(Vec<DeploymentInput>, Vec<Head>), QueryError> {
        let mut lists: HashMap<String, Vec<(String, Option<i64>)>> = HashMap::new();
        let mut stmt = conn.prepare(include_str!("../sql/service_commit_lists.sql"))?;
        let mut rows = stmt.query(params![service])?;
        while let Some(row) = rows.next()? {
            lists
                .entry(row.get(0)?)
                .or_default()
                .push((row.get(1)?, row.get(2)?));
        }
        let mut stmt = conn.prepare(include_str!("../sql/service_deployments.sql"))?;
        let mut rows = stmt.query(params![self.settings.repo_of(service), service])?;
        let mut inputs = Vec::new();
        let mut releases = Releases::new(self.settings.multi_region_window_hours);
        // In service order, so each environment's last one is its newest.
        let mut heads: BTreeMap<Option<String>, Head> = BTreeMap::new();
        while let Some(row) = rows.next()? {
            let environment: Option<String> = row.get(3)?;
            let status: Option<String> = row.get(4)?;
            if !shiplog_model::succeeded(status.as_deref()) {
                continue;
            }
            let id: String = row.get(0)?;
            let (sha, finished_at, repo): (String, i64, Option<String>) =
                (row.get(1)?, row.get(2)?, row.get(5)?);
            let production = self.settings.is_production(environment.as_deref());
            let another_region = production
                && releases.reaches_another_region(&sha, environment.as_deref(), finished_at);
            heads.insert(
                environment.clone(),
                Head {
                    environment,
                    production,
                    deployment_id: id.clone(),
                    sha: sha.clone(),
                    finished_at,
                    repo: repo.clone(),
                    commits_ahead: None,
                },
            );
            if !production || another_region {
                continue;
            }
            let has_list: bool = row.get(6)?;
            let commits = has_list.then(|| lists.remove(&id).unwrap_or_default());
            inputs.push(DeploymentInput {
                sha,
                finished_at,
                repo,
                commits,
                id,
            });
        }
        Ok((inputs, heads.into_values().collect()))
    }
}

/// The releases of one service seen so far, for `multi_region_window_hours`: each sha's
/// first production deployment (its finish) and the production environments the
/// release has reached since, compared case-insensitively (none named is the default).
struct Releases {
    window_us: Option<i64>,
    by_sha: HashMap<String, (i64, Vec<String>)>,
}

impl Releases {
    fn new(window_hours: Option<u32>) -> Releases {
        Releases {
            window_us: window_hours.map(|h| i64::from(h) * 3_600_000_000),
            by_sha: HashMap::new(),
        }
    }

    /// Whether this production deployment (taken in service order) is a release
    /// reaching one more region: the sha's release started at most the window before,
    /// in other environments only. Otherwise it starts the sha's release anew (a sha
    /// deployed again after the window is a redeploy or a rollback, as without the
    /// option), or is a redeploy in a region the release already reached.
    fn reaches_another_region(
        &mut self,
        sha: &str,
        environment: Option<&str>,
        finished_at: i64,
    ) -> bool {
        let Some(window) = self.window_us else {
            return false;
        };
        let environment = environment
            .unwrap_or(Settings::DEFAULT_ENVIRONMENT)
            .to_lowercase();
        match self.by_sha.get_mut(sha) {
            Some((first, reached)) if finished_at - *first <= window => {
                if reached.contains(&environment) {
                    return false;
                }
                reached.push(environment);
                true
            }
            _ => {
                self.by_sha
                    .insert(sha.to_owned(), (finished_at, vec![environment]));
                false
            }
        }
    }
}

/// Replaces `service`'s rows of `walk_reached` (the commits `reachable` holds that
/// are neither a head nor in the change set of a deployment without a list) and of
/// `walk_missing` (`0007_walk_state.sql`).
fn write_walk_state(
    conn: &Connection,
    service: &str,
    inputs: &[DeploymentInput],
    facts: &[DeploymentFacts],
    reachable: &HashSet<String>,
    missing: &HashSet<String>,
) -> Result<(), QueryError> {
    conn.execute(
        "DELETE FROM walk_reached WHERE service = ?",
        params![service],
    )?;
    conn.execute(
        "DELETE FROM walk_missing WHERE service = ?",
        params![service],
    )?;
    let mut said: HashSet<&str> = inputs.iter().map(|d| d.sha.as_str()).collect();
    for (input, fact) in inputs.iter().zip(facts) {
        // A listed change set is the sender's word, not what a walk reached.
        if input.commits.is_none() {
            said.extend(fact.change_set.iter().map(String::as_str));
        }
    }
    let mut reached = conn.appender("walk_reached")?;
    for sha in reachable.iter().filter(|s| !said.contains(s.as_str())) {
        reached.append_row(params![service, sha])?;
    }
    reached.flush()?;
    let mut unstored = conn.appender("walk_missing")?;
    for sha in missing {
        unstored.append_row(params![service, sha])?;
    }
    Ok(unstored.flush()?)
}

/// An environment's newest successful deployment (an `environment_heads` row).
#[derive(Debug, Clone, PartialEq)]
struct Head {
    environment: Option<String>,
    production: bool,
    deployment_id: String,
    sha: String,
    finished_at: i64,
    repo: Option<String>,
    /// How many commits it has that production lacks (see `write_heads`).
    commits_ahead: Option<i32>,
}

/// Replaces `service`'s rows of `environment_heads`: each pre-production head with
/// the commits it has that the newest production head lacks, where both are commits
/// of the same repository's stored graph (production's graph is loaded, as its
/// deployments are the derivation's input).
fn write_heads(
    conn: &Connection,
    service: &str,
    heads: &[Head],
    graphs: &HashMap<String, Graph>,
) -> Result<(), QueryError> {
    conn.execute(
        "DELETE FROM environment_heads WHERE service = ?",
        params![service],
    )?;
    let production = heads
        .iter()
        .filter(|h| h.production)
        .max_by(|a, b| (a.finished_at, &a.deployment_id).cmp(&(b.finished_at, &b.deployment_id)));
    let on_graph = |h: &Head| {
        let graph = graphs.get(h.repo.as_ref()?)?;
        graph.contains_key(&h.sha).then_some(graph)
    };
    // Everything production runs, walked once for all pre-production heads of its
    // repository, and not at all when there is none.
    let compared = |p: &Head| heads.iter().any(|h| !h.production && h.repo == p.repo);
    let deployed: Option<(&Head, &Graph, HashSet<String>)> = production.and_then(|p| {
        let graph = on_graph(p).filter(|_| compared(p))?;
        Some((
            p,
            graph,
            walk_new(graph, &p.sha, &HashSet::new())
                .into_iter()
                .collect(),
        ))
    });
    let mut appender = conn.appender("environment_heads")?;
    for head in heads {
        let ahead = match &deployed {
            Some((p, graph, deployed)) if !head.production && head.repo == p.repo => {
                on_graph(head).map(|_| walk_new(graph, &head.sha, deployed).len() as i32)
            }
            _ => None,
        };
        appender.append_row(params![
            service,
            head.environment,
            head.production,
            head.deployment_id,
            head.sha,
            Value::Timestamp(TimeUnit::Microsecond, head.finished_at),
            head.repo,
            ahead
        ])?;
    }
    Ok(appender.flush()?)
}

/// What one refresh reads of each repository, once for all the services deploying it.
#[derive(Debug, Default)]
struct Repos {
    graphs: HashMap<String, Graph>,
    /// The listed files of its commits, read only for services with `paths`.
    files: HashMap<String, HashMap<String, Vec<String>>>,
}

/// Whether `file` is one of `prefixes` or lies in a folder one of them names
/// (`services/checkout` and `services/checkout/` both hold `services/checkout/a.go`,
/// not `services/checkout-v2/a.go`).
fn under_any(file: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|prefix| {
        let folder = prefix.trim_end_matches('/');
        file == folder
            || file
                .strip_prefix(folder)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The listed files of a repository's commits, by sha (commits without a list are
/// absent).
fn load_files(conn: &Connection, repo: &str) -> Result<HashMap<String, Vec<String>>, QueryError> {
    let mut stmt = conn.prepare(include_str!("../sql/repo_files.sql"))?;
    let mut rows = stmt.query(params![repo])?;
    let mut files = HashMap::new();
    while let Some(row) = rows.next()? {
        let paths: String = row.get(1)?;
        let list = paths
            .split(shiplog_model::event::PATH_SEPARATOR)
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        files.insert(row.get(0)?, list.collect());
    }
    Ok(files)
}

/// A repository's stored commit graph.
pub(crate) fn load_graph(conn: &Connection, repo: &str) -> Result<Graph, QueryError> {
    let mut stmt = conn.prepare(include_str!("../sql/repo_graph.sql"))?;
    let mut rows = stmt.query(params![repo])?;
    let mut graph = Graph::new();
    while let Some(row) = rows.next()? {
        let parents: Option<String> = row.get(1)?;
        let parents = parents.map(|p| {
            p.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        });
        graph.insert(
            row.get(0)?,
            Commit {
                parents: parents.unwrap_or_default(),
                committed_at: row.get(2)?,
                first_commit_at: row.get(3)?,
                opened_at: row.get(4)?,
                merged_at: row.get(5)?,
            },
        );
    }
    Ok(graph)
}

fn query_strings<P: duckdb::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> Result<BTreeSet<String>, QueryError> {
    let mut stmt = conn.prepare(sql)?;
    let names = stmt
        .query_map(params, |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

#[cfg(test)]
pub(crate) mod tests;
