//! Writing one batch of deliveries in the caller's transaction: the raw log first
//! (repeats skipped), then the typed tables, folding repeats of one key in batch
//! order and merging into stored rows field by field (SPEC §8).

use std::collections::{BTreeSet, HashMap, HashSet};

use duckdb::types::{TimeUnit, Value};
use duckdb::{Appender, AppenderParams, Connection, ToSql, params};
use shiplog_model::event::EventKey;
use shiplog_model::event::{PARENT_SEPARATOR, PATH_SEPARATOR};
use shiplog_model::{
    Annotation, Build, Change, Deployment, Event, EventId, Incident, RepoName, ServiceName,
    Timestamp,
};

use super::known::{KnownKeys, Table};
use super::stored_name;

/// One accepted delivery: what goes into the raw log and the typed events it maps to.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Where it came from: `api`, `import`, `github`, …
    pub source: String,
    /// The typed event's `type`, or the sender's event name.
    pub event_type: String,
    /// The dedupe key: the sender's delivery id, or a content hash for typed events.
    pub delivery_key: String,
    pub received_at: Timestamp,
    /// The headers that matter, as JSON text.
    pub headers: Option<String>,
    /// The body as received.
    pub body: String,
    pub events: Vec<Event>,
    /// Why it maps to no typed event (the adapter's `skipped` reason), kept in the raw
    /// log's `unmapped`; `None` when it maps to events, or brings none by design (a
    /// sender's test delivery, a typed event).
    pub unmapped: Option<String>,
    /// Already in the raw log and mapped again (`shiplog replay`): its events are
    /// merged as if just arrived, and the log is left as it is but for `unmapped`.
    pub replayed: bool,
}

/// What a batch can change in the derived facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Services whose deployments or incidents changed (old and new service names):
    /// recomputed whole.
    pub services: BTreeSet<ServiceName>,
    /// Repositories whose stored commits changed: every service deploying one is
    /// recomputed whole.
    pub repos: BTreeSet<RepoName>,
    /// Rows stored for the first time, which the derivation may extend its facts with
    /// instead of recomputing the services whole.
    pub appended: Appended,
}

/// Rows a batch stored under keys that were certainly new (see [`Staging::claim`]).
/// Held in memory only: `derivation_pending` records them as their services and
/// repositories, so a restart recomputes those whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Appended {
    /// Commits, as stored (with their pull request, whose key was new as well).
    pub commits: Vec<Change>,
    /// `(service, id)` of deployments.
    pub deployments: Vec<(ServiceName, EventId)>,
    /// `(service, id)` of incidents.
    pub incidents: Vec<(ServiceName, EventId)>,
}

impl Appended {
    pub fn len(&self) -> usize {
        self.commits.len() + self.deployments.len() + self.incidents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How many appended rows a debt holds before it names their services and
/// repositories instead (a bulk load recomputes them whole once, at its end).
const MAX_APPENDED: usize = 50_000;

impl Touched {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.repos.is_empty() && self.appended.is_empty()
    }

    pub fn extend(&mut self, other: Touched) {
        self.services.extend(other.services);
        self.repos.extend(other.repos);
        self.appended.commits.extend(other.appended.commits);
        self.appended.deployments.extend(other.appended.deployments);
        self.appended.incidents.extend(other.appended.incidents);
        if self.appended.len() > MAX_APPENDED {
            *self = self.coarse();
        }
    }

    /// The same debt as services and repositories only, as `derivation_pending`
    /// records it.
    pub fn coarse(&self) -> Touched {
        let Appended {
            commits,
            deployments,
            incidents,
        } = &self.appended;
        let mut services = self.services.clone();
        services.extend(deployments.iter().chain(incidents).map(|(s, _)| s.clone()));
        let mut repos = self.repos.clone();
        repos.extend(commits.iter().map(|c| c.repo.clone()));
        Touched {
            services,
            repos,
            appended: Appended::default(),
        }
    }
}

/// Which deliveries of a batch were new (the rest were repeats) and what changed.
#[derive(Debug, Clone, Default)]
pub struct BatchResult {
    pub new: Vec<bool>,
    pub touched: Touched,
}

fn micros(t: Timestamp) -> Value {
    Value::Timestamp(TimeUnit::Microsecond, t.timestamp_micros())
}

fn opt_micros(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, micros)
}

