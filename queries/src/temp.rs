//! Connection-local lists of names, for SQL that filters by a set of services.
//!
//! A temp table filled by the Appender, rather than a list parameter: the duckdb
//! crate binds scalars only, and string-joining names into SQL is what prepared
//! statements exist to avoid.

use duckdb::{Connection, params};

/// Fills the connection's temp table `table` (a constant of ours) with `names`.
///
/// The table is created once per connection and emptied on each use, not replaced:
/// replacing it changes the catalog, which invalidates every prepared statement that
/// reads it, and preparing `figures.sql` again costs about 7 ms of a 15 ms read.
pub(crate) fn set_names<'a>(
    conn: &Connection,
    table: &'static str,
    names: impl IntoIterator<Item = &'a str>,
) -> duckdb::Result<()> {
    set_list(conn, table, "service", names)
}

/// [`set_names`] for a list whose one column is `column` (a constant of ours).
pub(crate) fn set_list<'a>(
    conn: &Connection,
    table: &'static str,
    column: &'static str,
    names: impl IntoIterator<Item = &'a str>,
) -> duckdb::Result<()> {
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {table} ({column} VARCHAR); DELETE FROM {table};"
    ))?;
    let mut appender = conn.appender_to_catalog_and_db(table, "temp", "main")?;
    for name in names {
        appender.append_row(params![name])?;
    }
    appender.flush()
}
