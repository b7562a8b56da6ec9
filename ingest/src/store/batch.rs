//! Writing one batch of deliveries in the caller's transaction: the raw log first
//! (repeats skipped), then the typed tables, folding repeats of one key in batch
//! order and merging into stored rows field by field (SPEC §8).

use std::collections::{BTreeSet, HashMap, HashSet};

use duckdb::types::{TimeUnit, Value};
use duckdb::{Appender, AppenderParams, Connection, params};
use shiplog_model::event::EventKey;
use shiplog_model::{Event, Timestamp};

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
    /// Already in the raw log and mapped again (`shiplog replay`): its events are
    /// merged as if just arrived, and the log is left as it is.
    pub replayed: bool,
}

/// What a batch can change in the derived facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// Services whose deployments or incidents changed (old and new service names).
    pub services: BTreeSet<String>,
    /// Repositories whose commit graph changed.
    pub repos: BTreeSet<String>,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.repos.is_empty()
    }

    pub fn extend(&mut self, other: Touched) {
        self.services.extend(other.services);
        self.repos.extend(other.repos);
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

const STAGING_TABLES: [&str; 7] = [
    "stage_raw",
    "stage_changes",
    "stage_pull_requests",
    "stage_deployments",
    "stage_deployment_commits",
    "stage_incidents",
    "stage_builds",
];

/// The writer connection's staging tables (`sql/stage.sql`), created once per
/// connection: a batch is appended there, then merged into the keyed tables with one
/// prepared statement per table that received rows.
#[derive(Debug)]
pub struct Staging(());

impl Staging {
    /// Creates the staging tables on `conn` (outside a transaction, so they last as
    /// long as the connection) and empties them. A failed batch leaves them empty too:
    /// its transaction's rollback takes the staged rows with it.
    pub fn create(conn: &Connection) -> duckdb::Result<Staging> {
        conn.execute_batch(include_str!("sql/stage.sql"))?;
        for table in STAGING_TABLES {
            clear(conn, table)?;
        }
        Ok(Staging(()))
    }

    /// Writes `deliveries` (in arrival order) with raw-log sequence numbers from
    /// `first_seq`. The caller owns the transaction.
    pub fn write(
        &self,
        conn: &Connection,
        deliveries: &[Delivery],
        first_seq: i64,
    ) -> duckdb::Result<BatchResult> {
        // A key seen earlier in this batch is a repeat; only first occurrences reach the log.
        let mut seen = HashSet::new();
        let mut candidates = Vec::new();
        {
            let mut raw = Stage::new(conn, "stage_raw");
            for (index, d) in deliveries.iter().enumerate() {
                if d.replayed {
                    continue;
                }
                if seen.insert(d.delivery_key.as_str()) {
                    let seq = first_seq + candidates.len() as i64;
                    raw.append(params![
                        d.delivery_key,
                        seq,
                        d.source,
                        d.event_type,
                        micros(d.received_at),
                        d.headers,
                        d.body
                    ])?;
                    candidates.push(index);
                }
            }
            raw.finish()?;
        }
        let mut new = vec![false; deliveries.len()];
        if !candidates.is_empty() {
            let inserted: HashSet<i64> = conn
                .prepare_cached(include_str!("sql/insert_raw.sql"))?
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            clear(conn, "stage_raw")?;
            for (n, &index) in candidates.iter().enumerate() {
                new[index] = inserted.contains(&(first_seq + n as i64));
            }
        }
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
        let touched = merge_events(conn, &folded)?;
        Ok(BatchResult { new, touched })
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

fn stage<'c>(conn: &'c Connection, table: &str) -> duckdb::Result<Appender<'c>> {
    conn.appender_to_catalog_and_db(table, "temp", "main")
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

/// Rows appended to each staging table of the typed events.
#[derive(Debug, Default)]
struct Staged {
    changes: usize,
    pull_requests: usize,
    deployments: usize,
    commit_lists: usize,
    listed_commits: usize,
    incidents: usize,
    builds: usize,
}

fn merge_events(conn: &Connection, events: &[Event]) -> duckdb::Result<Touched> {
    let mut touched = Touched::default();
    let staged = stage_events(conn, events, &mut touched)?;
    if staged.deployments + staged.incidents > 0 {
        let mut statement = conn.prepare_cached(include_str!("sql/touched_services.sql"))?;
        let services = statement.query_map([], |row| row.get::<_, String>(0))?;
        for service in services {
            touched.services.insert(service?);
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
    Ok(touched)
}

/// A staging table's appender, opened on the first row: creating one costs about a
/// statement, and most batches of single events leave most tables unused.
struct Stage<'c> {
    conn: &'c Connection,
    table: &'static str,
    appender: Option<Appender<'c>>,
    rows: usize,
}

impl<'c> Stage<'c> {
    fn new(conn: &'c Connection, table: &'static str) -> Stage<'c> {
        Stage {
            conn,
            table,
            appender: None,
            rows: 0,
        }
    }

    fn append(&mut self, row: impl AppenderParams) -> duckdb::Result<()> {
        let appender = match &mut self.appender {
            Some(appender) => appender,
            None => self.appender.insert(stage(self.conn, self.table)?),
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

/// Appends the typed events to the staging tables and notes the repositories whose
/// commit graph they change.
fn stage_events(
    conn: &Connection,
    events: &[Event],
    touched: &mut Touched,
) -> duckdb::Result<Staged> {
    let mut changes = Stage::new(conn, "stage_changes");
    let mut prs = Stage::new(conn, "stage_pull_requests");
    let mut deployments = Stage::new(conn, "stage_deployments");
    let mut listed = Stage::new(conn, "stage_deployment_commits");
    let mut incidents = Stage::new(conn, "stage_incidents");
    let mut builds = Stage::new(conn, "stage_builds");
    let mut commit_lists = 0;
    for event in events {
        match event {
            Event::Change(c) => {
                let parents = c
                    .parents
                    .as_ref()
                    .map(|p| p.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","));
                changes.append(params![
                    c.repo.as_str(),
                    c.sha.as_str(),
                    parents,
                    micros(c.committed_at),
                    opt_micros(c.authored_at),
                    c.author,
                    c.message
                ])?;
                if let Some(pr) = &c.pr {
                    prs.append(params![
                        c.repo.as_str(),
                        c.sha.as_str(),
                        pr.number,
                        opt_micros(pr.first_commit_at),
                        opt_micros(pr.opened_at),
                        opt_micros(pr.merged_at)
                    ])?;
                }
                touched.repos.insert(c.repo.to_string());
            }
            Event::Deployment(d) => {
                deployments.append(params![
                    d.id.as_str(),
                    d.service.as_str(),
                    d.environment,
                    d.repo.as_ref().map(|r| r.as_str()),
                    d.sha.as_str(),
                    d.status,
                    opt_micros(d.started_at),
                    micros(d.finished_at),
                    d.team,
                    d.commits.as_ref().map(|_| true)
                ])?;
                if let Some(commits) = &d.commits {
                    commit_lists += 1;
                    for (position, commit) in commits.iter().enumerate() {
                        listed.append(params![
                            d.id.as_str(),
                            position as i32,
                            commit.sha.as_str(),
                            opt_micros(commit.committed_at)
                        ])?;
                    }
                }
            }
            Event::Incident(i) => incidents.append(params![
                i.id.as_str(),
                i.service.as_str(),
                micros(i.opened_at),
                opt_micros(i.resolved_at),
                i.severity,
                i.deployment_id.as_ref().map(|d| d.as_str()),
                i.sha.as_ref().map(|s| s.as_str()),
                i.title
            ])?,
            Event::Build(b) => builds.append(params![
                b.id.as_str(),
                b.repo.as_str(),
                b.sha.as_str(),
                b.status,
                b.branch,
                opt_micros(b.started_at),
                micros(b.finished_at),
                b.provider
            ])?,
        }
    }
    Ok(Staged {
        changes: changes.finish()?,
        pull_requests: prs.finish()?,
        deployments: deployments.finish()?,
        commit_lists,
        listed_commits: listed.finish()?,
        incidents: incidents.finish()?,
        builds: builds.finish()?,
    })
}
