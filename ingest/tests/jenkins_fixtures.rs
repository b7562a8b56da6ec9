//! The Jenkins CDEvents plugin's events (`tests/fixtures/jenkins/cdevents-plugin`,
//! the plugin's early layout) on the CDEvents route, field by field: a finished
//! pipeline run with a Git checkout is a build; the documented one checked out
//! nothing (its `scmState` is all null) and is stored with the reason; the other
//! events are stored and skipped.

mod fixture_support;

use std::collections::BTreeMap;

use fixture_support::{
    assert_skipped, assert_table_covers, at, deliver, no_headers, read, read_json, the_build,
};
use serde_json::Value;
use shiplog_ingest::sources::{Mapping, Routing, Source};
use shiplog_model::succeeded;

const FOLDER: &str = "jenkins/cdevents-plugin";
const FINISHED: &str = "cd-core-events.md.pipelinerun-finished.json";
const SHA: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

fn post(body: &[u8], headers: &BTreeMap<String, String>) -> Mapping {
    deliver(Source::Cdevents, headers, body, &Routing::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The documented finished run with a checkout filled in, as the plugin reports a
/// job that checked out `acme/shop` (the documented one checked out nothing).
fn finished_with_checkout(status: &str, outcome: &str) -> Value {
    let mut event = read_json(FOLDER, FINISHED);
    event["outcome"] = outcome.into();
    event["data"]["build"]["status"] = status.into();
    event["data"]["build"]["scmState"] = serde_json::json!({
        "url": "https://github.com/acme/shop.git",
        "branch": "origin/main",
        "commit": SHA,
    });
    event
}

#[test]
fn every_fixture_is_mapped_or_skipped_with_its_reason() {
    let cases: [(&str, &str, &str); 5] = [
        (
            FINISHED,
            "dev.cdevents.pipelinerun.finished.0.1.0",
            "PipelineCommit #167 reports no data.build.scmState.commit",
        ),
        (
            "cd-core-events.md.pipelinerun-queued.json",
            "dev.cdevents.pipelinerun.queued.0.1.0",
            "the run has not finished",
        ),
        (
            "cd-core-events.md.pipelinerun-started.json",
            "dev.cdevents.pipelinerun.started.0.1.0",
            "the run has not finished",
        ),
        (
            "cd-core-events.md.taskrun-started.json",
            "dev.cdevents.taskrun.started.0.1.0",
            "the run has not finished",
        ),
        (
            "cd-core-events.md.taskrun-finished.json",
            "dev.cdevents.taskrun.finished.0.1.0",
            "a stage is part of a pipeline run",
        ),
    ];
    let mut listed: Vec<String> = cases.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    listed.push("LICENSE".to_owned());
    assert_table_covers(FOLDER, listed);
    for (file, event_type, reason) in cases {
        let mapping = post(&read(FOLDER, file), &no_headers());
        assert_eq!(mapping.event_type, event_type, "{file}");
        // The plugin's `id` is the build number (167 in four of these): no delivery id.
        assert_eq!(mapping.delivery_id, None, "{file}");
        assert_skipped(&mapping, reason);
    }
}

#[test]
fn a_finished_run_with_a_checkout_is_a_build_of_its_commit() {
    let body = serde_json::to_vec(&finished_with_checkout("SUCCESS", "success")).unwrap();
    let structured = BTreeMap::from([(
        "content-type".to_owned(),
        "application/cloudevents+json; charset=utf-8".to_owned(),
    )]);
    for headers in [no_headers(), structured] {
        let mapping = post(&body, &headers);
        assert_eq!(
            mapping.event_type,
            "dev.cdevents.pipelinerun.finished.0.1.0"
        );
        assert_eq!(mapping.delivery_id, None);
        let build = the_build(&mapping);
        assert_eq!(
            build.id.as_str(),
            "jenkins:http://localhost:8080/jenkins/job/PipelineCommit/167/"
        );
        assert_eq!(build.repo.as_str(), "acme/shop");
        assert_eq!(build.sha.as_str(), SHA);
        assert!(succeeded(Some(&build.status)));
        assert_eq!(build.status.as_str(), "success");
        assert_eq!(build.branch.as_deref(), Some("main"));
        // `time` is 16:56:06.8987104 at -04:00; `duration` 12,165 ms before it.
        assert_eq!(build.finished_at, at("2023-04-06T20:56:06.898710400Z"));
        assert_eq!(build.started_at, Some(at("2023-04-06T20:55:54.733710400Z")));
        assert_eq!(build.provider.as_deref(), Some("jenkins"));
    }
}

#[test]
fn jenkins_results_other_than_success_are_red_builds() {
    for (status, outcome) in [
        ("FAILURE", "failure"),
        ("UNSTABLE", "success"),
        ("ABORTED", "failure"),
    ] {
        let body = serde_json::to_vec(&finished_with_checkout(status, outcome)).unwrap();
        let build = the_build(&post(&body, &no_headers())).clone();
        assert_eq!(build.status.as_str(), status.to_ascii_lowercase());
        assert!(!succeeded(Some(&build.status)), "{status}");
    }
    // Without `data.build.status`, the CloudEvent's `outcome` decides.
    let mut event = finished_with_checkout("SUCCESS", "failure");
    event["data"]["build"]["status"] = Value::Null;
    let build = the_build(&post(&serde_json::to_vec(&event).unwrap(), &no_headers())).clone();
    assert_eq!(build.status.as_str(), "failure");
}

#[test]
fn a_checkout_the_store_cannot_name_is_skipped_and_a_bad_time_refused() {
    let mut event = finished_with_checkout("SUCCESS", "success");
    event["data"]["build"]["scmState"]["url"] = "https://git.acme.internal/shop.git".into();
    let mapping = post(&serde_json::to_vec(&event).unwrap(), &no_headers());
    assert_skipped(
        &mapping,
        "data.build.scmState.url \"https://git.acme.internal/shop.git\" is not a GitHub or GitLab",
    );

    event["data"]["build"]["scmState"]["url"] = Value::Null;
    let mapping = post(&serde_json::to_vec(&event).unwrap(), &no_headers());
    assert_skipped(&mapping, "reports no data.build.scmState.url");

    let mut event = finished_with_checkout("SUCCESS", "success");
    event["time"] = "Thursday afternoon".into();
    let body = serde_json::to_vec(&event).unwrap();
    let error = deliver(Source::Cdevents, &no_headers(), &body, &Routing::default())
        .expect_err("a run without a time cannot be mapped");
    assert!(
        error.to_string().contains("time is not a timestamp"),
        "{error}"
    );
}

#[test]
fn the_spec_layout_still_goes_to_the_cdevents_mapping() {
    // A structured-mode CloudEvent whose data is a CDEvent is not the plugin's layout.
    let cdevent = read_json("cdevents/conformance", "pipelinerun_finished.json");
    let envelope = serde_json::json!({
        "specversion": "1.0",
        "id": "x",
        "source": "/s",
        "type": cdevent["context"]["type"],
        "data": cdevent,
    });
    let mapping = post(&serde_json::to_vec(&envelope).unwrap(), &no_headers());
    assert_eq!(mapping.delivery_id.as_deref(), Some("x"));
    assert_skipped(&mapping, "pipelinerun.finished carries no commit");
}
