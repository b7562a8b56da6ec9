//! Where the backfill of one list stands, read back from the raw log. Every stored
//! page carries its cursor in the delivery's headers, so resuming needs no table of
//! its own and the writer stays the only thing that writes.
//!
//! A run walks one list (deployments or pull requests of a repository) from a page
//! down to where it can stop: in `full` mode until a page reaches `since` (or the list
//! ends), in `refresh` mode until a page reaches `stop_at`, the newest item the last
//! finished run saw. The latest cursor stored for `(repo, list, since)` decides the
//! next run:
//!
//! - none: a full walk from page 1;
//! - a page that did not end its run: go on from the next page, in the same mode
//!   (the run was cut short by an error, Ctrl-C, or a rate limit past `--max-wait`);
//! - a page that ended its run: a refresh from page 1, as new items appear at the
//!   top of both lists.
//!
//! Pages move down as new items arrive, so resuming at the next page number may read
//! a few items twice but skips none; a refresh reads the items that arrived after the
//! last run, and the overlap page.

use duckdb::Connection;
use serde::{Deserialize, Serialize};
use shiplog_model::{RepoName, Timestamp};

use super::github::{Kind, SOURCE};

/// How far a run walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Down to `since`.
    Full,
    /// Down to the newest item of the last finished run.
    Refresh,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Refresh => "refresh",
        }
    }
}

/// The headers of one stored page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor {
    pub repo: String,
    pub kind: String,
    pub since: Timestamp,
    pub page: u32,
    pub mode: Mode,
    /// In `refresh` mode: the run stops at the page that reaches this time.
    pub stop_at: Option<Timestamp>,
    /// The newest item time the run has seen so far (the next refresh stops there).
    pub newest: Option<Timestamp>,
    /// This page ended its run.
    pub last: bool,
}

/// Where the next run of one list begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Nothing stored for this list and `since`: a full walk from page 1.
    Fresh,
    /// A run stopped before its end: go on from `page`.
    Resume {
        page: u32,
        mode: Mode,
        stop_at: Option<Timestamp>,
        newest: Option<Timestamp>,
    },
    /// The last run finished: read the newest pages again, down to `stop_at`.
    Refresh { stop_at: Option<Timestamp> },
}

impl Start {
    /// The start that follows the latest stored cursor.
    pub fn after(latest: Option<&PageCursor>) -> Start {
        match latest {
            None => Start::Fresh,
            Some(c) if c.last => Start::Refresh { stop_at: c.newest },
            Some(c) => Start::Resume {
                page: c.page + 1,
                mode: c.mode,
                stop_at: c.stop_at,
                newest: c.newest,
            },
        }
    }

    /// Whether the raw log already says that a run of this list finished.
    pub fn follows_a_finished_run(&self) -> bool {
        matches!(self, Start::Refresh { .. })
    }
}

/// The latest stored cursor of `kind` for `repo` and `since`.
pub fn latest(
    conn: &Connection,
    repo: &RepoName,
    kind: Kind,
    since: Timestamp,
) -> duckdb::Result<Option<PageCursor>> {
    let mut statement = conn.prepare_cached(include_str!("sql/cursors.sql"))?;
    let mut rows = statement.query(duckdb::params![SOURCE, kind.as_str()])?;
    while let Some(row) = rows.next()? {
        let headers: String = row.get(0)?;
        // A row whose headers are not a cursor (written by an older version) says
        // nothing about where this run stands.
        let Ok(cursor) = serde_json::from_str::<PageCursor>(&headers) else {
            continue;
        };
        if cursor.repo == repo.as_str() && cursor.since == since {
            return Ok(Some(cursor));
        }
    }
    Ok(None)
}

/// Where the next run of `kind` begins.
pub fn start(
    conn: &Connection,
    repo: &RepoName,
    kind: Kind,
    since: Timestamp,
) -> duckdb::Result<Start> {
    Ok(Start::after(latest(conn, repo, kind, since)?.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Delivery, Store, write_batch};
    use shiplog_model::parse_timestamp;

    fn t(raw: &str) -> Timestamp {
        parse_timestamp(raw).unwrap()
    }

    fn cursor(repo: &str, since: &str, page: u32, last: bool) -> PageCursor {
        PageCursor {
            repo: repo.into(),
            kind: "deployments".into(),
            since: t(since),
            page,
            mode: Mode::Full,
            stop_at: None,
            newest: Some(t("2026-03-11T09:00:00Z")),
            last,
        }
    }

    fn delivery(key: &str, cursor: &PageCursor) -> Delivery {
        Delivery {
            source: SOURCE.into(),
            event_type: cursor.kind.clone(),
            delivery_key: key.into(),
            received_at: t("2026-03-12T00:00:00Z"),
            headers: Some(serde_json::to_string(cursor).unwrap()),
            body: "{}".into(),
            events: Vec::new(),
            unmapped: None,
            replayed: false,
        }
    }

    #[test]
    fn the_latest_cursor_decides_where_the_next_run_begins() {
        assert_eq!(Start::after(None), Start::Fresh);
        let unfinished = cursor("acme/shop", "2026-03-01T00:00:00Z", 2, false);
        assert_eq!(
            Start::after(Some(&unfinished)),
            Start::Resume {
                page: 3,
                mode: Mode::Full,
                stop_at: None,
                newest: unfinished.newest,
            }
        );
        let finished = cursor("acme/shop", "2026-03-01T00:00:00Z", 3, true);
        assert_eq!(
            Start::after(Some(&finished)),
            Start::Refresh {
                stop_at: finished.newest
            }
        );
    }

    #[test]
    fn cursors_are_read_per_repository_and_since_latest_first() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.connection();
        let since = "2026-03-01T00:00:00Z";
        let rows = [
            delivery("k1", &cursor("acme/shop", since, 1, false)),
            delivery("k2", &cursor("acme/shop", since, 2, false)),
            delivery("k3", &cursor("acme/other", since, 7, false)),
            delivery("k4", &cursor("acme/shop", "2025-01-01T00:00:00Z", 9, false)),
        ];
        write_batch(conn, &rows, 1).unwrap();
        let repo = RepoName::parse("acme/shop").unwrap();
        let found = latest(conn, &repo, Kind::Deployments, t(since))
            .unwrap()
            .unwrap();
        assert_eq!(found.page, 2);
        assert_eq!(latest(conn, &repo, Kind::Pulls, t(since)).unwrap(), None);
        assert!(matches!(
            start(conn, &repo, Kind::Deployments, t("2025-01-01T00:00:00Z")).unwrap(),
            Start::Resume { page: 10, .. }
        ));
    }
}