const STAGING_TABLES: [&str; 9] = [
    "stage_raw",
    "stage_unmapped",
    "stage_changes",
    "stage_pull_requests",
    "stage_deployments",
    "stage_deployment_commits",
    "stage_incidents",
    "stage_builds",
    "stage_annotations",
];

/// Where a delivery's key stands against the raw log.
enum Claim {
    /// Certainly not stored: appended straight to the log.
    New,
    /// Possibly stored: in the row with this `seq` when the writer holds the stored
    /// keys, anywhere when it does not (`None`). Staged for `sql/insert_raw.sql`.
    MaybeStored(Option<i64>),
}

/// The writer connection's staging tables (`sql/stage.sql`), created once per
/// connection: rows that may already be stored are appended there, then merged into
/// the keyed tables with one upsert per table that received rows. With the stored
/// keys at hand ([`Staging::for_sole_writer`]), rows that are certainly new are
/// appended straight to their tables instead.
#[derive(Debug)]
pub struct Staging {
    known: Option<KnownKeys>,
}

impl Staging {
    /// Creates the staging tables on `conn` (outside a transaction, so they last as
    /// long as the connection) and empties them. A failed batch leaves them empty too:
    /// its transaction's rollback takes the staged rows with it. Every row is merged.
    pub fn create(conn: &Connection) -> duckdb::Result<Staging> {
        conn.execute_batch(include_str!("sql/stage.sql"))?;
        for table in STAGING_TABLES {
            clear(conn, table)?;
        }
        Ok(Staging { known: None })
    }

    /// Also reads the stored keys, so that certainly new rows skip the upsert. Only
    /// for the connection every write goes through while it lives (the writer's).
    pub fn for_sole_writer(conn: &Connection) -> duckdb::Result<Staging> {
        let mut staging = Staging::create(conn)?;
        let known = KnownKeys::load(conn)?;
        tracing::debug!(keys = known.len(), "stored keys read");
        staging.known = Some(known);
        Ok(staging)
    }

    /// Whether a row with this key is certainly new (it goes straight to its table;
    /// never without the stored keys), remembering the key for the rows after it. A
    /// staged row is stored or found stored by its upsert, so its key is known after
    /// the batch either way.
    fn claim(&mut self, table: Table, first: &str, second: &str) -> bool {
        let Some(known) = &mut self.known else {
            return false;
        };
        let new = !known.may_exist(table, first, second);
        known.insert(table, first, second);
        new
    }

    /// Where a delivery's key stands. A certainly new key is remembered as stored at
    /// `seq` at once; a possible repeat is remembered once its row is stored
    /// ([`Staging::stored`]), so the row it may repeat stays the one it points at.
    fn claim_delivery(&mut self, key: &str, seq: i64) -> Claim {
        let Some(known) = &mut self.known else {
            return Claim::MaybeStored(None);
        };
        match known.delivery_seq(key) {
            Some(stored) => Claim::MaybeStored(Some(stored)),
            None => {
                known.insert_delivery(key, seq);
                Claim::New
            }
        }
    }

    /// Notes deliveries the upsert stored, at their `seq`.
    fn stored(&mut self, key: &str, seq: i64) {
        if let Some(known) = &mut self.known {
            known.insert_delivery(key, seq);
        }
    }

