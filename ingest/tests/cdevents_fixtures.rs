//! The CDEvents adapter on the CDEvents conformance examples and Tekton's CloudEvent,
//! each posted the ways senders post them: a bare CDEvent, a structured-mode
//! CloudEvent and a binary-mode one, the envelope built from the file's own
//! `context`.

mod fixture_support;

use std::collections::BTreeMap;

use fixture_support::{
    assert_skipped, assert_table_covers, at, deliver, no_headers, read, read_json, read_text,
    the_build, the_change, the_deployment, the_incident,
};
use serde_json::{Value, json};
use shiplog_ingest::sources::{MapError, Mapping, Routing, Source};
use shiplog_model::ServiceSettings;

const CONFORMANCE: &str = "cdevents/conformance";
const TEKTON: &str = "tekton";

const CONTEXT_ID: &str = "271069a8-fc18-44f1-b38f-9d70a1695819";
const RUN_TIME: &str = "2023-03-20T14:27:05.315384Z";
const INCIDENT_TIME: &str = "2022-11-11T13:52:20.079Z";
/// `subject.content.artifactId` `pkg:oci/myapp@sha256%3A0b31…427`, decoded.
const ARTIFACT: &str = "sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427";
const SHA: &str = "9f2c6a1d0e3b4c5d6e7f8091a2b3c4d5e6f70819";

fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The three ways one CDEvent reaches the route.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Bare,
    Structured,
    Binary,
}

const MODES: [Mode; 3] = [Mode::Bare, Mode::Structured, Mode::Binary];

fn post(cdevent: &Value, mode: Mode, routing: &Routing) -> Result<Mapping, MapError> {
    let context = &cdevent["context"];
    let text = |key: &str| context[key].as_str().unwrap_or_default().to_owned();
    match mode {
        Mode::Bare => {
            let body = serde_json::to_vec(cdevent).expect("serializes");
            deliver(Source::Cdevents, &no_headers(), &body, routing)
        }
        Mode::Structured => {
            let envelope = json!({
                "specversion": "1.0",
                "id": text("id"),
                "source": text("source"),
                "type": text("type"),
                "time": text("timestamp"),
                "datacontenttype": "application/json",
                "data": cdevent,
            });
            let body = serde_json::to_vec(&envelope).expect("serializes");
            let h = headers(&[(
                "content-type",
                "application/cloudevents+json; charset=utf-8",
            )]);
            deliver(Source::Cdevents, &h, &body, routing)
        }
        Mode::Binary => {
            let body = serde_json::to_vec(cdevent).expect("serializes");
            let (id, source, ty, time) =
                (text("id"), text("source"), text("type"), text("timestamp"));
            let h = headers(&[
                ("ce-specversion", "1.0"),
                ("ce-id", &id),
                ("ce-source", &source),
                ("ce-type", &ty),
                ("ce-time", &time),
                ("content-type", "application/json"),
            ]);
            deliver(Source::Cdevents, &h, &body, routing)
        }
    }
}

/// Posts `cdevent` every way and checks that all three map alike; returns one.
fn post_every_way(cdevent: &Value, routing: &Routing) -> Mapping {
    let mappings: Vec<Mapping> = MODES
        .iter()
        .map(|mode| post(cdevent, *mode, routing).unwrap_or_else(|e| panic!("{mode:?}: {e}")))
        .collect();
    for (mode, mapping) in MODES.iter().zip(&mappings).skip(1) {
        assert_eq!(mapping, &mappings[0], "{mode:?} differs from the bare body");
    }
    mappings.into_iter().next().expect("three modes")
}

