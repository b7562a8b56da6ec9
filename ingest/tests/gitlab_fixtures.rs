//! The GitLab adapter on the real payloads of `tests/fixtures/gitlab`: every fixture
//! with the outcome worked out by hand from the file, then the cases no fixture
//! covers, made by editing a real body (each edit says what it changes).

mod common;

use common::*;
use serde_json::{Value, json};
use shiplog_ingest::sources::{MapError, Mapping, Routing, Source};
use shiplog_model::Event;

const JOBS: &str = "single jobs are not used";
const OPEN_MR: &str = "merge request !1 open: only a merged merge request maps";

/// Every fixture: its file, the `X-Gitlab-Event` it is delivered with, and what it
/// maps to. Expected values are read off the files; times are converted to UTC by
/// hand.
fn cases() -> Vec<Case> {
    vec![
        skipped(
            "argo-cd-testdata/gitlab-merge-request-open-event.json",
            "Merge Request Hook",
            OPEN_MR,
        ),
        // object_kind `build`: the Job Hook's body.
        skipped("go-playground-webhooks/build-event.json", "Job Hook", JOBS),
        skipped(
            "go-playground-webhooks/issue-event.json",
            "Issue Hook",
            "issue #23 is not an incident",
        ),
        skipped("go-playground-webhooks/job-event.json", "Job Hook", JOBS),
        skipped(
            "go-playground-webhooks/merge-request-event.json",
            "Merge Request Hook",
            OPEN_MR,
        ),
        mapped(
            "go-playground-webhooks/push-event.json",
            "Push Hook",
            // total_commits_count is 4, but GitLab listed 2: only those are mapped.
            vec![
                pushed(
                    "mike/diaspora",
                    "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
                    "2011-12-12T12:27:31Z",
                    "Jordi Mallach",
                    "Update Catalan translation to e38cb41.",
                    &["CHANGELOG", "app/controller/application.rb"],
                ),
                pushed(
                    "mike/diaspora",
                    "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                    "2012-01-03T21:36:29Z",
                    "GitLab dev user",
                    "fixed readme",
                    &["CHANGELOG", "app/controller/application.rb"],
                ),
            ],
        ),
        skipped(
            "go-playground-webhooks/tag-event.json",
            "Tag Push Hook",
            "Tag Push Hook: a tag adds no commits",
        ),
        mapped(
            "xanzy-go-gitlab/deployment.json",
            "Deployment Hook",
            vec![deployment(DeploymentFields {
                id: "gitlab:root/test-deployment-webhooks:deployment:15",
                service: "test-deployment-webhooks",
                environment: Some("staging"),
                repo: "root/test-deployment-webhooks",
                // The last segment of commit_url; short_sha is 279484c0.
                sha: "279484c09fbe69ededfced8c1bb6e6d24616b468",
                status: "success",
                started_at: None,
                // status_changed_at 2021-04-28 21:50:00 +0200.
                finished_at: "2021-04-28T19:50:00Z",
            })],
        ),
        // This file's object_attributes keys carry trailing spaces (`"iid "`,
        // `"updated_at "`): a merge (action `merge`, merge_commit_sha given) whose time
        // cannot be read. Refused, naming the field, rather than given a made-up time.
        refused(
            "xanzy-go-gitlab/group_merge_request.json",
            "Merge Request Hook",
            "Merge Request Hook: object_attributes.updated_at is missing",
        ),
        // `severity` and `escalation_status` are there, but its `type` is not
        // Incident in GitLab's docs either, and no label says incident.
        skipped(
            "xanzy-go-gitlab/issue.json",
            "Issue Hook",
            "issue #23 is not an incident",
        ),
        skipped("xanzy-go-gitlab/job.json", "Job Hook", JOBS),
        skipped(
            "xanzy-go-gitlab/merge_request.json",
            "Merge Request Hook",
            OPEN_MR,
        ),
        mapped(
            "xanzy-go-gitlab/pipeline.json",
            "Pipeline Hook",
            vec![gitlab_test_pipeline("success", Some("master"))],
        ),
        mapped(
            "xanzy-go-gitlab/push.json",
            "Push Hook",
            vec![
                pushed(
                    "mike/diaspora",
                    "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
                    "2011-12-12T12:27:31Z",
                    "Jordi Mallach",
                    "Merge branch 'some-feature' into 'master'\n\nRelease v1.0.0\n\nSee merge request jsmith/example!1",
                    &["CHANGELOG", "app/controller/application.rb"],
                ),
                pushed(
                    "mike/diaspora",
                    "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                    "2012-01-03T21:36:29Z",
                    "GitLab dev user",
                    "fixed readme\n",
                    &["CHANGELOG", "app/controller/application.rb"],
                ),
            ],
        ),
        skipped(
            "xanzy-go-gitlab/release.json",
            "Release Hook",
            "Release Hook: not used",
        ),
    ]
}

