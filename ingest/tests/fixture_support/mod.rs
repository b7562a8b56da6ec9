//! Shared helpers of the source fixture tests: where the real payloads are, how to
//! post one to an adapter, and the check that a test's table lists every fixture
//! file, so that none is silently left untested.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

// The reading of fixtures is the GitHub and GitLab tests' (one implementation);
// this module adds what the ArgoCD, PagerDuty and CDEvents tests assert with.
#[path = "../common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use shiplog_ingest::sources::Mapping;
use shiplog_model::{Build, Change, Deployment, Event, Incident, Timestamp, parse_timestamp};

/// `tests/fixtures/{folder}` of the workspace.
pub fn fixture_dir(folder: &str) -> PathBuf {
    common::fixtures_dir(folder)
}

pub fn read(folder: &str, file: &str) -> Vec<u8> {
    common::fixture(folder, file)
}

pub fn read_text(folder: &str, file: &str) -> String {
    String::from_utf8(read(folder, file)).expect("fixture is UTF-8")
}

pub fn read_json(folder: &str, file: &str) -> serde_json::Value {
    common::fixture_json(folder, file)
}

/// Every file under `tests/fixtures/{folder}`, as `/`-separated relative paths.
pub fn files_under(folder: &str) -> BTreeSet<String> {
    common::files_under(&fixture_dir(folder))
}

/// Fails unless `listed` names exactly the files under `tests/fixtures/{folder}`.
pub fn assert_table_covers(folder: &str, listed: impl IntoIterator<Item = String>) {
    let listed: BTreeSet<String> = listed.into_iter().collect();
    let present = files_under(folder);
    let untested: Vec<&String> = present.difference(&listed).collect();
    let missing: Vec<&String> = listed.difference(&present).collect();
    assert!(
        untested.is_empty() && missing.is_empty(),
        "tests/fixtures/{folder}: files no table lists: {untested:?}; listed but absent: {missing:?}"
    );
}

pub fn at(raw: &str) -> Timestamp {
    parse_timestamp(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

pub fn no_headers() -> BTreeMap<String, String> {
    BTreeMap::new()
}

/// Maps one delivery as the webhook route would (headers already lower-cased and
/// limited to the source's kept headers).
pub use common::deliver;

fn only(mapping: &Mapping) -> &Event {
    assert_eq!(
        mapping.events.len(),
        1,
        "expected one event, got {:?} (skipped: {:?})",
        mapping.events,
        mapping.skipped
    );
    assert_eq!(mapping.skipped, None);
    &mapping.events[0]
}

pub fn the_deployment(mapping: &Mapping) -> &Deployment {
    match only(mapping) {
        Event::Deployment(d) => d,
        other => panic!("expected a deployment, got {other:?}"),
    }
}

pub fn the_incident(mapping: &Mapping) -> &Incident {
    match only(mapping) {
        Event::Incident(i) => i,
        other => panic!("expected an incident, got {other:?}"),
    }
}

pub fn the_build(mapping: &Mapping) -> &Build {
    match only(mapping) {
        Event::Build(b) => b,
        other => panic!("expected a build, got {other:?}"),
    }
}

pub fn the_change(mapping: &Mapping) -> &Change {
    match only(mapping) {
        Event::Change(c) => c,
        other => panic!("expected a change, got {other:?}"),
    }
}

/// Asserts that nothing was mapped and the reason contains `reason`.
pub fn assert_skipped(mapping: &Mapping, reason: &str) {
    assert!(
        mapping.events.is_empty(),
        "expected nothing mapped, got {:?}",
        mapping.events
    );
    let why = mapping.skipped.as_deref().unwrap_or("");
    assert!(
        why.contains(reason),
        "skip reason {why:?} does not say {reason:?}"
    );
}
