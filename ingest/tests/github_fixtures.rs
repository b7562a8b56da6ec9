//! The GitHub adapter on the real payloads of `tests/fixtures/github`: every fixture
//! with the outcome worked out by hand from the file, then the cases no fixture
//! covers, made by editing a real body (each edit says what it changes).

mod common;

use common::*;
use serde_json::{Value, json};
use shiplog_ingest::sources::{Mapping, Routing, Source};
use shiplog_model::Event;

const UNUSED: &str = "not used; Shiplog maps push, pull_request";
/// A published release of a repository `[sources.github] release_repos` does not list
/// (ingest/tests/github_release_fixtures.rs maps them with it).
const RELEASE_NOT_LISTED: &str = "not a deployment unless `[sources.github] release_repos`";

/// Every fixture: its file, the `X-GitHub-Event` it is delivered with, and what it
/// maps to. Expected values are read off the files; times are converted to UTC by
/// hand.
fn cases() -> Vec<Case> {
    vec![
        // A tag push lists no commits; its head_commit is the tagged (old) commit.
        skipped(
            "argo-cd-testdata/github-tag-event.json",
            "push",
            "push of tag v1.0: a tag adds no commits",
        ),
        skipped(
            "codinasion-bot/issues.closed.json",
            "issues",
            "issue #2 has no incident label",
        ),
        skipped(
            "codinasion-bot/issues.labeled.json",
            "issues",
            "issue #109 has no incident label",
        ),
        skipped(
            "comment-when-done/issues.closed.json",
            "issues",
            "issue #1 has no incident label",
        ),
        skipped(
            "comment-when-done/pull_requests.closed.json",
            "pull_request",
            "pull request #3 was closed without merging",
        ),
        mapped(
            "comment-when-done/pull_requests.merged.json",
            "pull_request",
            vec![merge_commit(
                "C-Saunders/flynn_env_test",
                "62b8e707477a463a4db8d9bb37c26d1481a32ae2",
                2,
                "2018-11-18T18:54:23Z",
                "2018-11-18T18:54:32Z",
            )],
        ),
        skipped("go-playground-webhooks/check-run.json", "check_run", UNUSED),
        skipped(
            "go-playground-webhooks/check-suite.json",
            "check_suite",
            UNUSED,
        ),
        skipped(
            "go-playground-webhooks/deployment.json",
            "deployment",
            "waiting for its deployment_status",
        ),
        skipped(
            "go-playground-webhooks/issues.json",
            "issues",
            "issue #2 has no incident label",
        ),
        skipped(
            "go-playground-webhooks/pull-request.json",
            "pull_request",
            "pull_request opened: only a merged pull request maps",
        ),
        mapped(
            "go-playground-webhooks/push.json",
            "push",
            // 2018-06-29T19:34:13+05:30; head_commit is the same commit, mapped once.
            vec![pushed(
                "binkkatal/sample_app",
                "fd489864e7642b48eaad6e3f155c10e46810ec72",
                "2018-06-29T14:04:13Z",
                "binkkatal",
                "test a push event",
                &[
                    ".razorops.yaml",
                    "app/controllers/application_controller.rb",
                ],
            )],
        ),
        skipped(
            "go-playground-webhooks/release.json",
            "release",
            RELEASE_NOT_LISTED,
        ),
        skipped("go-playground-webhooks/status.json", "status", UNUSED),
        skipped(
            "octokit-webhooks/check_run/completed.payload.json",
            "check_run",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/check_run/completed.with-organization.payload.json",
            "check_run",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/check_run/created.payload.json",
            "check_run",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/check_run/requested_action.payload.json",
            "check_run",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/check_run/rerequested.payload.json",
            "check_run",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/check_suite/completed.payload.json",
            "check_suite",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/check_suite/completed.with-organization.payload.json",
            "check_suite",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/check_suite/requested.payload.json",
            "check_suite",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/check_suite/requested.with-organization.payload.json",
            "check_suite",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/check_suite/rerequested.payload.json",
            "check_suite",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/deployment/gh-pages.payload.json",
            "deployment",
            "waiting for its deployment_status",
        ),
        skipped(
            "octokit-webhooks/deployment/payload.json",
            "deployment",
            "waiting for its deployment_status",
        ),
        skipped(
            "octokit-webhooks/deployment_status/gh-pages.payload.json",
            "deployment_status",
            "deployment_status in_progress: deployment 145988746 has not finished",
        ),
        mapped(
            "octokit-webhooks/deployment_status/payload.json",
            "deployment_status",
            vec![hello_world_deployment()],
        ),
        mapped(
            "octokit-webhooks/deployment_status/with-installation.payload.json",
            "deployment_status",
            vec![hello_world_deployment()],
        ),
        skipped(
            "octokit-webhooks/issues/labeled.payload.json",
            "issues",
            "issue #1 has no incident label",
        ),
        skipped(
            "octokit-webhooks/issues/opened.payload.json",
            "issues",
            "issue #1 has no incident label",
        ),
        skipped(
            "octokit-webhooks/issues/opened.with-empty-body.payload.json",
            "issues",
            "issue #1 has no incident label",
        ),
        skipped(
            "octokit-webhooks/issues/opened.with-organization.payload.json",
            "issues",
            "issue #1 has no incident label",
        ),
        skipped(
            "octokit-webhooks/ping/payload.json",
            "ping",
            "ping: nothing to map",
        ),
        skipped(
            "octokit-webhooks/ping/with-app_id.payload.json",
            "ping",
            "ping: nothing to map",
        ),
        skipped(
            "octokit-webhooks/pull_request/closed.payload.json",
            "pull_request",
            "pull request #2 was closed without merging",
        ),
        skipped(
            "octokit-webhooks/pull_request/opened.payload.json",
            "pull_request",
            "pull_request opened",
        ),
        skipped(
            "octokit-webhooks/pull_request/opened.with-organization.payload.json",
            "pull_request",
            "pull_request opened",
        ),
        // The three below delete the tag `simple-tag`.
        skipped(
            "octokit-webhooks/push/payload.json",
            "push",
            "push of tag simple-tag",
        ),
        skipped(
            "octokit-webhooks/push/with-installation.payload.json",
            "push",
            "push of tag simple-tag",
        ),
        mapped(
            "octokit-webhooks/push/with-new-branch.payload.json",
            "push",
            vec![hello_world_initial_commit()],
        ),
        skipped(
            "octokit-webhooks/push/with-organization.payload.json",
            "push",
            "push of tag simple-tag",
        ),
        skipped(
            "octokit-webhooks/release/created.payload.json",
            "release",
            "release created: only a published release",
        ),
        skipped(
            "octokit-webhooks/release/created.with-discussion-url.payload.json",
            "release",
            "release created: only a published release",
        ),
        skipped(
            "octokit-webhooks/release/deleted.payload.json",
            "release",
            "release deleted: only a published release",
        ),
        skipped(
            "octokit-webhooks/release/edited.payload.json",
            "release",
            "release edited: only a published release",
        ),
        skipped(
            "octokit-webhooks/release/prereleased.payload.json",
            "release",
            "release prereleased: only a published release",
        ),
        skipped(
            "octokit-webhooks/release/prereleased.with-discussion-url.payload.json",
            "release",
            "release prereleased: only a published release",
        ),
        skipped(
            "octokit-webhooks/release/published.payload.json",
            "release",
            RELEASE_NOT_LISTED,
        ),
        skipped(
            "octokit-webhooks/release/released.json",
            "release",
            "release released: only a published release",
        ),
        skipped("octokit-webhooks/status/payload.json", "status", UNUSED),
        skipped(
            "octokit-webhooks/status/with-installation.payload.json",
            "status",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/workflow_job/completed.failure.with-organization.payload.json",
            "workflow_job",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/workflow_job/in_progress.payload.json",
            "workflow_job",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/workflow_job/in_progress.with-queued-steps.payload.json",
            "workflow_job",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/workflow_job/queued.payload.json",
            "workflow_job",
            UNUSED,
        ),
        skipped(
            "octokit-webhooks/workflow_job/waiting.payload.json",
            "workflow_job",
            UNUSED,
        ),
        mapped(
            "octokit-webhooks/workflow_run/completed.payload.json",
            "workflow_run",
            vec![octo_repo_build("success")],
        ),
        skipped(
            "octokit-webhooks/workflow_run/requested.payload.json",
            "workflow_run",
            "workflow_run requested: only a completed run is a build",
        ),
        // Its conclusion says action_required, but the action is still `requested`.
        skipped(
            "octokit-webhooks/workflow_run/requested.with-conclusion.payload.json",
            "workflow_run",
            "workflow_run requested: only a completed run is a build",
        ),
        skipped(
            "reallyfastci/webhook-ping.json",
            "ping",
            "ping: nothing to map",
        ),
        mapped(
            "reallyfastci/webhook-pr-close.json",
            "pull_request",
            // Merged from the fork byao1276/…; the merge commit lands in the base.
            vec![merge_commit(
                "ailisp/gcbapp-buildconfig-example",
                "a21683865c088b5fe1906cf6552d15a285a4986d",
                3,
                "2019-11-13T01:28:51Z",
                "2019-11-26T07:01:13Z",
            )],
        ),
        skipped(
            "reallyfastci/webhook-pr-open.json",
            "pull_request",
            "pull_request opened",
        ),
        skipped(
            "reallyfastci/webhook-pr.json",
            "pull_request",
            "pull_request synchronize",
        ),
        mapped(
            "reallyfastci/webhook-push-to-master.json",
            "push",
            reallyfastci_push(),
        ),
    ]
}