/// `pipeline.json`: pipeline 31 of gitlab-org/gitlab-test, created 15:23:28 UTC,
/// finished 15:26:29 UTC.
fn gitlab_test_pipeline(status: &str, branch: Option<&str>) -> Event {
    build(BuildFields {
        id: "gitlab:gitlab-org/gitlab-test:pipeline:31",
        repo: "gitlab-org/gitlab-test",
        sha: "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
        status,
        branch,
        started_at: Some("2016-08-12T15:23:28Z"),
        finished_at: "2016-08-12T15:26:29Z",
        provider: "gitlab-ci",
    })
}

#[test]
fn every_gitlab_fixture_maps_to_what_the_table_says() {
    check_table(
        Source::Gitlab,
        "x-gitlab-event",
        "x-gitlab-event-uuid",
        &cases(),
    );
}

#[test]
fn the_gitlab_table_covers_every_fixture() {
    check_table_covers_folder("gitlab", &cases());
}

fn try_gitlab(event: Option<&str>, body: &[u8], routing: &Routing) -> Result<Mapping, MapError> {
    let mut pairs = vec![("x-gitlab-event-uuid", "u-1")];
    if let Some(event) = event {
        pairs.push(("x-gitlab-event", event));
    }
    deliver(Source::Gitlab, &headers(&pairs), body, routing)
}

fn gitlab(event: &str, body: &[u8], routing: &Routing) -> Mapping {
    try_gitlab(Some(event), body, routing).unwrap_or_else(|e| panic!("{event} refused: {e}"))
}

fn edited(file: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value = fixture_json("gitlab", file);
    edit(&mut value);
    to_body(&value)
}

/// `merge_request.json` (opened) turned into its merge event.
fn merged(v: &mut Value) {
    v["object_attributes"]["action"] = json!("merge");
    v["object_attributes"]["state"] = json!("merged");
    v["object_attributes"]["merge_commit_sha"] = json!("ac3ca1559bc39abf963586372eff7f8fdded646e");
}

#[test]
fn a_merge_event_without_merged_at_is_merged_at_its_updated_at() {
    let body = edited("xanzy-go-gitlab/merge_request.json", merged);
    let mapping = gitlab("Merge Request Hook", &body, &Routing::default());
    assert_eq!(mapping.skipped, None);
    assert_eq!(
        mapping.events,
        vec![gitlab_test_merge_commit("2013-12-03T17:23:34Z")]
    );
}

#[test]
fn merged_at_wins_over_updated_at() {
    let body = edited("xanzy-go-gitlab/merge_request.json", |v| {
        merged(v);
        v["object_attributes"]["merged_at"] = json!("2013-12-04 09:30:00 +0100");
        v["object_attributes"]["updated_at"] = json!("2013-12-05T00:00:00Z");
    });
    let mapping = gitlab("Merge Request Hook", &body, &Routing::default());
    assert_eq!(
        mapping.events,
        vec![gitlab_test_merge_commit("2013-12-04T08:30:00Z")]
    );
}

#[test]
fn a_later_update_of_a_merged_merge_request_without_merged_at_is_skipped() {
    let body = edited("xanzy-go-gitlab/merge_request.json", |v| {
        merged(v);
        v["object_attributes"]["action"] = json!("update");
    });
    let mapping = gitlab("Merge Request Hook", &body, &Routing::default());
    assert!(mapping.events.is_empty());
    assert!(
        mapping.skipped.unwrap().contains("carries no merge time"),
        "an update's updated_at is not the merge time"
    );
}

#[test]
fn a_merge_without_merge_commit_sha_is_skipped() {
    let body = edited("xanzy-go-gitlab/merge_request.json", |v| {
        merged(v);
        v["object_attributes"]["merge_commit_sha"] = Value::Null;
    });
    let mapping = gitlab("Merge Request Hook", &body, &Routing::default());
    assert!(mapping.events.is_empty());
    assert!(
        mapping
            .skipped
            .unwrap()
            .contains("merged merge request !1 has no merge_commit_sha")
    );
}