enum Want {
    Skipped(&'static str),
    Maps(fn(&Mapping)),
}

fn deployment_of_my_subject(m: &Mapping) {
    let d = the_deployment(m);
    assert_eq!(d.id.as_str(), format!("cdevents:{CONTEXT_ID}"));
    // subject.id; no service claims it
    assert_eq!(d.service.as_str(), "mySubject123");
    // subject.content.environment.id
    assert_eq!(d.environment.as_deref(), Some("test123"));
    assert_eq!(d.repo, None);
    assert_eq!(d.sha.as_str(), ARTIFACT);
    assert_eq!(d.status.as_deref(), Some("success"));
    assert_eq!(d.started_at, None);
    // context.timestamp
    assert_eq!(d.finished_at, at(RUN_TIME));
    assert_eq!(d.team, None);
    assert_eq!(d.commits, None);
}

fn incident_opened(m: &Mapping) {
    let i = the_incident(m);
    assert_eq!(i.id.as_str(), "cdevents:incident-123");
    // subject.content.service.id
    assert_eq!(i.service.as_str(), "myApp");
    assert_eq!(i.opened_at, at(INCIDENT_TIME));
    assert!(!i.opened_at_estimated);
    assert_eq!(i.resolved_at, None);
    assert_eq!(i.deployment_id, None);
    // subject.content.artifactId, so rule 4b finds the deployment of that artifact
    assert_eq!(i.sha.as_ref().map(|s| s.as_str()), Some(ARTIFACT));
    assert_eq!(
        i.title.as_deref(),
        Some("Response time above threshold of 100ms")
    );
}

fn incident_detected(m: &Mapping) {
    incident_opened(m);
    assert_eq!(
        the_incident(m).severity,
        None,
        "customData has metric figures, no severity"
    );
}

fn incident_reported(m: &Mapping) {
    incident_opened(m);
    assert_eq!(
        the_incident(m).severity.as_deref(),
        Some("medium"),
        "customData.severity"
    );
}

fn incident_resolved(m: &Mapping) {
    let i = the_incident(m);
    assert_eq!(i.id.as_str(), "cdevents:incident-123");
    assert_eq!(i.service.as_str(), "myApp");
    assert_eq!(
        i.opened_at,
        at(INCIDENT_TIME),
        "a stand-in: the resolution does not say when it opened"
    );
    assert!(i.opened_at_estimated);
    assert_eq!(i.resolved_at, Some(at(INCIDENT_TIME)));
    assert_eq!(i.severity, None);
    assert_eq!(i.deployment_id, None);
    assert_eq!(
        i.sha, None,
        "the fix's artifact must not re-attribute the incident"
    );
    assert_eq!(
        i.title, None,
        "\"Response time restored\" must not replace the title"
    );
}

/// Every conformance example and what it maps to as it is.
const TABLE: &[(&str, Want)] = &[
    (
        "build_finished.json",
        Want::Skipped("describes a built artifact, not a CI run"),
    ),
    (
        "build_started.json",
        Want::Skipped("the run has not finished"),
    ),
    (
        "change_created.json",
        Want::Skipped("not a type Shiplog maps"),
    ),
    (
        "change_merged.json",
        Want::Skipped(
            "change.merged carries no commit sha; send the merge (or squash) commit in customData.sha",
        ),
    ),
    ("incident_detected.json", Want::Maps(incident_detected)),
    ("incident_reported.json", Want::Maps(incident_reported)),
    ("incident_resolved.json", Want::Maps(incident_resolved)),
    (
        "pipelinerun_finished.json",
        Want::Skipped(
            "pipelinerun.finished carries no commit; send customData.repo and customData.sha",
        ),
    ),
    (
        "pipelinerun_started.json",
        Want::Skipped("the run has not finished"),
    ),
    (
        "service_deployed.json",
        Want::Maps(deployment_of_my_subject),
    ),
    (
        "service_rolledback.json",
        Want::Maps(deployment_of_my_subject),
    ),
    (
        "service_upgraded.json",
        Want::Maps(deployment_of_my_subject),
    ),
    (
        "taskrun_finished.json",
        Want::Skipped("a task is part of a pipeline run"),
    ),
    (
        "taskrun_started.json",
        Want::Skipped("the run has not finished"),
    ),
];

#[test]
fn every_conformance_example_maps_alike_bare_structured_and_binary() {
    for (file, want) in TABLE {
        let cdevent = read_json(CONFORMANCE, file);
        let mapping = post_every_way(&cdevent, &Routing::default());
        assert_eq!(
            mapping.event_type,
            cdevent["context"]["type"].as_str().unwrap(),
            "{file}"
        );
        assert_eq!(
            mapping.delivery_id,
            cdevent["context"]["id"].as_str().map(str::to_owned),
            "{file}"
        );
        match want {
            Want::Skipped(reason) => assert_skipped(&mapping, reason),
            Want::Maps(check) => check(&mapping),
        }
    }
}

#[test]
fn a_bare_conformance_file_is_read_byte_for_byte() {
    // The helpers above re-serialize the JSON; the file as it is must map the same.
    let body = read(CONFORMANCE, "service_deployed.json");
    let mapping = deliver(Source::Cdevents, &no_headers(), &body, &Routing::default()).unwrap();
    deployment_of_my_subject(&mapping);
}

#[test]
fn change_merged_with_a_sha_in_custom_data_is_a_merge_commit() {
    // The conformance example carries no commit; the same event as a sender following
    // docs/sources/cdevents.md sends it.
    let mut cdevent = read_json(CONFORMANCE, "change_merged.json");
    cdevent["subject"]["id"] = json!("42");
    cdevent["customData"] = json!({
        "sha": SHA,
        "parents": ["41ab000000000000000000000000000000000000", "52bc000000000000000000000000000000000000"],
        "committed_at": "2023-03-20T14:27:00Z",
    });
    let mapping = post_every_way(&cdevent, &Routing::default());
    let c = the_change(&mapping);
    // subject.content.repository.id
    assert_eq!(c.repo.as_str(), "TestRepo/TestOrg");
    assert_eq!(c.sha.as_str(), SHA);
    let parents: Vec<&str> = c.parents.iter().flatten().map(|p| p.as_str()).collect();
    assert_eq!(
        parents,
        [
            "41ab000000000000000000000000000000000000",
            "52bc000000000000000000000000000000000000"
        ]
    );
    assert_eq!(c.committed_at, at("2023-03-20T14:27:00Z"));
    assert_eq!(c.authored_at, None);
    assert_eq!(c.author, None);
    assert_eq!(c.message, None);
    let pr = c.pr.as_ref().expect("the change merged a pull request");
    assert_eq!(pr.number, Some(42));
    assert_eq!(pr.merged_at, Some(at(RUN_TIME)));
    assert_eq!(pr.first_commit_at, None);
    assert_eq!(pr.opened_at, None);
}

#[test]
fn change_merged_without_committed_at_is_committed_when_merged() {
    let mut cdevent = read_json(CONFORMANCE, "change_merged.json");
    cdevent["customData"] = json!({"commit": SHA});
    let mapping = post_every_way(&cdevent, &Routing::default());
    let c = the_change(&mapping);
    assert_eq!(c.sha.as_str(), SHA, "customData.commit is read as the sha");
    assert_eq!(c.committed_at, at(RUN_TIME));
    assert_eq!(c.parents, None);
    assert_eq!(
        c.pr.as_ref().and_then(|p| p.number),
        None,
        "mySubject123 is no number"
    );
}

#[test]
fn pipelinerun_finished_with_repo_and_sha_is_a_build() {
    let mut cdevent = read_json(CONFORMANCE, "pipelinerun_finished.json");
    cdevent["customData"] = json!({"repo": "acme/shop", "sha": SHA, "branch": "main"});
    let mapping = post_every_way(&cdevent, &Routing::default());
    let b = the_build(&mapping);
    // subject.source ":" subject.id
    assert_eq!(b.id.as_str(), "cdevents:/event/source/123:mySubject123");
    assert_eq!(b.repo.as_str(), "acme/shop");
    assert_eq!(b.sha.as_str(), SHA);
    // subject.content.outcome "failure"
    assert_eq!(b.status, "failure");
    assert_eq!(b.branch.as_deref(), Some("main"));
    assert_eq!(b.started_at, None);
    assert_eq!(b.finished_at, at(RUN_TIME));
    assert_eq!(b.provider.as_deref(), Some("cdevents"));

    for (outcome, status) in [
        ("success", "success"),
        ("error", "failure"),
        ("cancel", "cancel"),
    ] {
        cdevent["subject"]["content"]["outcome"] = json!(outcome);
        let mapping = post(&cdevent, Mode::Bare, &Routing::default()).unwrap();
        assert_eq!(the_build(&mapping).status, status, "outcome {outcome}");
    }
}

#[test]
fn a_deployment_names_its_configured_service_environment_and_commit() {
    let mut routing = Routing::default();
    routing.services.insert(
        "checkout".into(),
        ServiceSettings {
            deploy_names: vec!["mySubject123".into()],
            ..ServiceSettings::default()
        },
    );
    routing
        .environment_aliases
        .insert("test123".into(), "staging".into());
    let mut cdevent = read_json(CONFORMANCE, "service_deployed.json");
    let mapping = post_every_way(&cdevent, &routing);
    let d = the_deployment(&mapping);
    assert_eq!(d.service.as_str(), "checkout");
    assert_eq!(d.environment.as_deref(), Some("staging"));

    cdevent["customData"] = json!({"repo": "acme/shop", "sha": SHA});
    let mapping = post_every_way(&cdevent, &routing);
    let d = the_deployment(&mapping);
    assert_eq!(
        d.sha.as_str(),
        SHA,
        "customData.sha wins over the artifact digest"
    );
    assert_eq!(d.repo.as_ref().map(|r| r.as_str()), Some("acme/shop"));
    assert_eq!(d.service.as_str(), "checkout");
}

#[test]
fn a_deployment_in_a_monorepo_that_names_no_configured_service_is_skipped() {
    let mut routing = Routing::default();
    for name in ["checkout", "search"] {
        routing.services.insert(
            name.into(),
            ServiceSettings {
                repo: Some("acme/shop".into()),
                ..ServiceSettings::default()
            },
        );
    }
    let mut cdevent = read_json(CONFORMANCE, "service_upgraded.json");
    cdevent["customData"] = json!({"repo": "acme/shop", "sha": SHA});
    let mapping = post_every_way(&cdevent, &routing);
    assert_skipped(&mapping, "belongs to several services (checkout, search)");
}

#[test]
fn detection_then_resolution_keeps_the_title_and_sha_and_resolves() {
    let detected = post_every_way(
        &read_json(CONFORMANCE, "incident_detected.json"),
        &Routing::default(),
    );
    let resolved = post_every_way(
        &read_json(CONFORMANCE, "incident_resolved.json"),
        &Routing::default(),
    );
    let merged = the_incident(&detected)
        .clone()
        .merge(the_incident(&resolved).clone());
    assert_eq!(merged.resolved_at, Some(at(INCIDENT_TIME)));
    assert_eq!(
        merged.title.as_deref(),
        Some("Response time above threshold of 100ms")
    );
    assert_eq!(merged.sha.as_ref().map(|s| s.as_str()), Some(ARTIFACT));
}

/// The Ce-* header block of Tekton's docs, lower-cased as the route keeps them.
fn tekton_headers() -> BTreeMap<String, String> {
    read_text(TEKTON, "events.md.cloudevent-ce-headers.txt")
        .lines()
        .filter_map(|line| {
            let line = line.trim().trim_end_matches(',');
            let (name, value) = line.split_once("\": \"")?;
            Some((
                name.trim_matches('"').to_ascii_lowercase(),
                value.trim_matches('"').to_owned(),
            ))
        })
        .collect()
}

#[test]
fn tektons_own_binary_mode_event_is_stored_but_skipped() {
    let headers = tekton_headers();
    assert_eq!(headers.len(), 6, "{headers:?}");
    let body = read(TEKTON, "events.md.taskrun-cloudevent-body.json");
    let mapping = deliver(Source::Cdevents, &headers, &body, &Routing::default()).unwrap();
    assert_eq!(mapping.event_type, "dev.tekton.event.taskrun.unknown.v1");
    assert_eq!(
        mapping.delivery_id.as_deref(),
        Some("77f78ae7-ff6d-4e39-9d05-b9a0b7850527")
    );
    assert_skipped(&mapping, "Tekton's own events");
}

#[test]
fn tektons_body_without_its_headers_is_refused() {
    let body = read(TEKTON, "events.md.taskrun-cloudevent-body.json");
    let error = deliver(Source::Cdevents, &no_headers(), &body, &Routing::default()).unwrap_err();
    assert_eq!(error.0, "cdevents: context is missing");
}

#[test]
fn envelopes_that_cannot_be_read_are_refused_naming_what_is_wrong() {
    let cdevent = read_json(CONFORMANCE, "service_deployed.json");
    let ty = "dev.cdevents.service.deployed.0.3.0";
    let ce = |extra: Value| {
        let mut envelope = json!({"specversion": "1.0", "id": "x-1", "source": "/ci", "type": ty});
        for (k, v) in extra.as_object().unwrap() {
            envelope[k] = v.clone();
        }
        serde_json::to_vec(&envelope).unwrap()
    };
    let routing = Routing::default();
    let refused = |body: &[u8], h: &BTreeMap<String, String>| {
        deliver(Source::Cdevents, h, body, &routing).unwrap_err().0
    };
    let none = no_headers();

    assert_eq!(
        refused(&ce(json!({})), &none),
        format!("{ty}: data is missing")
    );
    assert_eq!(
        refused(&ce(json!({"data_base64": "e30="})), &none),
        format!("{ty}: data_base64 is not supported: send the CDEvent as JSON under `data`")
    );
    let mut no_time = cdevent.clone();
    no_time["context"]
        .as_object_mut()
        .unwrap()
        .remove("timestamp");
    assert_eq!(
        refused(&ce(json!({"data": no_time})), &none),
        format!("{ty}: data.context.timestamp is missing")
    );
    let batch = serde_json::to_vec(&json!([cdevent])).unwrap();
    assert!(refused(&batch, &none).contains("batched CloudEvents are not supported"));
    assert!(refused(b"{\"hello\": 1}", &none).contains("context is missing"));
    assert!(refused(b"not json", &none).starts_with("cdevents: the body is not valid JSON"));

    let other = serde_json::to_vec(&json!({
        "specversion": "1.0", "id": "x-2", "source": "/shop", "type": "com.acme.order.placed", "data": {}
    }))
    .unwrap();
    let mapping = deliver(Source::Cdevents, &none, &other, &routing).unwrap();
    assert_skipped(&mapping, "not a CDEvent");
    assert_eq!(mapping.delivery_id.as_deref(), Some("x-2"));
}

#[test]
fn the_tables_list_every_cdevents_and_tekton_fixture() {
    assert_table_covers(
        CONFORMANCE,
        TABLE.iter().map(|(file, _)| (*file).to_owned()),
    );
    // What each Tekton file is: one binary-mode delivery (headers and body) and
    // configuration.
    let tekton: &[(&str, &str)] = &[
        (
            "events.md.cloudevent-ce-headers.txt",
            "the headers of the binary-mode delivery below",
        ),
        (
            "events.md.taskrun-cloudevent-body.json",
            "a binary-mode delivery's body: tektons_own_binary_mode_event_is_stored_but_skipped",
        ),
        (
            "config-events.yaml",
            "not a delivery: Tekton's events ConfigMap (where the sink is set)",
        ),
        ("SOURCE.md", "not a delivery: where the fixtures come from"),
        ("LICENSE", "not a delivery: the fixtures' license"),
    ];
    assert_table_covers(TEKTON, tekton.iter().map(|(file, _)| (*file).to_owned()));
    // The conformance folder's parent holds the provenance files only.
    let parent: Vec<String> = fixture_support::files_under("cdevents")
        .into_iter()
        .filter(|f| !f.starts_with("conformance/"))
        .collect();
    assert_eq!(parent, ["LICENSE", "SOURCE.md"]);
}