/// `deployment_status/payload.json`: deployment 145988746 of Codertocat/Hello-World,
/// created 15:20:53Z, status `success` created 15:20:55Z, payload `{}`.
fn hello_world_deployment() -> Event {
    deployment(DeploymentFields {
        id: "github:Codertocat/Hello-World:145988746",
        // No service map: the repository's own name.
        service: "Hello-World",
        environment: Some("production"),
        repo: "Codertocat/Hello-World",
        sha: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
        status: "success",
        started_at: Some("2019-05-15T15:20:53Z"),
        finished_at: "2019-05-15T15:20:55Z",
    })
}

/// `workflow_run/completed.payload.json`: run 289782451, attempt 1, of the workflow
/// `test` (the run's own name is empty).
fn octo_repo_build(status: &str) -> Event {
    build(BuildFields {
        id: "github:octo-org/octo-repo:run:289782451:1",
        repo: "octo-org/octo-repo",
        sha: "3484a3fb816e0859fd6e1cea078d76385ff50625",
        status,
        branch: Some("master"),
        started_at: Some("2020-10-05T16:33:49Z"),
        finished_at: "2020-10-05T16:33:49Z",
        provider: "github-actions",
    })
}

/// The one commit of the with-new-branch push (its head_commit).
fn hello_world_initial_commit() -> Event {
    pushed(
        "Codertocat/Hello-World",
        "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "2019-05-15T15:19:25Z",
        "Codertocat",
        "Initial commit",
        &["README.md"],
    )
}