#[test]
fn pipeline_statuses_decide_failed_or_skipped() {
    let body = edited("xanzy-go-gitlab/pipeline.json", |v| {
        v["object_attributes"]["status"] = json!("failed");
    });
    let mapping = gitlab("Pipeline Hook", &body, &Routing::default());
    assert_eq!(
        mapping.events,
        vec![gitlab_test_pipeline("failure", Some("master"))]
    );
    for status in [
        "running", "pending", "canceled", "skipped", "created", "manual",
    ] {
        let body = edited("xanzy-go-gitlab/pipeline.json", |v| {
            v["object_attributes"]["status"] = json!(status);
        });
        let mapping = gitlab("Pipeline Hook", &body, &Routing::default());
        assert!(mapping.events.is_empty(), "{status}");
        assert!(
            mapping
                .skipped
                .unwrap()
                .contains(&format!("pipeline 31 is {status}")),
            "{status}"
        );
    }
}

#[test]
fn a_tag_pipeline_has_no_branch() {
    let body = edited("xanzy-go-gitlab/pipeline.json", |v| {
        v["object_attributes"]["tag"] = json!(true);
        v["object_attributes"]["ref"] = json!("v1.0.0");
    });
    let mapping = gitlab("Pipeline Hook", &body, &Routing::default());
    assert_eq!(mapping.events, vec![gitlab_test_pipeline("success", None)]);
}

#[test]
fn deployment_statuses_decide_failed_or_skipped() {
    let body = edited("xanzy-go-gitlab/deployment.json", |v| {
        v["status"] = json!("failed");
    });
    let mapping = gitlab("Deployment Hook", &body, &Routing::default());
    let [Event::Deployment(d)] = mapping.events.as_slice() else {
        panic!("{mapping:?}");
    };
    assert_eq!(d.status.as_deref(), Some("failure"));
    for status in ["running", "created", "canceled"] {
        let body = edited("xanzy-go-gitlab/deployment.json", |v| {
            v["status"] = json!(status);
        });
        let mapping = gitlab("Deployment Hook", &body, &Routing::default());
        assert!(mapping.events.is_empty(), "{status}");
        assert!(
            mapping
                .skipped
                .unwrap()
                .contains("not a finished deployment")
        );
    }
}

#[test]
fn a_deployment_in_a_monorepo_claimed_by_two_services_is_skipped_with_the_routing_reason() {
    let routing = routing_with(&[
        ("api", "root/test-deployment-webhooks", &[]),
        ("web", "root/test-deployment-webhooks", &[]),
    ]);
    let body = fixture("gitlab", "xanzy-go-gitlab/deployment.json");
    let mapping = gitlab("Deployment Hook", &body, &routing);
    assert!(mapping.events.is_empty());
    assert!(
        mapping
            .skipped
            .unwrap()
            .contains("several services (api, web)")
    );
}

#[test]
fn a_deployment_goes_to_the_service_of_its_repo_in_the_aliased_environment() {
    let mut routing = routing_with(&[("deployer", "root/test-deployment-webhooks", &[])]);
    routing
        .environment_aliases
        .insert("staging".into(), "stage".into());
    let body = fixture("gitlab", "xanzy-go-gitlab/deployment.json");
    let mapping = gitlab("Deployment Hook", &body, &routing);
    let [Event::Deployment(d)] = mapping.events.as_slice() else {
        panic!("{mapping:?}");
    };
    assert_eq!(d.service.as_str(), "deployer");
    assert_eq!(d.environment.as_deref(), Some("stage"));
}

#[test]
fn a_deployment_whose_commit_url_names_no_full_sha_is_refused() {
    let body = edited("xanzy-go-gitlab/deployment.json", |v| {
        v["commit_url"] = json!("http://10.126.0.2:3000/root/test-deployment-webhooks/-/commits");
    });
    let error = try_gitlab(Some("Deployment Hook"), &body, &Routing::default()).unwrap_err();
    assert!(
        error
            .0
            .starts_with("Deployment Hook: commit_url does not end in a commit sha"),
        "{error}"
    );

    let body = edited("xanzy-go-gitlab/deployment.json", |v| {
        v["short_sha"] = json!("deadbeef");
    });
    let error = try_gitlab(Some("Deployment Hook"), &body, &Routing::default()).unwrap_err();
    assert!(error.0.contains("short_sha"), "{error}");
}

/// The merge commit the merged merge_request.json fixture maps to (opened 17:23:34).
fn gitlab_test_merge_commit(merged_at: &str) -> Event {
    merge_commit(
        "gitlabhq/gitlab-test",
        "ac3ca1559bc39abf963586372eff7f8fdded646e",
        1,
        "2013-12-03T17:23:34Z",
        merged_at,
    )
}

fn gitlab_test_incident(resolved_at: Option<&str>) -> Event {
    incident(IncidentFields {
        id: "gitlab:gitlabhq/gitlab-test:issue:23",
        service: "gitlab-test",
        opened_at: "2013-12-03T17:15:43Z",
        resolved_at,
        severity: Some("high"),
        title: "New API: create/update/delete file",
    })
}

