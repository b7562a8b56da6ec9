//! Versioned, append-only schema migrations, applied in order at start. A migration
//! that ran is never edited; a new need is a new file.

use duckdb::Connection;

use super::StoreError;

/// Every migration: version, name, SQL.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "core", include_str!("migrations/0001_core.sql")),
    (
        2,
        "derivation_pending",
        include_str!("migrations/0002_derivation_pending.sql"),
    ),
    (
        3,
        "change_paths",
        include_str!("migrations/0003_change_paths.sql"),
    ),
    (
        4,
        "unmapped_reason",
        include_str!("migrations/0004_unmapped_reason.sql"),
    ),
    (
        5,
        "derived_lookups",
        include_str!("migrations/0005_derived_lookups.sql"),
    ),
    (
        6,
        "environment_heads",
        include_str!("migrations/0006_environment_heads.sql"),
    ),
    (
        7,
        "walk_state",
        include_str!("migrations/0007_walk_state.sql"),
    ),
    (
        8,
        "raw_log_without_key_index",
        include_str!("migrations/0008_raw_log_without_key_index.sql"),
    ),
    (
        9,
        "annotations",
        include_str!("migrations/0009_annotations.sql"),
    ),
];

pub(super) fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)",
    )?;
    let applied: Vec<i32> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for &(version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| !applied.contains(v)) {
        let fail = |source| StoreError::Migration {
            version,
            name,
            source,
        };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, current_timestamp::TIMESTAMP)",
            duckdb::params![version, name],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(version, name, "applied migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.duckdb");
        drop(crate::store::Store::open(&path).unwrap());
        let store = crate::store::Store::open(&path).unwrap();
        let n: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
        let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.0).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "versions ascend");
    }
}