    /// Writes `deliveries` (in arrival order) with raw-log sequence numbers from
    /// `first_seq`. The caller owns the transaction.
    pub fn write(
        &mut self,
        conn: &Connection,
        deliveries: &[Delivery],
        first_seq: i64,
    ) -> duckdb::Result<BatchResult> {
        // A key seen earlier in this batch is a repeat; only first occurrences reach the log.
        let mut seen = HashSet::new();
        let mut candidates = 0;
        let mut new = vec![false; deliveries.len()];
        let mut staged = Vec::new();
        // Each replayed key with its reason now (the last of the key in the batch).
        let mut replayed: Vec<(&str, Option<&str>)> = Vec::new();
        let mut replayed_at: HashMap<&str, usize> = HashMap::new();
        {
            let mut raw = Route::new(conn, "raw_events", "stage_raw");
            for (index, d) in deliveries.iter().enumerate() {
                if d.replayed {
                    let reason = d.unmapped.as_deref();
                    match replayed_at.get(d.delivery_key.as_str()) {
                        Some(&at) => replayed[at].1 = reason,
                        None => {
                            replayed_at.insert(&d.delivery_key, replayed.len());
                            replayed.push((&d.delivery_key, reason));
                        }
                    }
                    continue;
                }
                if !seen.insert(d.delivery_key.as_str()) {
                    continue;
                }
                let seq = first_seq + candidates;
                candidates += 1;
                let received_at = micros(d.received_at);
                let stored_seq;
                let mut row: Vec<&dyn ToSql> = vec![
                    &d.delivery_key,
                    &seq,
                    &d.source,
                    &d.event_type,
                    &received_at,
                    &d.headers,
                    &d.body,
                    &d.unmapped,
                ];
                match self.claim_delivery(&d.delivery_key, seq) {
                    Claim::New => {
                        raw.direct.append(row.as_slice())?;
                        new[index] = true;
                    }
                    Claim::MaybeStored(at) => {
                        stored_seq = at;
                        row.push(&stored_seq);
                        raw.staged.append(row.as_slice())?;
                        staged.push((index, seq));
                    }
                }
            }
            raw.finish()?;
        }
        if !staged.is_empty() {
            let inserted: HashSet<i64> = conn
                .prepare_cached(include_str!("sql/insert_raw.sql"))?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            clear(conn, "stage_raw")?;
            for (index, seq) in staged {
                new[index] = inserted.contains(&seq);
                if new[index] {
                    self.stored(&deliveries[index].delivery_key, seq);
                }
            }
        }
        update_unmapped(conn, &replayed)?;
        let merged: Vec<bool> = deliveries
            .iter()
            .zip(&new)
            .map(|(d, n)| *n || d.replayed)
            .collect();

        let folded = fold(
            deliveries
                .iter()
                .zip(&merged)
                .filter(|(_, n)| **n)
                .flat_map(|(d, _)| d.events.iter().cloned()),
        );
        let touched = self.merge_events(conn, &folded)?;
        Ok(BatchResult { new, touched })
    }

    /// Writes the typed events: certainly new rows straight to their tables, the rest
    /// staged and merged field by field (SPEC §8).
    fn merge_events(&mut self, conn: &Connection, events: &[Event]) -> duckdb::Result<Touched> {
        let mut touched = Touched::default();
        let staged = self.route_events(conn, events, &mut touched)?;
        if staged.deployments + staged.incidents > 0 {
            let mut statement = conn.prepare_cached(include_str!("sql/touched_services.sql"))?;
            let services = statement.query_map([], |row| row.get::<_, String>(0))?;
            for service in services {
                touched
                    .services
                    .insert(stored_name(&service?, ServiceName::parse)?);
            }
        }
        let merge = |rows: usize, sql: &str, table: &'static str| -> duckdb::Result<()> {
            if rows > 0 {
                run(conn, sql)?;
                clear(conn, table)?;
            }
            Ok(())
        };
        merge(
            staged.changes,
            include_str!("sql/merge_changes.sql"),
            "stage_changes",
        )?;
        merge(
            staged.pull_requests,
            include_str!("sql/merge_pull_requests.sql"),
            "stage_pull_requests",
        )?;
        if staged.deployments > 0 {
            run(conn, include_str!("sql/merge_deployments.sql"))?;
            if staged.commit_lists > 0 {
                run(conn, include_str!("sql/clear_deployment_commits.sql"))?;
            }
            merge(
                staged.listed_commits,
                include_str!("sql/insert_deployment_commits.sql"),
                "stage_deployment_commits",
            )?;
            clear(conn, "stage_deployments")?;
        }
        if staged.estimated_open_times > 0 {
            run(conn, include_str!("sql/keep_known_open_times.sql"))?;
        }
        merge(
            staged.incidents,
            include_str!("sql/merge_incidents.sql"),
            "stage_incidents",
        )?;
        merge(
            staged.builds,
            include_str!("sql/merge_builds.sql"),
            "stage_builds",
        )?;
        merge(
            staged.annotations,
            include_str!("sql/merge_annotations.sql"),
            "stage_annotations",
        )?;
        Ok(touched)
    }

    /// Appends each typed event to its table or its staging table (certainly new rows
    /// straight to their table), notes what the new rows touch (the staged ones are
    /// read back by `touched_services.sql`), and returns how many rows were staged.
    fn route_events(
        &mut self,
        conn: &Connection,
        events: &[Event],
        touched: &mut Touched,
    ) -> duckdb::Result<Staged> {
        let mut routes = Routes::new(conn);
        for event in events {
            match event {
                Event::Change(c) => {
                    let new = self.claim(Table::Changes, c.repo.as_str(), c.sha.as_str());
                    let pr_new = c
                        .pr
                        .as_ref()
                        .map(|_| self.claim(Table::PullRequests, c.repo.as_str(), c.sha.as_str()));
                    routes.change(c, new, pr_new, touched)?;
                }
                Event::Deployment(d) => {
                    let new = self.claim(Table::Deployments, d.id.as_str(), "");
                    routes.deployment(d, new, touched)?;
                }
                Event::Incident(i) => {
                    let new = self.claim(Table::Incidents, i.id.as_str(), "");
                    routes.incident(i, new, touched)?;
                }
                Event::Build(b) => {
                    let new = self.claim(Table::Builds, b.id.as_str(), "");
                    routes.build(b, new)?;
                }
                // Few, and read by no derivation: always staged and upserted, so the
                // writer keeps no keys for them.
                Event::Annotation(a) => routes.annotation(a)?,
            }
        }
        routes.finish()
    }
}

