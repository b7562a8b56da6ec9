//! GitHub `release` deliveries as deployments, on the real payloads of
//! `tests/fixtures/github` (octokit's `release/` examples and go-playground's
//! `release.json`), with `[sources.github] release_repos` listing their repositories.
//!
//! Every fixture's `release.target_commitish` is `master`, a branch, which names no
//! commit for certain, so the real payloads are stored and skipped with that reason;
//! the mapped deployment is reached by editing a copy of `published.payload.json`
//! (each edit says what it changes).

mod common;

use common::*;
use serde_json::{Value, json};
use shiplog_ingest::sources::{Mapping, Routing, Source};
use shiplog_model::ServiceSettings;

const OCTOKIT: &str = "octokit-webhooks/release/published.payload.json";
const GO_PLAYGROUND: &str = "go-playground-webhooks/release.json";
/// A sha to put in a copy's `target_commitish` (the Hello-World fixtures' commit).
const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

fn releasing(repos: &[&str]) -> Routing {
    Routing {
        github_release_repos: repos.iter().map(|r| (*r).to_owned()).collect(),
        ..Routing::default()
    }
}

fn post(body: &[u8], routing: &Routing) -> Mapping {
    let headers = headers(&[("x-github-event", "release"), ("x-github-delivery", "d-1")]);
    deliver(Source::Github, &headers, body, routing).expect("a release maps or is skipped")
}

fn edited(file: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut body = fixture_json("github", file);
    edit(&mut body);
    to_body(&body)
}

fn assert_skipped(mapping: &Mapping, phrase: &str) {
    assert!(mapping.events.is_empty(), "{:?}", mapping.events);
    let why = mapping.skipped.as_deref().unwrap_or("");
    assert!(why.contains(phrase), "{why:?} does not say {phrase:?}");
}

#[test]
fn every_release_fixture_of_a_listed_repository_is_skipped_with_its_reason() {
    let routing = releasing(&["Codertocat/Hello-World", "baxterthehacker/public-repo"]);
    let table = [
        (
            "created.payload.json",
            "release created: only a published release is a deployment",
        ),
        (
            "created.with-discussion-url.payload.json",
            "release created: only a published release",
        ),
        (
            "deleted.payload.json",
            "release deleted: only a published release",
        ),
        (
            "edited.payload.json",
            "release edited: only a published release",
        ),
        (
            "prereleased.payload.json",
            "release prereleased: only a published release",
        ),
        (
            "prereleased.with-discussion-url.payload.json",
            "release prereleased: only a published release",
        ),
        (
            "released.json",
            "release released: only a published release",
        ),
        (
            "published.payload.json",
            "release 0.0.1 of Codertocat/Hello-World targets \"master\", not a commit sha",
        ),
    ];
    for (file, phrase) in table {
        let body = fixture("github", &format!("octokit-webhooks/release/{file}"));
        let mapping = post(&body, &routing);
        assert_eq!(mapping.event_type, "release", "{file}");
        assert_eq!(mapping.delivery_id.as_deref(), Some("d-1"), "{file}");
        assert_skipped(&mapping, phrase);
    }
    let listed: Vec<String> = table
        .iter()
        .map(|(file, _)| format!("octokit-webhooks/release/{file}"))
        .collect();
    let present: Vec<String> =
        files_under(&fixtures_dir("github").join("octokit-webhooks/release"))
            .into_iter()
            .map(|f| format!("octokit-webhooks/release/{f}"))
            .collect();
    assert_eq!(
        listed.iter().collect::<std::collections::BTreeSet<_>>(),
        present.iter().collect::<std::collections::BTreeSet<_>>(),
        "the table lists every release fixture"
    );

    let mapping = post(&fixture("github", GO_PLAYGROUND), &routing);
    assert_skipped(
        &mapping,
        "release 0.0.1 of baxterthehacker/public-repo targets \"master\", not a commit sha",
    );
    assert!(
        mapping.skipped.unwrap().contains("release: published"),
        "the reason points at the workflow-run way"
    );
}

