//! Buildkite's documented pipeline webhook bodies (`tests/fixtures/buildkite`), field
//! by field: a finished build is a build, and also a deployment when its pipeline's
//! slug or name is under `[sources.buildkite] deploy_pipelines`; a blocked build, the
//! other build events, job events and pings are stored and skipped with the reason.

mod fixture_support;

use std::collections::BTreeMap;

use fixture_support::{
    assert_skipped, assert_table_covers, at, deliver, no_headers, read, read_json, the_build,
};
use shiplog_ingest::sources::{Mapping, Routing, Source};
use shiplog_model::{Event, ServiceSettings};

const FOLDER: &str = "buildkite";
/// Assembled from the REST API docs' Build and Pipeline objects (see SOURCE.md).
const FINISHED: &str = "build-finished.rest-api-build.json";
const BLOCKED: &str = "build_events.md.build-finished-blocked.json";
const SCHEDULED: &str = "build_events.md.build-scheduled.json";
const JOB_STARTED: &str = "job_events.md.job-started.json";
const JOB_FINISHED: &str = "job_events.md.job-finished-trigger.json";
const JOB_PROMISED: &str = "job_events.md.job-promised-exit-status.json";
const PING: &str = "ping_events.md.ping.json";
const GENERIC: &str = "pipelines.md.request-body.json";

const BUILD_ID: &str = "buildkite:f62a1b4d-10f9-4790-bc1c-e2c3a0c80983";
const SHA: &str = "abcd0b72a1e580e90712cdd9eb26d3fb41cd09c8";
const REPO: &str = "acme-inc/my-pipeline";
const STARTED: &str = "2015-05-09T21:05:59.874Z";
const FINISHED_AT: &str = "2015-05-09T21:08:59.874Z";
/// A delivery id in the form Buildkite's `X-Buildkite-Request` carries (a UUID).
const REQUEST: &str = "98c11d1e-d181-45dc-a60f-64d0fc89f6a3";

fn post(body: &[u8], routing: &Routing) -> Mapping {
    deliver(Source::Buildkite, &no_headers(), body, routing).unwrap_or_else(|e| panic!("{e}"))
}

fn deploying(patterns: &[&str]) -> Routing {
    Routing {
        buildkite_deploy_pipelines: patterns.iter().map(|p| (*p).to_owned()).collect(),
        ..Routing::default()
    }
}

/// The documented finished build with `edit` applied to its JSON (the docs give a
/// passed build only; the other states are documented but have no sample).
fn finished_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut body = read_json(FOLDER, FINISHED);
    edit(&mut body);
    serde_json::to_vec(&body).unwrap()
}

fn in_state(state: &str) -> Vec<u8> {
    finished_with(|body| body["build"]["state"] = state.into())
}

#[test]
fn the_table_lists_every_fixture() {
    assert_table_covers(
        FOLDER,
        [
            FINISHED,
            BLOCKED,
            SCHEDULED,
            JOB_STARTED,
            JOB_FINISHED,
            JOB_PROMISED,
            PING,
            GENERIC,
            "LICENSE.md",
            "SOURCE.md",
        ]
        .map(str::to_owned),
    );
}

#[test]
fn a_finished_build_is_a_build_of_its_commit() {
    let mapping = post(&read(FOLDER, FINISHED), &Routing::default());
    assert_eq!(mapping.event_type, "build.finished");
    // The body carries no delivery id; without the header there is none.
    assert_eq!(mapping.delivery_id, None);
    let build = the_build(&mapping);
    assert_eq!(build.id.as_str(), BUILD_ID);
    // `git@github.com:acme-inc/my-pipeline.git`, scp-like and with `.git`.
    assert_eq!(build.repo.as_str(), REPO);
    assert_eq!(build.sha.as_str(), SHA);
    assert_eq!(build.status.as_str(), "success");
    assert_eq!(build.branch.as_deref(), Some("main"));
    assert_eq!(build.started_at, Some(at(STARTED)));
    assert_eq!(build.finished_at, at(FINISHED_AT));
    assert_eq!(build.provider.as_deref(), Some("buildkite"));
}

