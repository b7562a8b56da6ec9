//! Paging one list of a repository into the store: fetch a list page, fetch what
//! each item it takes needs (a deployment's statuses, a pull request's commits),
//! store the page as one raw-log delivery with its cursor and the events it maps to,
//! and go on until the run's end (see [`super::cursor`] for where a run starts and
//! stops).
//!
//! One page is one writer submission, so a run cut short keeps every page before the
//! one it was on, and the cursor of the last stored page says where to go on. Requests
//! are sent one at a time, as GitHub asks of API clients ("make requests serially"),
//! which also keeps the secondary rate limits away.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use shiplog_model::{Event, RepoName, Timestamp};

use super::client::{Api, ApiError, Observer, Transport};
use super::cursor::{Mode, PageCursor, Start};
use super::github::{Bundle, Kind, SOURCE, item_key, map_bundle, order_time};
use super::rate_limit::Clock;
use crate::sources::Routing;
use crate::sources::generic::content_key;
use crate::sources::payload::parse_time;
use crate::store::{Delivery, Submission, WriteError, Writer};

/// Items per list page (GitHub's largest).
pub const PER_PAGE: u32 = 100;
/// GitHub lists at most 250 commits of a pull request.
const MAX_COMMIT_PAGES: u32 = 3;

/// Told what the walk is doing, for a progress bar.
pub trait Progress: Observer {
    fn fetching(&self, _kind: Kind, _page: u32, _what: &str) {}
    fn page_done(&self, _kind: Kind, _page: u32, _items: usize) {}
}

/// What one run of one list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkSummary {
    pub kind: Kind,
    pub mode: Mode,
    pub first_page: u32,
    /// Pages read, and how many of them were new to the raw log.
    pub pages: u32,
    pub new_pages: u32,
    /// Items taken (deployments at or after `since`, pull requests merged since).
    pub items: usize,
    /// Typed events of the new pages.
    pub events: usize,
    /// Why items gave no event (see [`super::github::Mapped::skipped`]).
    pub skipped: Vec<String>,
}

/// Why a run stopped before its end.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WalkError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("cannot store the page: {0}")]
    Write(#[from] WriteError),
}

/// A run cut short: where, why, and what it did before.
#[derive(Debug, Clone, thiserror::Error)]
#[error("stopped at {} page {page}: {error}", .kind.label())]
pub struct Stopped {
    pub kind: Kind,
    pub page: u32,
    pub error: WalkError,
    pub summary: WalkSummary,
}

/// The repository and the start of the history to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As GitHub spells it ([`repository`]).
    pub repo: RepoName,
    pub since: Timestamp,
}

/// The repository's `full_name` as GitHub spells it: the webhooks name it so, and
/// deployment ids contain it, so `--repo Acme/Shop` must not make other ids.
pub async fn repository<T: Transport, C: Clock>(
    api: &Api<T, C>,
    repo: &str,
    observer: &dyn Observer,
) -> Result<RepoName, ApiError> {
    let path = format!("/repos/{repo}");
    let fetched = api.get(&path, observer).await?;
    fetched
        .body
        .get("full_name")
        .and_then(Value::as_str)
        .and_then(|name| RepoName::parse(name).ok())
        .ok_or_else(|| ApiError::Body {
            path,
            expected: "a repository",
            detail: "no full_name".to_owned(),
        })
}