/// Five commits in list order, their offsets (-04:00, -08:00, -05:00) converted.
fn reallyfastci_push() -> Vec<Event> {
    let repo_name = "ailisp/gcbapp-buildconfig-example";
    vec![
        pushed(
            repo_name,
            "7682a248ad73d204eb94d9eab840c6fe41b8963d",
            "2019-11-02T17:56:20Z",
            "byao1276",
            "Update README.md",
            &["README.md"],
        ),
        pushed(
            repo_name,
            "411a0fbb93b25e1ba1d7ef7d437315c2a411ed52",
            "2019-11-03T04:12:20Z",
            "byao1276",
            "Update README.md",
            &["README.md"],
        ),
        pushed(
            repo_name,
            "7d1b24db3fde2747f9dadfb0f8abf0c8e6f40cad",
            "2019-11-07T00:06:40Z",
            "byao1276",
            "Update README.md",
            &["README.md"],
        ),
        pushed(
            repo_name,
            "7b5a809ab03679215c55926f7d111156ec98b865",
            "2019-11-13T01:21:49Z",
            "byao1276",
            "hehe",
            &["README.md"],
        ),
        pushed(
            repo_name,
            "a21683865c088b5fe1906cf6552d15a285a4986d",
            "2019-11-26T07:01:12Z",
            "Bo Yao",
            "Merge pull request #3 from byao1276/byao1276-patch-1\n\nByao1276 patch 1",
            &["README.md"],
        ),
    ]
}

#[test]
fn every_github_fixture_maps_to_what_the_table_says() {
    check_table(
        Source::Github,
        "x-github-event",
        "x-github-delivery",
        &cases(),
    );
}

#[test]
fn the_github_table_covers_every_fixture() {
    check_table_covers_folder("github", &cases());
}

fn github(event: &str, body: &[u8], routing: &Routing) -> Mapping {
    try_github(event, body, routing).unwrap_or_else(|e| panic!("{event} refused: {e}"))
}