/// Writes one batch on a connection that may not have staging tables yet: for
/// one-off writers (tests, tools). The writer keeps a [`Staging`] instead.
pub fn write_batch(
    conn: &Connection,
    deliveries: &[Delivery],
    first_seq: i64,
) -> duckdb::Result<BatchResult> {
    Staging::create(conn)?.write(conn, deliveries, first_seq)
}

/// Sets `unmapped` of replayed deliveries to what their mapping says now: staged,
/// then one update (the Appender only appends).
fn update_unmapped(conn: &Connection, replayed: &[(&str, Option<&str>)]) -> duckdb::Result<()> {
    if replayed.is_empty() {
        return Ok(());
    }
    let mut stage = conn.appender_to_catalog_and_db("stage_unmapped", "temp", "main")?;
    for (key, reason) in replayed {
        stage.append_row(params![key, reason])?;
    }
    stage.flush()?;
    drop(stage);
    run(conn, include_str!("sql/update_unmapped.sql"))?;
    clear(conn, "stage_unmapped")
}

/// Empties a staging table after its merge (a constant name of ours).
fn clear(conn: &Connection, table: &'static str) -> duckdb::Result<()> {
    conn.prepare_cached(&format!("DELETE FROM temp.main.{table}"))?
        .execute([])?;
    Ok(())
}

/// Runs one prepared statement of ours.
fn run(conn: &Connection, sql: &str) -> duckdb::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Folds versions of one key into one, in order, keeping first-seen key order.
fn fold(events: impl Iterator<Item = Event>) -> Vec<Event> {
    let mut order: Vec<Event> = Vec::new();
    let mut index: HashMap<EventKey, usize> = HashMap::new();
    for event in events {
        match index.get(&event.key()) {
            Some(&i) => {
                let stored = order[i].clone();
                order[i] = stored.merge(event).expect("same key, same kind");
            }
            None => {
                index.insert(event.key(), order.len());
                order.push(event);
            }
        }
    }
    order
}

/// Rows staged for the upsert in each staging table.
#[derive(Debug, Default)]
struct Staged {
    changes: usize,
    pull_requests: usize,
    deployments: usize,
    commit_lists: usize,
    listed_commits: usize,
    incidents: usize,
    /// Staged incidents whose `opened_at` is a stand-in.
    estimated_open_times: usize,
    builds: usize,
    annotations: usize,
}

