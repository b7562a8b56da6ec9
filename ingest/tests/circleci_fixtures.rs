//! CircleCI's documented outbound webhook samples (`tests/fixtures/circleci`), field
//! by field: a completed workflow is a build, and also a deployment when its name is
//! under `[sources.circleci] deploy_workflows`; a completed job is stored and skipped.

mod fixture_support;

use fixture_support::{
    assert_skipped, assert_table_covers, at, deliver, no_headers, read, read_json, the_build,
};
use shiplog_ingest::sources::{Mapping, Routing, Source};
use shiplog_model::{Event, ServiceSettings};

const FOLDER: &str = "circleci";
const WORKFLOW: &str = "workflow-completed.github-oauth-bitbucket-cloud.json";
const JOB: &str = "job-completed.gitlab-githubapp-bitbucket-dc.json";
const SHA: &str = "1dc6aa69429bff4806ad6afe58d3d8f57e25973e";

fn post(body: &[u8], routing: &Routing) -> Mapping {
    deliver(Source::Circleci, &no_headers(), body, routing).unwrap_or_else(|e| panic!("{e}"))
}

fn deploying(patterns: &[&str]) -> Routing {
    Routing {
        circleci_deploy_workflows: patterns.iter().map(|p| (*p).to_owned()).collect(),
        ..Routing::default()
    }
}

/// The documented workflow with `workflow.status` set to `status` (the sample is a
/// success; CircleCI documents the other statuses but gives no sample of them).
fn workflow_ended(status: &str) -> Vec<u8> {
    let mut body = read_json(FOLDER, WORKFLOW);
    body["workflow"]["status"] = status.into();
    serde_json::to_vec(&body).unwrap()
}

#[test]
fn the_table_lists_every_fixture() {
    assert_table_covers(
        FOLDER,
        [WORKFLOW, JOB, "LICENSE", "SOURCE.md"].map(str::to_owned),
    );
}

#[test]
fn a_completed_workflow_is_a_build_of_the_pipelines_commit() {
    let mapping = post(&read(FOLDER, WORKFLOW), &Routing::default());
    assert_eq!(mapping.event_type, "workflow-completed");
    assert_eq!(
        mapping.delivery_id.as_deref(),
        Some("3888f21b-eaa7-38e3-8f3d-75a63bba8895")
    );
    let build = the_build(&mapping);
    assert_eq!(
        build.id.as_str(),
        "circleci:fda08377-fe7e-46b1-8992-3a7aaecac9c3"
    );
    assert_eq!(build.repo.as_str(), "circleci/webhook-service");
    assert_eq!(build.sha.as_str(), SHA);
    assert_eq!(build.status.as_str(), "success");
    assert_eq!(build.branch.as_deref(), Some("main"));
    assert_eq!(build.started_at, Some(at("2021-09-01T22:49:03.616Z")));
    assert_eq!(build.finished_at, at("2021-09-01T22:49:34.170Z"));
    assert_eq!(build.provider.as_deref(), Some("circleci"));
}

#[test]
fn a_workflow_under_deploy_workflows_is_also_a_deployment() {
    // A glob, matched case-insensitively, as GitHub's deploy_workflows.
    let mapping = post(&read(FOLDER, WORKFLOW), &deploying(&["BUILD-*-deploy"]));
    assert_eq!(mapping.skipped, None);
    let [Event::Build(build), Event::Deployment(deployment)] = mapping.events.as_slice() else {
        panic!(
            "expected a build and a deployment, got {:?}",
            mapping.events
        );
    };
    assert_eq!(deployment.id, build.id);
    // No service claims the repository: the repository's own name, not the workflow's.
    assert_eq!(deployment.service.as_str(), "webhook-service");
    assert_eq!(deployment.environment, None);
    assert_eq!(
        deployment.repo.as_ref().map(|r| r.as_str()),
        Some("circleci/webhook-service")
    );
    assert_eq!(deployment.sha.as_str(), SHA);
    assert_eq!(
        deployment.status.as_ref().map(|s| s.as_str()),
        Some("success")
    );
    assert_eq!(deployment.started_at, Some(at("2021-09-01T22:49:03.616Z")));
    assert_eq!(deployment.finished_at, at("2021-09-01T22:49:34.170Z"));

    // A configured service that lists the workflow's name takes the deployment.
    let mut routing = deploying(&["build-test-deploy"]);
    routing.services.insert(
        "hooks".into(),
        ServiceSettings {
            repo: Some("circleci/webhook-service".into()),
            deploy_names: vec!["build-test-deploy".into()],
            ..ServiceSettings::default()
        },
    );
    let mapping = post(&read(FOLDER, WORKFLOW), &routing);
    let Some(Event::Deployment(deployment)) = mapping.events.get(1) else {
        panic!("expected a deployment, got {:?}", mapping.events);
    };
    assert_eq!(deployment.service.as_str(), "hooks");

    // Off (no pattern, or one that does not match): the build alone.
    for routing in [Routing::default(), deploying(&["release-*"])] {
        let mapping = post(&read(FOLDER, WORKFLOW), &routing);
        the_build(&mapping);
    }
}