fn try_github(
    event: &str,
    body: &[u8],
    routing: &Routing,
) -> Result<Mapping, shiplog_ingest::sources::MapError> {
    deliver(
        Source::Github,
        &headers(&[("x-github-event", event), ("x-github-delivery", "d-1")]),
        body,
        routing,
    )
}

fn edited(file: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value = fixture_json("github", file);
    edit(&mut value);
    to_body(&value)
}

#[test]
fn push_without_repository_is_refused_naming_repository() {
    let body = edited("go-playground-webhooks/push.json", |v| {
        v.as_object_mut().unwrap().remove("repository");
    });
    let error = try_github("push", &body, &Routing::default()).unwrap_err();
    assert_eq!(error.0, "push: repository is missing");
}

#[test]
fn push_with_a_bad_commit_time_names_the_commit_path() {
    let body = edited("reallyfastci/webhook-push-to-master.json", |v| {
        v["commits"][2]["timestamp"] = json!("last tuesday");
    });
    let error = try_github("push", &body, &Routing::default()).unwrap_err();
    assert!(error.0.starts_with("push: commits[2].timestamp"), "{error}");
}

#[test]
fn deployment_status_with_a_numeric_sha_is_refused_naming_the_field() {
    let body = edited("octokit-webhooks/deployment_status/payload.json", |v| {
        v["deployment"]["sha"] = json!(42);
    });
    let error = try_github("deployment_status", &body, &Routing::default()).unwrap_err();
    assert_eq!(
        error.0,
        "deployment_status: deployment.sha must be a string"
    );
}

#[test]
fn a_body_that_is_not_json_is_refused() {
    let error = try_github("push", b"payload=%7B%22ref%22", &Routing::default()).unwrap_err();
    assert!(
        error.0.starts_with("push: the body is not valid JSON"),
        "{error}"
    );
}

#[test]
fn a_delivery_without_the_event_header_is_refused() {
    let body = fixture("github", "go-playground-webhooks/push.json");
    let headers = headers(&[("x-github-delivery", "d-1")]);
    let error = deliver(Source::Github, &headers, &body, &Routing::default()).unwrap_err();
    assert_eq!(error.0, "the X-GitHub-Event header is missing");
}

#[test]
fn a_branch_push_lists_head_commit_when_commits_lack_it() {
    // A branch created at a known commit: GitHub lists no commits, only the head.
    let body = edited("octokit-webhooks/push/with-new-branch.payload.json", |v| {
        v["commits"] = json!([]);
    });
    let mapping = github("push", &body, &Routing::default());
    assert_eq!(mapping.events, vec![hello_world_initial_commit()]);
}

#[test]
fn a_merged_pull_request_without_merge_commit_sha_is_skipped() {
    let body = edited("comment-when-done/pull_requests.merged.json", |v| {
        v["pull_request"]["merge_commit_sha"] = Value::Null;
    });
    let mapping = github("pull_request", &body, &Routing::default());
    assert!(mapping.events.is_empty());
    assert_eq!(
        mapping.skipped.as_deref(),
        Some("merged pull request #2 has no merge_commit_sha")
    );
}

#[test]
fn deployment_status_in_a_monorepo_claimed_by_two_services_is_skipped_with_the_routing_reason() {
    let routing = routing_with(&[
        ("checkout", "Codertocat/Hello-World", &["checkout-api"]),
        ("search", "Codertocat/Hello-World", &[]),
    ]);
    let body = fixture("github", "octokit-webhooks/deployment_status/payload.json");
    let mapping = github("deployment_status", &body, &routing);
    assert!(mapping.events.is_empty(), "{:?}", mapping.events);
    let reason = mapping.skipped.expect("a reason");
    assert!(
        reason.contains(
            "repository Codertocat/Hello-World belongs to several services (checkout, search)"
        ),
        "{reason}"
    );
}

#[test]
fn deployment_payload_service_picks_the_monorepo_service() {
    let routing = routing_with(&[
        ("checkout", "Codertocat/Hello-World", &["checkout-api"]),
        ("search", "Codertocat/Hello-World", &[]),
    ]);
    // The payload as an object naming a deploy name, then as a JSON string naming a
    // service.
    for (payload, want) in [
        (json!({"service": "checkout-api"}), "checkout"),
        (json!("{\"service\": \"search\"}"), "search"),
    ] {
        let body = edited("octokit-webhooks/deployment_status/payload.json", |v| {
            v["deployment"]["payload"] = payload;
        });
        let mapping = github("deployment_status", &body, &routing);
        let [Event::Deployment(d)] = mapping.events.as_slice() else {
            panic!("{mapping:?}");
        };
        assert_eq!(d.service.as_str(), want);
    }
}