/// An appender opened on the first row: creating one costs about a statement, and
/// most batches of single events leave most tables unused.
struct Rows<'c> {
    conn: &'c Connection,
    table: &'static str,
    temp: bool,
    appender: Option<Appender<'c>>,
    rows: usize,
}

impl<'c> Rows<'c> {
    fn append(&mut self, row: impl AppenderParams) -> duckdb::Result<()> {
        let appender = match &mut self.appender {
            Some(appender) => appender,
            None if self.temp => self.appender.insert(
                self.conn
                    .appender_to_catalog_and_db(self.table, "temp", "main")?,
            ),
            None => self.appender.insert(self.conn.appender(self.table)?),
        };
        appender.append_row(row)?;
        self.rows += 1;
        Ok(())
    }

    /// Writes the rows out; returns how many there were.
    fn finish(mut self) -> duckdb::Result<usize> {
        if let Some(appender) = &mut self.appender {
            appender.flush()?;
        }
        Ok(self.rows)
    }
}

/// Where one table's rows of a batch go: certainly new ones straight into the table,
/// the others into its staging table for the upsert.
struct Route<'c> {
    direct: Rows<'c>,
    staged: Rows<'c>,
}

impl<'c> Route<'c> {
    fn new(conn: &'c Connection, table: &'static str, stage: &'static str) -> Route<'c> {
        let rows = |table, temp| Rows {
            conn,
            table,
            temp,
            appender: None,
            rows: 0,
        };
        Route {
            direct: rows(table, false),
            staged: rows(stage, true),
        }
    }

    fn append(&mut self, new: bool, row: impl AppenderParams) -> duckdb::Result<()> {
        if new {
            self.direct.append(row)
        } else {
            self.staged.append(row)
        }
    }

    /// Writes both out; returns how many rows were staged.
    fn finish(self) -> duckdb::Result<usize> {
        self.direct.finish()?;
        self.staged.finish()
    }
}

/// A batch's routes, one per typed table, and what the merges after them need to know.
struct Routes<'c> {
    changes: Route<'c>,
    pull_requests: Route<'c>,
    deployments: Route<'c>,
    listed_commits: Route<'c>,
    incidents: Route<'c>,
    builds: Route<'c>,
    annotations: Route<'c>,
    /// Staged deployments that carry a commit list (it replaces the stored one).
    commit_lists: usize,
    /// Staged incidents whose `opened_at` is a stand-in.
    estimated_open_times: usize,
}

