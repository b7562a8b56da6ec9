//! What the store already knows of a repository's commit graph.

use std::collections::HashSet;

use duckdb::Connection;

/// The shas of `repo` stored with their parents (see `sql/known_commits.sql`).
pub fn known_commits(conn: &Connection, repo: &str) -> duckdb::Result<HashSet<String>> {
    conn.prepare_cached(include_str!("sql/known_commits.sql"))?
        .query_map([repo], |row| row.get(0))?
        .collect()
}