#[test]
fn the_request_header_is_the_delivery_id_and_the_event_header_stands_in_for_the_body() {
    let headers = BTreeMap::from([
        ("x-buildkite-event".to_owned(), "build.finished".to_owned()),
        ("x-buildkite-request".to_owned(), REQUEST.to_owned()),
    ]);
    let route = |body: &[u8]| {
        deliver(Source::Buildkite, &headers, body, &Routing::default())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let mapping = route(&read(FOLDER, FINISHED));
    assert_eq!(mapping.delivery_id.as_deref(), Some(REQUEST));
    assert_eq!(the_build(&mapping).id.as_str(), BUILD_ID);

    let without_event = finished_with(|body| {
        body.as_object_mut().unwrap().remove("event");
    });
    let mapping = route(&without_event);
    assert_eq!(mapping.event_type, "build.finished");
    assert_eq!(the_build(&mapping).sha.as_str(), SHA);
}

#[test]
fn a_failed_build_is_a_red_build() {
    let mapping = post(&in_state("failed"), &Routing::default());
    let build = the_build(&mapping);
    assert_eq!(build.status.as_str(), "failure");
    assert_eq!(build.id.as_str(), BUILD_ID);
}

#[test]
fn a_pipeline_under_deploy_pipelines_by_slug_is_also_a_deployment() {
    // The slug `my-pipeline`; the name `My Pipeline` does not match `my-*`.
    let mapping = post(&read(FOLDER, FINISHED), &deploying(&["MY-*"]));
    assert_eq!(mapping.skipped, None);
    let [Event::Build(build), Event::Deployment(deployment)] = mapping.events.as_slice() else {
        panic!(
            "expected a build and a deployment, got {:?}",
            mapping.events
        );
    };
    assert_eq!(deployment.id, build.id);
    assert_eq!(deployment.id.as_str(), BUILD_ID);
    // No service claims the repository: the repository's own name.
    assert_eq!(deployment.service.as_str(), "my-pipeline");
    assert_eq!(deployment.environment, None);
    assert_eq!(deployment.repo.as_ref().map(|r| r.as_str()), Some(REPO));
    assert_eq!(deployment.sha.as_str(), SHA);
    assert_eq!(
        deployment.status.as_ref().map(|s| s.as_str()),
        Some("success")
    );
    assert_eq!(deployment.started_at, Some(at(STARTED)));
    assert_eq!(deployment.finished_at, at(FINISHED_AT));
    assert_eq!(deployment.team, None);
    assert_eq!(deployment.commits, None);

    // A failed deploy pipeline's build is a failed deployment.
    let mapping = post(&in_state("failed"), &deploying(&["my-pipeline"]));
    let Some(Event::Deployment(deployment)) = mapping.events.get(1) else {
        panic!("expected a deployment, got {:?}", mapping.events);
    };
    assert_eq!(
        deployment.status.as_ref().map(|s| s.as_str()),
        Some("failure")
    );
}

#[test]
fn a_pipeline_under_deploy_pipelines_by_name_glob_is_also_a_deployment() {
    // `* pipeline` matches the name `My Pipeline`, not the slug `my-pipeline`.
    let mapping = post(&read(FOLDER, FINISHED), &deploying(&["* pipeline"]));
    let [Event::Build(_), Event::Deployment(deployment)] = mapping.events.as_slice() else {
        panic!(
            "expected a build and a deployment, got {:?}",
            mapping.events
        );
    };
    assert_eq!(deployment.id.as_str(), BUILD_ID);
    assert_eq!(deployment.sha.as_str(), SHA);

    // Off (no pattern, or one that matches neither): the build alone.
    for routing in [Routing::default(), deploying(&["deploy-*", "Deploy *"])] {
        let mapping = post(&read(FOLDER, FINISHED), &routing);
        the_build(&mapping);
    }
}

#[test]
fn a_service_listing_the_pipelines_slug_takes_the_deployment() {
    let service = |deploy_names: &[&str]| ServiceSettings {
        repo: Some(REPO.into()),
        deploy_names: deploy_names.iter().map(|d| (*d).to_owned()).collect(),
        ..ServiceSettings::default()
    };
    let mut routing = deploying(&["my-pipeline"]);
    routing
        .services
        .insert("storefront".into(), service(&["my-pipeline"]));
    routing.services.insert("admin".into(), service(&["admin"]));
    let mapping = post(&read(FOLDER, FINISHED), &routing);
    let Some(Event::Deployment(deployment)) = mapping.events.get(1) else {
        panic!("expected a deployment, got {:?}", mapping.events);
    };
    assert_eq!(deployment.service.as_str(), "storefront");

    // Two services claim the repository and neither lists the pipeline: the build is
    // kept, the deployment skipped with the reason.
    let mut routing = deploying(&["my-pipeline"]);
    routing.services.insert("storefront".into(), service(&[]));
    routing.services.insert("admin".into(), service(&[]));
    let mapping = post(&read(FOLDER, FINISHED), &routing);
    assert!(
        matches!(mapping.events.as_slice(), [Event::Build(_)]),
        "{:?}",
        mapping.events
    );
    let why = mapping.skipped.as_deref().unwrap_or("");
    assert!(
        why.contains("deploy workflow \"my-pipeline\": the build is mapped, the deployment is not"),
        "{why}"
    );
}

#[test]
fn a_blocked_build_is_not_finished_and_skipped() {
    // The docs' skeleton: `blocked: true` and nothing else of the build.
    let mapping = post(&read(FOLDER, BLOCKED), &deploying(&["*"]));
    assert_eq!(mapping.event_type, "build.finished");
    assert_skipped(
        &mapping,
        "the build is blocked on a block step, not finished: not a verdict on the code",
    );

    // A blocked build keeps its last state (`passed`): `blocked` is read first.
    let blocked = finished_with(|body| body["build"]["blocked"] = true.into());
    let mapping = post(&blocked, &deploying(&["*"]));
    assert_skipped(
        &mapping,
        "build #2 (f62a1b4d-10f9-4790-bc1c-e2c3a0c80983) is blocked on a block step",
    );
    let mapping = post(&in_state("blocked"), &Routing::default());
    assert_skipped(&mapping, "is blocked on a block step, not finished");
}

#[test]
fn cancelled_skipped_and_unrun_builds_are_no_verdict() {
    for state in ["canceled", "skipped", "not_run"] {
        let mapping = post(&in_state(state), &deploying(&["*"]));
        assert_eq!(mapping.event_type, "build.finished", "{state}");
        assert_skipped(
            &mapping,
            &format!(
                "build #2 (f62a1b4d-10f9-4790-bc1c-e2c3a0c80983) ended {state}: not a verdict on the code"
            ),
        );
    }
    for state in ["running", "scheduled", "canceling", "waiting", "failing"] {
        let mapping = post(&in_state(state), &deploying(&["*"]));
        assert_skipped(
            &mapping,
            &format!("is {state}: Buildkite sent it as it was"),
        );
    }
    let mapping = post(&in_state("exploded"), &Routing::default());
    assert_skipped(&mapping, "ended \"exploded\": not a state Shiplog knows");
}

#[test]
fn a_commit_buildkite_had_not_resolved_is_skipped() {
    // The REST API creates builds for `HEAD`, a branch or a tag; until a job checks
    // the ref out, `commit` is the ref.
    for commit in ["HEAD", "main", "v0.2-beta.6"] {
        let body = finished_with(|body| body["build"]["commit"] = commit.into());
        let mapping = post(&body, &deploying(&["*"]));
        assert_skipped(
            &mapping,
            &format!("build.commit {commit:?} is a ref, not a commit sha"),
        );
    }
    // An abbreviated sha is a sha.
    let body = finished_with(|body| body["build"]["commit"] = "abcd0b7".into());
    assert_eq!(
        the_build(&post(&body, &Routing::default())).sha.as_str(),
        "abcd0b7"
    );
}

#[test]
fn the_other_events_are_stored_and_skipped_with_the_reason() {
    let maps = "Shiplog maps build.finished (a build, or a deployment for a pipeline under \
                deploy_pipelines)";
    let cases = [
        (
            SCHEDULED,
            "build.scheduled",
            "build.scheduled: the build has not finished",
        ),
        (
            GENERIC,
            "build.started",
            "build.started: the build has not finished",
        ),
        (
            JOB_STARTED,
            "job.started",
            "job.started: a job is part of a build",
        ),
        (
            JOB_FINISHED,
            "job.finished",
            "job.finished: a job is part of a build",
        ),
        (
            JOB_PROMISED,
            "job.promised_exit_status",
            "job.promised_exit_status: a job is part of a build",
        ),
        (PING, "ping", "ping: the webhook's settings changed"),
    ];
    for (file, event, reason) in cases {
        let mapping = post(&read(FOLDER, file), &deploying(&["*"]));
        assert_eq!(mapping.event_type, event, "{file}");
        assert_eq!(mapping.delivery_id, None, "{file}");
        assert_skipped(&mapping, reason);
        assert_skipped(&mapping, maps);
    }
    let mapping = post(
        &finished_with(|body| body["event"] = "build.skipped".into()),
        &deploying(&["*"]),
    );
    assert_skipped(&mapping, "build.skipped: a skipped build is no verdict");
    let mapping = post(
        &finished_with(|body| body["event"] = "agent.connected".into()),
        &Routing::default(),
    );
    assert_skipped(
        &mapping,
        "agent.connected: not an event Shiplog maps from Buildkite",
    );
}

#[test]
fn a_repository_off_github_and_gitlab_is_skipped_with_the_reason() {
    let body = finished_with(|body| {
        body["pipeline"]["repository"] = "git@bitbucket.org:acme-inc/my-pipeline.git".into();
    });
    let mapping = post(&body, &deploying(&["*"]));
    assert_skipped(
        &mapping,
        "build #2 (f62a1b4d-10f9-4790-bc1c-e2c3a0c80983) of pipeline \"my-pipeline\": \
         pipeline.repository \"git@bitbucket.org:acme-inc/my-pipeline.git\" is not a GitHub \
         or GitLab repository URL",
    );
}

#[test]
fn a_missing_field_is_named_by_its_path() {
    let refused = |edit: fn(&mut serde_json::Value)| {
        deliver(
            Source::Buildkite,
            &no_headers(),
            &finished_with(edit),
            &Routing::default(),
        )
        .unwrap_err()
        .0
    };
    assert_eq!(
        refused(|body| {
            body["build"].as_object_mut().unwrap().remove("commit");
        }),
        "build.finished: build.commit is missing"
    );
    assert_eq!(
        refused(|body| body["build"]["commit"] = 40.into()),
        "build.finished: build.commit must be a string"
    );
    assert_eq!(
        refused(|body| {
            body["build"].as_object_mut().unwrap().remove("finished_at");
        }),
        "build.finished: build.finished_at is missing"
    );
    assert_eq!(
        refused(|body| {
            body.as_object_mut().unwrap().remove("pipeline");
        }),
        "build.finished: pipeline is missing"
    );
    assert_eq!(
        refused(|body| {
            body["pipeline"]
                .as_object_mut()
                .unwrap()
                .remove("repository");
        }),
        "build.finished: pipeline.repository is missing"
    );
    assert_eq!(
        refused(|body| {
            body["build"].as_object_mut().unwrap().remove("state");
        }),
        "build.finished: build.state is missing"
    );
}

#[test]
fn a_body_that_is_not_an_object_is_refused() {
    let refused = |body: &[u8]| {
        deliver(Source::Buildkite, &no_headers(), body, &Routing::default())
            .unwrap_err()
            .0
    };
    assert_eq!(
        refused(b"[1, 2]"),
        "buildkite: the body must be a JSON object"
    );
    assert!(refused(b"{").starts_with("buildkite: the body is not valid JSON"));
    assert_eq!(refused(b"{}"), "buildkite: event is missing");
}