#[test]
fn an_issue_labelled_incident_is_an_incident() {
    let body = edited("xanzy-go-gitlab/issue.json", |v| {
        v["object_attributes"]["labels"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 207, "title": "Incident", "type": "ProjectLabel"}));
    });
    let mapping = gitlab("Issue Hook", &body, &Routing::default());
    assert_eq!(mapping.skipped, None);
    assert_eq!(mapping.events, vec![gitlab_test_incident(None)]);
}

#[test]
fn an_issue_of_type_incident_is_an_incident() {
    for (key, value) in [("type", "Incident"), ("issue_type", "incident")] {
        let body = edited("xanzy-go-gitlab/issue.json", |v| {
            v["object_attributes"][key] = json!(value);
        });
        let mapping = gitlab("Issue Hook", &body, &Routing::default());
        assert_eq!(mapping.events, vec![gitlab_test_incident(None)], "{key}");
    }
}

#[test]
fn a_closed_incident_is_resolved_at_closed_at_else_at_updated_at() {
    let body = edited("xanzy-go-gitlab/issue.json", |v| {
        v["object_attributes"]["type"] = json!("Incident");
        v["object_attributes"]["state"] = json!("closed");
        v["object_attributes"]["action"] = json!("close");
        v["object_attributes"]["closed_at"] = json!("2013-12-03 19:00:00 UTC");
        v["object_attributes"]["updated_at"] = json!("2013-12-03 19:00:01 UTC");
    });
    let mapping = gitlab("Issue Hook", &body, &Routing::default());
    assert_eq!(
        mapping.events,
        vec![gitlab_test_incident(Some("2013-12-03T19:00:00Z"))]
    );

    // Older GitLab sends no closed_at.
    let body = edited("xanzy-go-gitlab/issue.json", |v| {
        v["object_attributes"]["type"] = json!("Incident");
        v["object_attributes"]["state"] = json!("closed");
        v["object_attributes"]["action"] = json!("close");
        v["object_attributes"]["updated_at"] = json!("2013-12-03 19:00:01 UTC");
    });
    let mapping = gitlab("Issue Hook", &body, &Routing::default());
    assert_eq!(
        mapping.events,
        vec![gitlab_test_incident(Some("2013-12-03T19:00:01Z"))]
    );
}

#[test]
fn without_the_header_the_body_object_kind_names_the_event() {
    let body = fixture("gitlab", "xanzy-go-gitlab/push.json");
    let mapping = try_gitlab(None, &body, &Routing::default()).unwrap();
    assert_eq!(mapping.event_type, "push");
    assert_eq!(mapping.delivery_id.as_deref(), Some("u-1"));
    assert_eq!(mapping.events.len(), 2);
}

#[test]
fn a_system_hook_is_read_by_its_object_kind() {
    let body = fixture("gitlab", "go-playground-webhooks/push-event.json");
    let mapping = gitlab("System Hook", &body, &Routing::default());
    assert_eq!(mapping.event_type, "System Hook");
    assert_eq!(mapping.events.len(), 2);
}

#[test]
fn without_header_or_object_kind_the_delivery_is_refused() {
    let body = edited("xanzy-go-gitlab/push.json", |v| {
        v.as_object_mut().unwrap().remove("object_kind");
    });
    let error = try_gitlab(None, &body, &Routing::default()).unwrap_err();
    assert_eq!(
        error.0,
        "the X-Gitlab-Event header is missing and the body has no object_kind"
    );
}

#[test]
fn a_push_without_project_is_refused_naming_project() {
    let body = edited("xanzy-go-gitlab/push.json", |v| {
        v.as_object_mut().unwrap().remove("project");
    });
    let error = try_gitlab(Some("Push Hook"), &body, &Routing::default()).unwrap_err();
    assert_eq!(error.0, "Push Hook: project is missing");
}

#[test]
fn a_body_that_is_not_json_is_refused() {
    let error = try_gitlab(Some("Push Hook"), b"<html>", &Routing::default()).unwrap_err();
    assert!(
        error.0.starts_with("Push Hook: the body is not valid JSON"),
        "{error}"
    );
}

#[test]
fn a_branch_deletion_is_skipped() {
    let body = edited("xanzy-go-gitlab/push.json", |v| {
        v["after"] = json!("0000000000000000000000000000000000000000");
        v["commits"] = json!([]);
        v["total_commits_count"] = json!(0);
    });
    let mapping = gitlab("Push Hook", &body, &Routing::default());
    assert!(mapping.events.is_empty());
    assert!(
        mapping
            .skipped
            .unwrap()
            .contains("push to refs/heads/master deletes the branch")
    );
}