#[test]
fn failed_and_errored_deployment_statuses_are_failed_deployments_in_the_aliased_environment() {
    let mut routing = Routing::default();
    routing
        .environment_aliases
        .insert("prd".into(), "production".into());
    for state in ["failure", "error"] {
        let body = edited("octokit-webhooks/deployment_status/payload.json", |v| {
            v["deployment_status"]["state"] = json!(state);
            v["deployment_status"]["environment"] = json!("PRD");
        });
        let mapping = github("deployment_status", &body, &routing);
        let [Event::Deployment(d)] = mapping.events.as_slice() else {
            panic!("{mapping:?}");
        };
        assert_eq!(d.status.as_deref(), Some("failure"), "{state}");
        assert_eq!(d.environment.as_deref(), Some("production"));
    }
}

#[test]
fn an_inactive_deployment_status_is_skipped() {
    let body = edited("octokit-webhooks/deployment_status/payload.json", |v| {
        v["deployment_status"]["state"] = json!("inactive");
    });
    let mapping = github("deployment_status", &body, &Routing::default());
    assert!(mapping.events.is_empty());
    assert!(mapping.skipped.unwrap().contains("inactive"));
}

#[test]
fn a_deploy_workflow_glob_makes_a_workflow_run_a_deployment_as_well_as_a_build() {
    let routing = Routing {
        github_deploy_workflows: vec!["TE*".into()],
        ..Routing::default()
    };
    let body = fixture(
        "github",
        "octokit-webhooks/workflow_run/completed.payload.json",
    );
    let mapping = github("workflow_run", &body, &routing);
    assert_eq!(mapping.skipped, None);
    assert_eq!(
        mapping.events,
        vec![
            octo_repo_build("success"),
            deployment(DeploymentFields {
                id: "github:octo-org/octo-repo:run:289782451:1",
                // The workflow is called `test`, which no service lists: the repo decides.
                service: "octo-repo",
                environment: None,
                repo: "octo-org/octo-repo",
                sha: "3484a3fb816e0859fd6e1cea078d76385ff50625",
                status: "success",
                started_at: Some("2020-10-05T16:33:49Z"),
                finished_at: "2020-10-05T16:33:49Z",
            }),
        ]
    );
}

#[test]
fn a_deploy_workflow_in_a_monorepo_deploys_the_service_that_lists_it() {
    let mut routing = routing_with(&[
        ("api", "octo-org/octo-repo", &["test"]),
        ("web", "octo-org/octo-repo", &[]),
    ]);
    routing.github_deploy_workflows = vec!["test".into()];
    let body = fixture(
        "github",
        "octokit-webhooks/workflow_run/completed.payload.json",
    );
    let mapping = github("workflow_run", &body, &routing);
    let [Event::Build(_), Event::Deployment(d)] = mapping.events.as_slice() else {
        panic!("{mapping:?}");
    };
    assert_eq!(d.service.as_str(), "api");

    // Nobody lists it: the build is still mapped, the deployment is not, and the
    // reason says why.
    routing
        .services
        .get_mut("api")
        .unwrap()
        .deploy_names
        .clear();
    let mapping = github("workflow_run", &body, &routing);
    assert_eq!(mapping.events, vec![octo_repo_build("success")]);
    let reason = mapping.skipped.expect("a reason");
    assert!(reason.contains("deploy workflow \"test\""), "{reason}");
    assert!(reason.contains("several services (api, web)"), "{reason}");
}

#[test]
fn workflow_run_conclusions_decide_failed_or_skipped() {
    for (conclusion, want) in [
        ("failure", Some("failure")),
        ("timed_out", Some("failure")),
        ("startup_failure", Some("failure")),
        ("cancelled", None),
        ("skipped", None),
        ("neutral", None),
        ("action_required", None),
        ("stale", None),
    ] {
        let body = edited(
            "octokit-webhooks/workflow_run/completed.payload.json",
            |v| {
                v["workflow_run"]["conclusion"] = json!(conclusion);
            },
        );
        let mapping = github("workflow_run", &body, &Routing::default());
        match want {
            Some(status) => assert_eq!(mapping.events, vec![octo_repo_build(status)]),
            None => {
                assert!(mapping.events.is_empty(), "{conclusion}");
                assert!(
                    mapping
                        .skipped
                        .unwrap()
                        .contains("not a verdict on the code"),
                    "{conclusion}"
                );
            }
        }
    }
}