#[test]
fn a_published_release_at_a_commit_sha_is_a_production_deployment_field_by_field() {
    // Edit: `release.target_commitish` from "master" to a full sha.
    let body = edited(OCTOKIT, |b| b["release"]["target_commitish"] = json!(SHA));
    let mapping = post(&body, &releasing(&["codertocat/*"]));
    assert_eq!(mapping.skipped, None);
    assert_eq!(
        mapping.events,
        vec![deployment(DeploymentFields {
            id: "github:Codertocat/Hello-World:release:17372790",
            service: "Hello-World",
            environment: None,
            repo: "Codertocat/Hello-World",
            sha: SHA,
            status: "success",
            started_at: None,
            finished_at: "2019-05-15T15:20:53Z",
        })]
    );

    // go-playground's payload, same edit: its own id, repository and publish time.
    let body = edited(GO_PLAYGROUND, |b| {
        b["release"]["target_commitish"] = json!(SHA.to_uppercase())
    });
    let mapping = post(&body, &releasing(&["baxterthehacker/public-repo"]));
    assert_eq!(
        mapping.events,
        vec![deployment(DeploymentFields {
            id: "github:baxterthehacker/public-repo:release:1261438",
            service: "public-repo",
            environment: None,
            repo: "baxterthehacker/public-repo",
            sha: SHA,
            status: "success",
            started_at: None,
            finished_at: "2015-05-05T23:40:38Z",
        })]
    );
}

#[test]
fn the_service_map_names_the_releasing_service() {
    let mut routing = releasing(&["Codertocat/Hello-World"]);
    routing.services.insert(
        "hello".into(),
        ServiceSettings {
            repo: Some("Codertocat/Hello-World".into()),
            ..ServiceSettings::default()
        },
    );
    let body = edited(OCTOKIT, |b| b["release"]["target_commitish"] = json!(SHA));
    let mapping = post(&body, &routing);
    let [shiplog_model::Event::Deployment(d)] = mapping.events.as_slice() else {
        panic!("one deployment: {mapping:?}");
    };
    assert_eq!(d.service.as_str(), "hello");

    // A monorepo with two services and nothing in a release to tell them apart.
    routing.services.insert(
        "search".into(),
        ServiceSettings {
            repo: Some("Codertocat/Hello-World".into()),
            ..ServiceSettings::default()
        },
    );
    assert_skipped(
        &post(&body, &routing),
        "belongs to several services (hello, search)",
    );
}

#[test]
fn a_release_is_no_deployment_unless_its_repository_is_listed() {
    let body = edited(OCTOKIT, |b| b["release"]["target_commitish"] = json!(SHA));
    assert_skipped(
        &post(&body, &Routing::default()),
        "release 0.0.1 of Codertocat/Hello-World: not a deployment unless `[sources.github] release_repos` lists the repository",
    );
    assert_skipped(
        &post(&body, &releasing(&["Codertocat/Other"])),
        "release_repos` lists the repository",
    );
}

#[test]
fn drafts_prereleases_and_short_shas_are_not_deployments() {
    let routing = releasing(&["Codertocat/Hello-World"]);
    // Edit: `draft` true (GitHub sends no `published` for drafts; a hand-made one is
    // refused all the same).
    let draft = edited(OCTOKIT, |b| {
        b["release"]["target_commitish"] = json!(SHA);
        b["release"]["draft"] = json!(true);
    });
    assert_skipped(
        &post(&draft, &routing),
        "release 0.0.1 of Codertocat/Hello-World is a draft",
    );
    // Edit: `prerelease` true (a prerelease is published with action `published` too).
    let pre = edited(OCTOKIT, |b| {
        b["release"]["target_commitish"] = json!(SHA);
        b["release"]["prerelease"] = json!(true);
    });
    assert_skipped(&post(&pre, &routing), "is a prerelease: not a deployment");
    // Edit: a short sha, which names no commit for certain.
    let short = edited(OCTOKIT, |b| {
        b["release"]["target_commitish"] = json!("6113728")
    });
    assert_skipped(
        &post(&short, &routing),
        "targets \"6113728\", not a commit sha",
    );
}