#[test]
fn a_failed_workflow_is_a_red_build_and_a_cancelled_one_no_verdict() {
    for status in ["failed", "error", "failing"] {
        let mapping = post(&workflow_ended(status), &deploying(&["*deploy"]));
        let [Event::Build(build), Event::Deployment(deployment)] = mapping.events.as_slice() else {
            panic!("{status}: got {:?}", mapping.events);
        };
        assert_eq!(build.status.as_str(), "failure", "{status}");
        assert_eq!(
            deployment.status.as_ref().map(|s| s.as_str()),
            Some("failure"),
            "{status}"
        );
    }
    for status in ["canceled", "unauthorized"] {
        let mapping = post(&workflow_ended(status), &deploying(&["*"]));
        assert_eq!(
            mapping.delivery_id.as_deref(),
            Some("3888f21b-eaa7-38e3-8f3d-75a63bba8895")
        );
        assert_skipped(
            &mapping,
            &format!(
                "\"build-test-deploy\" (fda08377-fe7e-46b1-8992-3a7aaecac9c3) ended {status}: not a verdict on the code"
            ),
        );
    }
    let mapping = post(&workflow_ended("on_hold"), &Routing::default());
    assert_skipped(&mapping, "ended \"on_hold\": not a status Shiplog knows");
}

#[test]
fn a_completed_job_is_stored_and_skipped() {
    let mapping = post(&read(FOLDER, JOB), &deploying(&["*"]));
    assert_eq!(mapping.event_type, "job-completed");
    assert_eq!(
        mapping.delivery_id.as_deref(),
        Some("47a497be-4498-4da0-a4e8-2dabd889af0f")
    );
    assert_skipped(&mapping, "job-completed: a job is part of a workflow");
    assert_skipped(&mapping, "Shiplog maps workflow-completed");
}

#[test]
fn other_types_and_unknown_hosts_are_skipped_with_the_reason() {
    let mut body = read_json(FOLDER, WORKFLOW);
    body["type"] = "ping".into();
    let mapping = post(&serde_json::to_vec(&body).unwrap(), &Routing::default());
    assert_eq!(mapping.event_type, "ping");
    assert_skipped(&mapping, "ping: not a type Shiplog maps from CircleCI");

    // A Bitbucket repository (the sample's file name says it may be one): no
    // owner/name Shiplog stores commits under.
    let mut body = read_json(FOLDER, WORKFLOW);
    body["pipeline"]["vcs"]["origin_repository_url"] =
        "https://bitbucket.org/circleci/webhook-service".into();
    let mapping = post(&serde_json::to_vec(&body).unwrap(), &Routing::default());
    assert_skipped(&mapping, "is not a GitHub or GitLab repository URL");
}

#[test]
fn a_missing_field_is_named_by_its_path() {
    let mut body = read_json(FOLDER, WORKFLOW);
    body["pipeline"]["vcs"]
        .as_object_mut()
        .unwrap()
        .remove("revision");
    let error = deliver(
        Source::Circleci,
        &no_headers(),
        &serde_json::to_vec(&body).unwrap(),
        &Routing::default(),
    )
    .unwrap_err();
    assert_eq!(
        error.0,
        "workflow-completed: pipeline.vcs.revision is missing"
    );
}