#[test]
fn a_rerun_is_a_build_of_its_own_named_by_the_run() {
    let body = edited(
        "octokit-webhooks/workflow_run/completed.payload.json",
        |v| {
            v["workflow_run"]["run_attempt"] = json!(2);
            v["workflow_run"]["name"] = json!("CI");
        },
    );
    let mapping = github("workflow_run", &body, &Routing::default());
    let [Event::Build(b)] = mapping.events.as_slice() else {
        panic!("{mapping:?}");
    };
    assert_eq!(b.id.as_str(), "github:octo-org/octo-repo:run:289782451:2");
}

fn with_incident_label(v: &mut Value) {
    v["issue"]["labels"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Incident", "color": "b60205"}));
}

#[test]
fn an_issue_labelled_incident_is_an_open_incident() {
    let body = edited(
        "octokit-webhooks/issues/opened.payload.json",
        with_incident_label,
    );
    let mapping = github("issues", &body, &Routing::default());
    assert_eq!(mapping.skipped, None);
    assert_eq!(
        mapping.events,
        vec![incident(IncidentFields {
            id: "github:Codertocat/Hello-World:issue:1",
            service: "Hello-World",
            opened_at: "2019-05-15T15:20:18Z",
            resolved_at: None,
            severity: None,
            title: "Spelling error in the README file",
        })]
    );
}

#[test]
fn a_closed_incident_issue_is_resolved_at_its_closing() {
    let body = edited("comment-when-done/issues.closed.json", with_incident_label);
    let mapping = github("issues", &body, &Routing::default());
    assert_eq!(
        mapping.events,
        vec![incident(IncidentFields {
            id: "github:C-Saunders/flynn_env_test:issue:1",
            service: "flynn_env_test",
            opened_at: "2018-11-18T18:39:20Z",
            resolved_at: Some("2018-11-18T18:42:08Z"),
            severity: None,
            title: "Test Issue 1",
        })]
    );
}

#[test]
fn a_reopened_incident_carries_no_resolution() {
    let body = edited("comment-when-done/issues.closed.json", |v| {
        with_incident_label(v);
        v["action"] = json!("reopened");
        v["issue"]["state"] = json!("open");
        v["issue"]["closed_at"] = Value::Null;
    });
    let mapping = github("issues", &body, &Routing::default());
    let [Event::Incident(i)] = mapping.events.as_slice() else {
        panic!("{mapping:?}");
    };
    assert_eq!(i.resolved_at, None);
}

#[test]
fn removing_the_incident_label_keeps_the_incident() {
    let body = edited("octokit-webhooks/issues/labeled.payload.json", |v| {
        v["action"] = json!("unlabeled");
        v["label"]["name"] = json!("incident");
    });
    let mapping = github("issues", &body, &Routing::default());
    assert!(mapping.events.is_empty());
    assert!(
        mapping
            .skipped
            .unwrap()
            .contains("issue #1 lost its incident label; an incident once recorded stays")
    );
}

#[test]
fn an_incident_issue_in_a_shared_repo_is_skipped_with_the_routing_reason() {
    let routing = routing_with(&[
        ("checkout", "Codertocat/Hello-World", &[]),
        ("search", "Codertocat/Hello-World", &[]),
    ]);
    let body = edited(
        "octokit-webhooks/issues/opened.payload.json",
        with_incident_label,
    );
    let mapping = github("issues", &body, &routing);
    assert!(mapping.events.is_empty());
    assert!(mapping.skipped.unwrap().contains("several services"));
}

#[test]
fn a_branch_deletion_is_skipped() {
    // push/payload.json deletes the tag `simple-tag`; the same delivery for a branch.
    let body = edited("octokit-webhooks/push/payload.json", |v| {
        v["ref"] = json!("refs/heads/feature");
    });
    let mapping = github("push", &body, &Routing::default());
    assert!(mapping.events.is_empty());
    assert_eq!(
        mapping.skipped.as_deref(),
        Some("push to refs/heads/feature deletes the branch: nothing to map")
    );
}
