//! Derived facts owed. The writer commits events first and its settler recomputes the
//! derived facts they touch later, once for many batches (see `writer.rs`). What it owes is
//! recorded in `derivation_pending` in the events' own transaction and cleared in the
//! transaction that pays it, so a crash in between leaves the debt on disk and the
//! next start's settler pays it before anything is read (`Writer::spawn` loads it).

use duckdb::{Connection, Transaction, params};
use shiplog_model::{RepoName, ServiceName};

use super::batch::Touched;
use super::stored_name;
use super::writer::{Refresh, WriteFailure};

const SERVICE: &str = "service";
const REPO: &str = "repo";

/// What is owed now.
pub fn load(conn: &Connection) -> duckdb::Result<Touched> {
    let mut owed = Touched::default();
    let mut stmt = conn.prepare("SELECT kind, name FROM derivation_pending")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let kind: String = row.get(0)?;
        let name: String = row.get(1)?;
        match kind.as_str() {
            REPO => owed.repos.insert(stored_name(&name, RepoName::parse)?),
            _ => owed
                .services
                .insert(stored_name(&name, ServiceName::parse)?),
        };
    }
    Ok(owed)
}

/// Records `more` as owed, in the caller's transaction, as services and repositories
/// (see [`Touched::coarse`]); `recorded` is what is recorded already in that form (the
/// writer keeps it in memory), so nothing is recorded twice.
pub(super) fn record(conn: &Connection, recorded: &Touched, more: &Touched) -> duckdb::Result<()> {
    let more = more.coarse();
    let services = more
        .services
        .difference(&recorded.services)
        .map(|s| (SERVICE, s.as_str()));
    let repos = more
        .repos
        .difference(&recorded.repos)
        .map(|r| (REPO, r.as_str()));
    let mut rows = services.chain(repos).peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    let mut appender = conn.appender("derivation_pending")?;
    for (kind, name) in rows {
        appender.append_row(params![kind, name])?;
    }
    appender.flush()
}

/// Starts a payment's transaction, its snapshot taken now (DuckDB takes it at a
/// transaction's first read, not at `BEGIN`): the payment sees exactly the commits
/// made before this call, and deletes only their records.
pub(super) fn begin(conn: &mut Connection) -> Result<Transaction<'_>, WriteFailure> {
    let step = "beginning a payment of derived facts";
    let tx = conn.transaction().map_err(WriteFailure::at(step))?;
    tx.query_row("SELECT count(*) FROM derivation_pending", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(WriteFailure::at(step))?;
    Ok(tx)
}

/// Recomputes what `owed` names and deletes the records `tx` sees, then commits.
pub(super) fn pay_in(
    tx: Transaction<'_>,
    refresh: &mut dyn Refresh,
    owed: &Touched,
) -> Result<(), WriteFailure> {
    refresh.refresh(&tx, owed)?;
    tx.execute("DELETE FROM derivation_pending", [])
        .map_err(WriteFailure::at("clearing the derived facts owed"))?;
    tx.commit()
        .map_err(WriteFailure::at("committing a payment of derived facts"))
}