/// Walks `kind` from `start` to the run's end.
pub async fn walk<T: Transport, C: Clock>(
    api: &Api<T, C>,
    writer: &Writer,
    routing: &Routing,
    target: &Target,
    kind: Kind,
    start: &Start,
    progress: &dyn Progress,
) -> Result<WalkSummary, Stopped> {
    let (mut page, mode, stop_at, mut newest) = match *start {
        Start::Fresh => (1, Mode::Full, None, None),
        Start::Resume {
            page,
            mode,
            stop_at,
            newest,
        } => (page, mode, stop_at, newest),
        Start::Refresh { stop_at } => (1, Mode::Refresh, stop_at, stop_at),
    };
    let mut summary = WalkSummary {
        kind,
        mode,
        first_page: page,
        pages: 0,
        new_pages: 0,
        items: 0,
        events: 0,
        skipped: Vec::new(),
    };
    let mut stored_any = false;
    loop {
        let stopped = |error: WalkError, summary: &WalkSummary| Stopped {
            kind,
            page,
            error,
            summary: summary.clone(),
        };
        let listed = fetch_page(api, target, kind, page, progress)
            .await
            .map_err(|e| stopped(e.into(), &summary))?;
        newest = later(newest, listed.newest);
        let overlaps = mode == Mode::Refresh
            && matches!((stop_at, listed.oldest), (Some(w), Some(o)) if o <= w);
        let last = !listed.has_next || listed.reaches_since || overlaps;
        let cursor = PageCursor {
            repo: target.repo.as_str().to_owned(),
            kind: kind.as_str().to_owned(),
            since: target.since,
            page,
            mode,
            stop_at,
            newest,
            last,
        };
        let mapped = map_bundle(&listed.bundle, routing);
        let events = mapped.events.len();
        let delivery = page_delivery(&listed.bundle, &cursor, mapped.events, api.clock().now());
        let new = store(writer, delivery)
            .await
            .map_err(|e| stopped(e.into(), &summary))?;
        summary.pages += 1;
        summary.items += listed.bundle.items.len();
        summary.skipped.extend(mapped.skipped);
        if new {
            summary.new_pages += 1;
            summary.events += events;
            stored_any = true;
        }
        progress.page_done(kind, page, listed.bundle.items.len());
        if last {
            // The run's end lives in the cursor of its last page. When that page was
            // stored before (same content, same cursor key), the raw log would still
            // show this run's earlier page, or the run it resumed, as unfinished and
            // the next run would resume instead of refreshing: so the end is written
            // as a record of its own, with no items.
            if !new && (stored_any || !start.follows_a_finished_run()) {
                let now = api.clock().now();
                let closing = Bundle {
                    items: Vec::new(),
                    details: BTreeMap::new(),
                    ended_at: Some(now),
                    ..listed.bundle
                };
                store(writer, page_delivery(&closing, &cursor, Vec::new(), now))
                    .await
                    .map_err(|e| stopped(e.into(), &summary))?;
            }
            return Ok(summary);
        }
        page += 1;
    }
}

/// The raw-log record of one page: the bundle as the body, the cursor as the
/// headers, keyed by the body's content so that the same page fetched again with the
/// same content is a repeat, and a page whose items changed (a new status) is new.
pub fn page_delivery(
    bundle: &Bundle,
    cursor: &PageCursor,
    events: Vec<Event>,
    received_at: Timestamp,
) -> Delivery {
    let body = bundle.to_json();
    Delivery {
        source: SOURCE.to_owned(),
        event_type: bundle.kind.as_str().to_owned(),
        delivery_key: format!("{SOURCE}:{}", content_key(&body)),
        received_at,
        headers: Some(serde_json::to_string(cursor).expect("a cursor serializes")),
        body: body.to_string(),
        events,
        unmapped: None,
        replayed: false,
    }
}

/// Stores one delivery; `true` when it was new. A full queue (a busy server's
/// writer) is waited out: the backfill is background work.
async fn store(writer: &Writer, delivery: Delivery) -> Result<bool, WriteError> {
    loop {
        match writer
            .submit(Submission {
                deliveries: vec![delivery.clone()],
            })
            .await
        {
            Ok(outcome) => return Ok(outcome.accepted > 0),
            Err(WriteError::Busy) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => return Err(e),
        }
    }
}

/// One list page, with what its taken items needed.
struct Listed {
    bundle: Bundle,
    has_next: bool,
    /// An item older than `since` is on this page: the pages after it are older still.
    reaches_since: bool,
    newest: Option<Timestamp>,
    oldest: Option<Timestamp>,
}

fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    a.max(b)
}

fn list_path(repo: &RepoName, kind: Kind, page: u32) -> String {
    match kind {
        Kind::Deployments => format!("/repos/{repo}/deployments?per_page={PER_PAGE}&page={page}"),
        Kind::Pulls => format!(
            "/repos/{repo}/pulls?state=closed&sort=updated&direction=desc&per_page={PER_PAGE}&page={page}"
        ),
    }
}

