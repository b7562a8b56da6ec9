//! Writing one batch of deliveries in the caller's transaction: the raw log first
//! (repeats skipped), then the typed tables, folding repeats of one key in batch
//! order and merging into stored rows field by field (SPEC §8).

use std::collections::{BTreeSet, HashMap, HashSet};

use duckdb::types::{TimeUnit, Value};
use duckdb::{Appender, Connection, params};
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

fn stage<'c>(conn: &'c Connection, table: &str) -> duckdb::Result<Appender<'c>> {
    conn.appender_to_catalog_and_db(table, "temp", "main")
}

/// Writes `deliveries` (in arrival order) with raw-log sequence numbers from
/// `first_seq`. The caller owns the transaction.
pub fn write_batch(
    conn: &Connection,
    deliveries: &[Delivery],
    first_seq: i64,
) -> duckdb::Result<BatchResult> {
    conn.execute_batch(include_str!("sql/stage.sql"))?;
    conn.execute_batch(include_str!("sql/clear_stage.sql"))?;

    // A key seen earlier in this batch is a repeat; only first occurrences reach the log.
    let mut seen = HashSet::new();
    let mut candidates = Vec::new();
    {
        let mut raw = stage(conn, "stage_raw")?;
        for (index, d) in deliveries.iter().enumerate() {
            if d.replayed {
                continue;
            }
            if seen.insert(d.delivery_key.as_str()) {
                let seq = first_seq + candidates.len() as i64;
                raw.append_row(params![
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
        raw.flush()?;
    }
    let inserted: HashSet<i64> = conn
        .prepare(include_str!("sql/insert_raw.sql"))?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut new = vec![false; deliveries.len()];
    for (n, &index) in candidates.iter().enumerate() {
        new[index] = inserted.contains(&(first_seq + n as i64));
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

fn merge_events(conn: &Connection, events: &[Event]) -> duckdb::Result<Touched> {
    let mut touched = Touched::default();
    {
        let mut changes = stage(conn, "stage_changes")?;
        let mut prs = stage(conn, "stage_pull_requests")?;
        let mut deployments = stage(conn, "stage_deployments")?;
        let mut listed = stage(conn, "stage_deployment_commits")?;
        let mut incidents = stage(conn, "stage_incidents")?;
        let mut builds = stage(conn, "stage_builds")?;
        for event in events {
            match event {
                Event::Change(c) => {
                    let parents = c
                        .parents
                        .as_ref()
                        .map(|p| p.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","));
                    changes.append_row(params![
                        c.repo.as_str(),
                        c.sha.as_str(),
                        parents,
                        micros(c.committed_at),
                        opt_micros(c.authored_at),
                        c.author,
                        c.message
                    ])?;
                    if let Some(pr) = &c.pr {
                        prs.append_row(params![
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
                    deployments.append_row(params![
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
                    for (position, commit) in d.commits.iter().flatten().enumerate() {
                        listed.append_row(params![
                            d.id.as_str(),
                            position as i32,
                            commit.sha.as_str(),
                            opt_micros(commit.committed_at)
                        ])?;
                    }
                }
                Event::Incident(i) => incidents.append_row(params![
                    i.id.as_str(),
                    i.service.as_str(),
                    micros(i.opened_at),
                    opt_micros(i.resolved_at),
                    i.severity,
                    i.deployment_id.as_ref().map(|d| d.as_str()),
                    i.sha.as_ref().map(|s| s.as_str()),
                    i.title
                ])?,
                Event::Build(b) => builds.append_row(params![
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
        for appender in [
            &mut changes,
            &mut prs,
            &mut deployments,
            &mut listed,
            &mut incidents,
            &mut builds,
        ] {
            appender.flush()?;
        }
    }
    let services: Vec<String> = conn
        .prepare(include_str!("sql/touched_services.sql"))?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    touched.services.extend(services);
    for sql in [
        include_str!("sql/merge_changes.sql"),
        include_str!("sql/merge_pull_requests.sql"),
        include_str!("sql/merge_deployments.sql"),
        include_str!("sql/merge_incidents.sql"),
        include_str!("sql/merge_builds.sql"),
    ] {
        conn.execute_batch(sql)?;
    }
    Ok(touched)
}