impl<'c> Routes<'c> {
    fn new(conn: &'c Connection) -> Routes<'c> {
        Routes {
            changes: Route::new(conn, "changes", "stage_changes"),
            pull_requests: Route::new(conn, "pull_requests", "stage_pull_requests"),
            deployments: Route::new(conn, "deployments", "stage_deployments"),
            listed_commits: Route::new(conn, "deployment_commits", "stage_deployment_commits"),
            incidents: Route::new(conn, "incidents", "stage_incidents"),
            builds: Route::new(conn, "builds", "stage_builds"),
            annotations: Route::new(conn, "annotations", "stage_annotations"),
            commit_lists: 0,
            estimated_open_times: 0,
        }
    }

    /// A commit, and its pull request when it is one's merge commit (`pr_new` is
    /// `Some` then). A commit whose rows are all new is handed to the derivation
    /// itself; any other marks its repository.
    fn change(
        &mut self,
        c: &Change,
        new: bool,
        pr_new: Option<bool>,
        touched: &mut Touched,
    ) -> duckdb::Result<()> {
        let (repo, sha) = (c.repo.as_str(), c.sha.as_str());
        // A staged list travels as text (`merge_changes.sql` splits it).
        let list = |items: Option<Vec<&str>>, separator: char| match items {
            None => Value::Null,
            Some(items) if !new => Value::Text(items.join(&separator.to_string())),
            Some(items) => Value::List(
                items
                    .into_iter()
                    .map(|s| Value::Text(s.to_owned()))
                    .collect(),
            ),
        };
        let parents = list(
            c.parents
                .as_ref()
                .map(|p| p.iter().map(|s| s.as_str()).collect()),
            PARENT_SEPARATOR,
        );
        let paths = list(
            c.paths
                .as_ref()
                .map(|p| p.iter().map(String::as_str).collect()),
            PATH_SEPARATOR,
        );
        self.changes.append(
            new,
            params![
                repo,
                sha,
                parents,
                micros(c.committed_at),
                opt_micros(c.authored_at),
                c.author,
                c.message,
                paths
            ],
        )?;
        if let (Some(pr), Some(pr_new)) = (&c.pr, pr_new) {
            self.pull_requests.append(
                pr_new,
                params![
                    repo,
                    sha,
                    pr.number,
                    opt_micros(pr.first_commit_at),
                    opt_micros(pr.opened_at),
                    opt_micros(pr.merged_at)
                ],
            )?;
        }
        if new && pr_new != Some(false) {
            touched.appended.commits.push(c.clone());
        } else {
            touched.repos.insert(c.repo.clone());
        }
        Ok(())
    }

    /// A deployment and the commits it lists, if it lists them.
    fn deployment(
        &mut self,
        d: &Deployment,
        new: bool,
        touched: &mut Touched,
    ) -> duckdb::Result<()> {
        self.deployments.append(
            new,
            params![
                d.id.as_str(),
                d.service.as_str(),
                d.environment,
                d.repo.as_ref().map(|r| r.as_str()),
                d.sha.as_str(),
                d.status.as_deref(),
                opt_micros(d.started_at),
                micros(d.finished_at),
                d.team,
                d.commits.as_ref().map(|_| true)
            ],
        )?;
        if let Some(commits) = &d.commits {
            self.commit_lists += usize::from(!new);
            for (position, commit) in commits.iter().enumerate() {
                self.listed_commits.append(
                    new,
                    params![
                        d.id.as_str(),
                        position as i32,
                        commit.sha.as_str(),
                        opt_micros(commit.committed_at)
                    ],
                )?;
            }
        }
        if new {
            let key = (d.service.clone(), d.id.clone());
            touched.appended.deployments.push(key);
        }
        Ok(())
    }

    fn incident(&mut self, i: &Incident, new: bool, touched: &mut Touched) -> duckdb::Result<()> {
        let (opened_at, resolved_at) = (micros(i.opened_at), opt_micros(i.resolved_at));
        let (id, service) = (i.id.as_str(), i.service.as_str());
        let (deployment_id, sha) = (
            i.deployment_id.as_ref().map(|d| d.as_str()),
            i.sha.as_ref().map(|s| s.as_str()),
        );
        let mut row: Vec<&dyn ToSql> = vec![
            &id,
            &service,
            &opened_at,
            &resolved_at,
            &i.severity,
            &deployment_id,
            &sha,
            &i.title,
        ];
        // Staged, it also says whether `opened_at` is only a stand-in.
        if !new {
            row.push(&i.opened_at_estimated);
            self.estimated_open_times += usize::from(i.opened_at_estimated);
        }
        self.incidents.append(new, row.as_slice())?;
        if new {
            let key = (i.service.clone(), i.id.clone());
            touched.appended.incidents.push(key);
        }
        Ok(())
    }

    fn build(&mut self, b: &Build, new: bool) -> duckdb::Result<()> {
        self.builds.append(
            new,
            params![
                b.id.as_str(),
                b.repo.as_str(),
                b.sha.as_str(),
                b.status.as_str(),
                b.branch,
                opt_micros(b.started_at),
                micros(b.finished_at),
                b.provider
            ],
        )
    }

    fn annotation(&mut self, a: &Annotation) -> duckdb::Result<()> {
        self.annotations.append(
            false,
            params![
                a.id.as_str(),
                micros(a.at),
                a.text,
                a.service.as_ref().map(|s| s.as_str()),
                a.team
            ],
        )
    }

    /// Writes every route out; returns how many rows each staging table received.
    fn finish(self) -> duckdb::Result<Staged> {
        Ok(Staged {
            changes: self.changes.finish()?,
            pull_requests: self.pull_requests.finish()?,
            deployments: self.deployments.finish()?,
            commit_lists: self.commit_lists,
            listed_commits: self.listed_commits.finish()?,
            estimated_open_times: self.estimated_open_times,
            incidents: self.incidents.finish()?,
            builds: self.builds.finish()?,
            annotations: self.annotations.finish()?,
        })
    }
}