/// Whether the backfill takes `item`: a deployment created at or after `since` (or
/// with no time to tell), a pull request merged at or after `since` with a merge
/// commit.
fn taken(item: &Value, kind: Kind, since: Timestamp) -> bool {
    match kind {
        Kind::Deployments => order_time(item, kind).is_none_or(|t| t >= since),
        Kind::Pulls => {
            let merged = item
                .get("merged_at")
                .and_then(Value::as_str)
                .and_then(parse_time);
            let sha = item.get("merge_commit_sha").and_then(Value::as_str);
            merged.is_some_and(|t| t >= since) && sha.is_some_and(|s| !s.trim().is_empty())
        }
    }
}

async fn fetch_page<T: Transport, C: Clock>(
    api: &Api<T, C>,
    target: &Target,
    kind: Kind,
    page: u32,
    progress: &dyn Progress,
) -> Result<Listed, ApiError> {
    let path = list_path(&target.repo, kind, page);
    progress.fetching(kind, page, "list");
    let fetched = api.get(&path, progress).await?;
    let Value::Array(items) = fetched.body else {
        return Err(ApiError::Body {
            path,
            expected: "a JSON array",
            detail: "another JSON value".to_owned(),
        });
    };
    let mut listed = Listed {
        bundle: Bundle {
            kind,
            repo: target.repo.clone(),
            since: target.since,
            page,
            items: Vec::new(),
            details: BTreeMap::new(),
            ended_at: None,
        },
        has_next: fetched.has_next,
        reaches_since: false,
        newest: None,
        oldest: None,
    };
    let count = items.len();
    for (i, item) in items.into_iter().enumerate() {
        if let Some(t) = order_time(&item, kind) {
            listed.newest = later(listed.newest, Some(t));
            listed.oldest = Some(listed.oldest.map_or(t, |o| o.min(t)));
            listed.reaches_since |= t < target.since;
        }
        if !taken(&item, kind, target.since) {
            continue;
        }
        // Ids go into a URL: only GitHub's numeric ones are asked about; an item
        // without one is kept, and its mapping says what is wrong with it.
        if let Some(key) = item_key(&item, kind).filter(|k| k.bytes().all(|b| b.is_ascii_digit())) {
            let what = match kind {
                Kind::Deployments => "statuses",
                Kind::Pulls => "commits",
            };
            progress.fetching(kind, page, &format!("{what} of item {}/{count}", i + 1));
            let details = match kind {
                Kind::Deployments => {
                    let path = format!(
                        "/repos/{}/deployments/{key}/statuses?per_page={PER_PAGE}",
                        target.repo
                    );
                    array(api.get(&path, progress).await?.body, path)?
                }
                Kind::Pulls => fetch_commits(api, &target.repo, &key, progress).await?,
            };
            listed.bundle.details.insert(key, details);
        }
        listed.bundle.items.push(item);
    }
    Ok(listed)
}

/// Statuses come newest first, so the first page of a hundred holds the deciding
/// one; commits come oldest first and are read to the end (GitHub's 250).
async fn fetch_commits<T: Transport, C: Clock>(
    api: &Api<T, C>,
    repo: &RepoName,
    number: &str,
    progress: &dyn Progress,
) -> Result<Vec<Value>, ApiError> {
    let mut commits = Vec::new();
    for page in 1..=MAX_COMMIT_PAGES {
        let path = format!("/repos/{repo}/pulls/{number}/commits?per_page={PER_PAGE}&page={page}");
        let fetched = api.get(&path, progress).await?;
        let has_next = fetched.has_next;
        commits.extend(array(fetched.body, path)?);
        if !has_next {
            break;
        }
    }
    Ok(commits)
}

fn array(body: Value, path: String) -> Result<Vec<Value>, ApiError> {
    match body {
        Value::Array(items) => Ok(items),
        _ => Err(ApiError::Body {
            path,
            expected: "a JSON array",
            detail: "another JSON value".to_owned(),
        }),
    }
}
