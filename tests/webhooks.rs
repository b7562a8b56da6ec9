//! The webhook routes over a real socket: each sender's own proof of origin, the
//! raw log first with dedupe by delivery id, the answers SPEC §6 and the issue
//! give (202 stored, 200 repeat, 202 with nothing mapped, 400, 401, 404), a GitHub
//! story that ends as numbers on `/api/v1/metrics`, and replay after a config fix.

mod support;

use secrecy::SecretString;
use serde_json::{Value, json};
use shiplog_ingest::sources::signature::sign_hex;
use shiplog_model::ServiceSettings;
use support::{TestApp, fixture, spawn_app};

const GITHUB_SECRET: &str = "gh-webhook-secret";
const GITLAB_TOKEN: &str = "gl-webhook-token";
const PAGERDUTY_SECRET: &str = "pd-signing-secret";
const ADMIN_TOKEN: &str = "admin-token";

fn with_secrets(config: &mut shiplog_web::Config) {
    config.sources.github_secret = Some(SecretString::from(GITHUB_SECRET));
    config.sources.gitlab_token = Some(SecretString::from(GITLAB_TOKEN));
    config.sources.pagerduty_secret = Some(SecretString::from(PAGERDUTY_SECRET));
    config.tokens.admin = Some(SecretString::from(ADMIN_TOKEN));
}

/// Posts `body` as GitHub would: event name, delivery id, HMAC signature.
async fn github(app: &TestApp, event: &str, delivery: &str, body: &[u8]) -> (u16, Value) {
    let signature = format!("sha256={}", sign_hex(GITHUB_SECRET.as_bytes(), body));
    app.webhook(
        "github",
        &[
            ("x-github-event", event),
            ("x-github-delivery", delivery),
            ("x-hub-signature-256", &signature),
        ],
        body,
    )
    .await
}

const MERGE_SHA: &str = "62b8e707477a463a4db8d9bb37c26d1481a32ae2";

/// The story, on real GitHub payload shapes with the repository, shas and times
/// set to fit one another: a PR merged at 10:00, pushed to main, deployed at
/// 12:00, an incident issue opened at 13:00 and closed at 15:30.
fn story() -> Vec<(&'static str, Value)> {
    let repo = json!({"full_name": "acme/shop", "name": "shop"});

    let mut pr = fixture("github/comment-when-done/pull_requests.merged.json");
    pr["repository"] = repo.clone();
    pr["pull_request"]["base"]["repo"]["full_name"] = json!("acme/shop");
    pr["pull_request"]["merge_commit_sha"] = json!(MERGE_SHA);
    pr["pull_request"]["created_at"] = json!("2026-03-01T10:00:00Z");
    pr["pull_request"]["merged_at"] = json!("2026-03-02T10:00:00Z");

    let mut push = fixture("github/reallyfastci/webhook-push-to-master.json");
    push["repository"] = repo.clone();
    push["ref"] = json!("refs/heads/main");
    let mut commit = push["commits"][0].clone();
    commit["id"] = json!(MERGE_SHA);
    commit["timestamp"] = json!("2026-03-02T10:00:00Z");
    push["commits"] = json!([commit.clone()]);
    push["head_commit"] = commit;
    push["after"] = json!(MERGE_SHA);

    let mut deployed = fixture("github/octokit-webhooks/deployment_status/payload.json");
    deployed["repository"] = repo.clone();
    deployed["deployment"]["sha"] = json!(MERGE_SHA);
    deployed["deployment"]["created_at"] = json!("2026-03-02T11:30:00Z");
    deployed["deployment_status"]["created_at"] = json!("2026-03-02T12:00:00Z");
    deployed["deployment_status"]["updated_at"] = json!("2026-03-02T12:00:00Z");

    let mut opened = fixture("github/codinasion-bot/issues.labeled.json");
    opened["repository"] = repo.clone();
    opened["issue"]["labels"] = json!([{"name": "incident"}]);
    opened["label"] = json!({"name": "incident"});
    opened["issue"]["created_at"] = json!("2026-03-02T13:00:00Z");

    let mut closed = fixture("github/codinasion-bot/issues.closed.json");
    closed["repository"] = repo;
    closed["issue"]["number"] = opened["issue"]["number"].clone();
    closed["issue"]["labels"] = json!([{"name": "incident"}]);
    closed["issue"]["created_at"] = json!("2026-03-02T13:00:00Z");
    closed["issue"]["closed_at"] = json!("2026-03-02T15:30:00Z");

    vec![
        ("pull_request", pr),
        ("push", push),
        ("deployment_status", deployed),
        ("issues", opened),
        ("issues", closed),
    ]
}

#[tokio::test]
async fn a_github_story_becomes_lead_time_failure_and_restore_figures() {
    let app = spawn_app(with_secrets).await;
    for (n, (event, body)) in story().into_iter().enumerate() {
        let (status, answer) = github(
            &app,
            event,
            &format!("story-{n}"),
            body.to_string().as_bytes(),
        )
        .await;
        assert_eq!(status, 202, "{event}: {answer}");
        assert_eq!(answer["mapped"], 1, "{event}: {answer}");
    }
    let m = app.metrics("from=2026-03-02&to=2026-03-03").await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    // Lead time: deployed 12:00, merge commit at 10:00 → 2 h.
    assert_eq!(m["lead_time"]["samples"], 1, "{m}");
    assert_eq!(m["lead_time"]["median_hours"], 2.0, "{m}");
    // The incident opened 13:00, an hour after the deployment (rule c).
    assert_eq!(m["change_failure_rate"]["failed"], 1, "{m}");
    assert_eq!(m["change_failure_rate"]["rate"], 1.0, "{m}");
    // Recovered when the incident closed at 15:30: 3.5 h after the deployment.
    assert_eq!(m["failed_deployment_recovery"]["recovered"], 1, "{m}");
    assert_eq!(m["failed_deployment_recovery"]["median_hours"], 3.5, "{m}");
    // Restored 2.5 h after it opened.
    assert_eq!(m["time_to_restore"]["resolved"], 1, "{m}");
    assert_eq!(m["time_to_restore"]["median_hours"], 2.5, "{m}");
    app.stop().await;
}

#[tokio::test]
async fn github_signatures_are_checked_before_anything_is_stored() {
    let app = spawn_app(with_secrets).await;
    let body = fixture("github/octokit-webhooks/ping/payload.json").to_string();
    let good = format!(
        "sha256={}",
        sign_hex(GITHUB_SECRET.as_bytes(), body.as_bytes())
    );
    let wrong = format!("sha256={}", sign_hex(b"not the secret", body.as_bytes()));
    let cases: [(&str, Option<&str>, &[u8]); 3] = [
        ("missing", None, body.as_bytes()),
        ("wrong secret", Some(&wrong), body.as_bytes()),
        ("tampered body", Some(&good), b"{\"zen\":\"tampered\"}"),
    ];
    for (case, signature, sent) in cases {
        let mut headers = vec![("x-github-event", "ping"), ("x-github-delivery", "sig-1")];
        if let Some(signature) = signature {
            headers.push(("x-hub-signature-256", signature));
        }
        let (status, answer) = app.webhook("github", &headers, sent).await;
        assert_eq!(status, 401, "{case}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("X-Hub-Signature-256"),
            "{case}: {answer}"
        );
    }
    assert_eq!(
        app.raw_events(),
        0,
        "nothing is stored without a valid signature"
    );
    let (status, answer) = github(&app, "ping", "sig-1", body.as_bytes()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(app.raw_events(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_route_without_its_secret_refuses_and_names_the_variable() {
    let app = spawn_app(|_| {}).await;
    let body = fixture("github/octokit-webhooks/ping/payload.json").to_string();
    for (source, variable) in [
        ("github", "SHIPLOG_GITHUB_SECRET"),
        ("gitlab", "SHIPLOG_GITLAB_TOKEN"),
        ("pagerduty", "SHIPLOG_PAGERDUTY_SECRET"),
        ("argocd", "SHIPLOG_ARGOCD_TOKEN"),
        ("cdevents", "SHIPLOG_CDEVENTS_TOKEN"),
    ] {
        let (status, answer) = app.webhook(source, &[], body.as_bytes()).await;
        assert_eq!(status, 401, "{source}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(variable),
            "{source}: {answer}"
        );
    }
    let (status, answer) = app.webhook("jenkins", &[], body.as_bytes()).await;
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("github, gitlab"),
        "{answer}"
    );
    assert_eq!(app.raw_events(), 0);
    app.stop().await;
}

#[tokio::test]
async fn repeats_unused_events_and_mismatched_bodies_get_their_own_answers() {
    let app = spawn_app(with_secrets).await;
    let ping = fixture("github/octokit-webhooks/ping/payload.json").to_string();
    let (status, answer) = github(&app, "ping", "d-1", ping.as_bytes()).await;
    assert_eq!(
        (status, answer["mapped"].as_u64()),
        (202, Some(0)),
        "{answer}"
    );
    assert!(
        answer["skipped"].as_str().unwrap().contains("ping"),
        "{answer}"
    );

    let star = fixture("github/octokit-webhooks/release/published.payload.json").to_string();
    let (status, answer) = github(&app, "star", "d-2", star.as_bytes()).await;
    assert_eq!(
        (status, answer["mapped"].as_u64()),
        (202, Some(0)),
        "{answer}"
    );

    let (status, answer) = github(&app, "ping", "d-1", ping.as_bytes()).await;
    assert_eq!(status, 200, "a repeated delivery id is a repeat: {answer}");
    assert_eq!(answer["duplicates"], 1, "{answer}");
    assert_eq!(app.raw_events(), 2);

    // A deployment_status body sent as a push (SPEC §6): JSON that cannot be mapped is
    // stored unmapped with the reason and answered 202 with it, so that a replay can
    // map it once the mapping or the config is fixed.
    let wrong = fixture("github/octokit-webhooks/deployment_status/payload.json").to_string();
    let (status, answer) = github(&app, "push", "d-3", wrong.as_bytes()).await;
    assert_eq!(
        (status, answer["mapped"].as_u64()),
        (202, Some(0)),
        "{answer}"
    );
    let reason = answer["skipped"].as_str().unwrap().to_owned();
    assert!(reason.starts_with("cannot be mapped: push:"), "{answer}");
    assert_eq!(answer["delivery"], "github:d-3", "{answer}");
    assert_eq!(app.raw_events(), 3);
    let (status, csv) = app
        .get_text("/data-health/unmapped-deliveries?format=csv")
        .await;
    assert_eq!(status, 200);
    let listed: Vec<&str> = csv.lines().filter(|l| l.contains("github:d-3")).collect();
    assert_eq!(listed.len(), 1, "{csv}");
    assert!(listed[0].contains("cannot be mapped: push:"), "{csv}");
    // Sent again it is a repeat; replayed, it is mapped again and keeps its reason.
    let (status, answer) = github(&app, "push", "d-3", wrong.as_bytes()).await;
    assert_eq!((status, answer["duplicates"].as_u64()), (200, Some(1)));
    let summary: Value = app
        .client
        .post(format!("{}/api/v1/admin/replay?source=github", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["deliveries"], 3, "{summary}");
    let (_, csv) = app
        .get_text("/data-health/unmapped-deliveries?format=csv")
        .await;
    assert!(csv.contains("cannot be mapped: push:"), "{csv}");

    // Only a body that is not JSON at all is refused, and not stored.
    let (status, answer) = github(&app, "push", "d-4", b"not json").await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("not JSON"),
        "{answer}"
    );
    assert_eq!(app.raw_events(), 3, "a body that is not JSON is not stored");
    app.stop().await;
}

#[tokio::test]
async fn gitlab_and_pagerduty_verify_their_own_schemes() {
    let app = spawn_app(with_secrets).await;
    let push = fixture("gitlab/go-playground-webhooks/push-event.json").to_string();
    let headers = [
        ("x-gitlab-event", "Push Hook"),
        ("x-gitlab-event-uuid", "gl-1"),
        ("x-gitlab-token", GITLAB_TOKEN),
    ];
    let (status, answer) = app.webhook("gitlab", &headers, push.as_bytes()).await;
    assert_eq!(status, 202, "{answer}");
    assert!(answer["mapped"].as_u64().unwrap() > 0, "{answer}");
    let wrong = [("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "nope")];
    let (status, _) = app.webhook("gitlab", &wrong, push.as_bytes()).await;
    assert_eq!(status, 401);

    let incident = fixture("pagerduty/triggered_v3.json").to_string();
    let signature = format!(
        "v1={},v1={}",
        sign_hex(b"an older secret", incident.as_bytes()),
        sign_hex(PAGERDUTY_SECRET.as_bytes(), incident.as_bytes())
    );
    let (status, answer) = app
        .webhook(
            "pagerduty",
            &[("x-pagerduty-signature", &signature)],
            incident.as_bytes(),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 1, "{answer}");
    let (status, _) = app.webhook("pagerduty", &[], incident.as_bytes()).await;
    assert_eq!(status, 401);
    app.stop().await;
}

/// Posts `body` as PagerDuty would, signed with the configured secret.
async fn pagerduty(app: &TestApp, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let signature = format!(
        "v1={}",
        sign_hex(PAGERDUTY_SECRET.as_bytes(), body.as_bytes())
    );
    app.webhook(
        "pagerduty",
        &[("x-pagerduty-signature", &signature)],
        body.as_bytes(),
    )
    .await
}

#[tokio::test]
async fn a_pagerduty_resolution_before_its_trigger_still_gives_the_restore_time() {
    let app = spawn_app(with_secrets).await;
    let trigger = fixture("pagerduty/triggered_v3.json");
    // The resolution fixture, made the resolution of the triggered incident 90 minutes
    // later. Neither carries `data.created_at`, like the fixtures.
    let mut resolution = fixture("pagerduty/resolved_v3.json");
    resolution["event"]["data"]["id"] = trigger["event"]["data"]["id"].clone();
    resolution["event"]["occurred_at"] = json!("2021-06-04T15:05:29.781Z");
    for body in [&resolution, &trigger] {
        let (status, answer) = pagerduty(&app, body).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["mapped"], 1, "{answer}");
    }
    let m = app.metrics("from=2021-06-01&to=2021-06-08").await;
    assert_eq!(m["time_to_restore"]["incidents"], 1, "{m}");
    assert_eq!(m["time_to_restore"]["resolved"], 1, "{m}");
    assert_eq!(m["time_to_restore"]["median_hours"], 1.5, "{m}");
    app.stop().await;
}

#[tokio::test]
async fn gitlab_argocd_and_cdevents_deployments_reach_the_metrics() {
    let app = spawn_app(|config| {
        with_secrets(config);
        config.sources.argocd_token = Some(SecretString::from("argo-token"));
        config.sources.cdevents_token = Some(SecretString::from("cde-token"));
        // The fixtures deploy to `staging` (GitLab) and `test123` (CDEvents).
        config
            .settings
            .set_production_environments(["production", "staging", "test123"]);
    })
    .await;
    let gitlab = fixture("gitlab/xanzy-go-gitlab/deployment.json").to_string();
    let headers = [
        ("x-gitlab-event", "Deployment Hook"),
        ("x-gitlab-event-uuid", "gl-deploy-1"),
        ("x-gitlab-token", GITLAB_TOKEN),
    ];
    let (status, answer) = app.webhook("gitlab", &headers, gitlab.as_bytes()).await;
    assert_eq!((status, &answer["mapped"]), (202, &json!(1)), "{answer}");

    let cdevent = fixture("cdevents/conformance/service_deployed.json").to_string();
    let bearer = [("authorization", "Bearer cde-token")];
    let (status, answer) = app.webhook("cdevents", &bearer, cdevent.as_bytes()).await;
    assert_eq!((status, &answer["mapped"]), (202, &json!(1)), "{answer}");

    // What the shipped template renders from the applications/diff-cache.yaml fixture
    // (checked field by field in ingest/tests/argocd_fixtures.rs).
    let argocd = json!({
        "id": "argo-cd/velero-test@2024-03-05T07:33:03Z#sync-succeeded",
        "event": "sync-succeeded", "app": "velero-test", "namespace": "argo-cd",
        "environment": null, "revision": "ea8759964626a583667a2bfd08f334ec2070040a",
        "phase": "Succeeded", "health": "Healthy", "started_at": "2024-03-05T07:33:03Z",
        "finished_at": "2024-03-05T07:33:04Z",
        "repo_url": "https://github.com/foo/manifests-velero.git"
    })
    .to_string();
    let bearer = [("authorization", "Bearer argo-token")];
    let (status, answer) = app.webhook("argocd", &bearer, argocd.as_bytes()).await;
    assert_eq!((status, &answer["mapped"]), (202, &json!(1)), "{answer}");

    for (query, service) in [
        ("from=2021-04-26&to=2021-05-03", "test-deployment-webhooks"),
        ("from=2023-03-20&to=2023-03-27", "mySubject123"),
        ("from=2024-03-04&to=2024-03-11", "velero-test"),
    ] {
        let m = app.metrics(&format!("{query}&service={service}")).await;
        assert_eq!(
            m["deployment_frequency"]["deployments"], 1,
            "{service}: {m}"
        );
        assert_eq!(
            m["deployment_frequency"]["deploy_days"], 1,
            "{service}: {m}"
        );
    }
    app.stop().await;
}

/// A monorepo deployment that the config cannot place is stored unmapped; after
/// the config names the service, a replay maps it as if it had just arrived.
#[tokio::test]
async fn replay_maps_stored_deliveries_with_the_fixed_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shiplog.duckdb");
    let monorepo = |deploy_names: &[&str]| ServiceSettings {
        repo: Some("acme/shop".into()),
        deploy_names: deploy_names.iter().map(|s| (*s).to_owned()).collect(),
        ..ServiceSettings::default()
    };
    let (_, deployed) = story().remove(2);

    let first_db = db.clone();
    let app = spawn_app(|config| {
        with_secrets(config);
        config.db = first_db;
        for name in ["checkout", "search"] {
            config.routing.services.insert(name.into(), monorepo(&[]));
        }
    })
    .await;
    let (status, answer) = github(
        &app,
        "deployment_status",
        "r-1",
        deployed.to_string().as_bytes(),
    )
    .await;
    assert_eq!(
        (status, answer["mapped"].as_u64()),
        (202, Some(0)),
        "{answer}"
    );
    assert!(
        answer["skipped"]
            .as_str()
            .unwrap()
            .contains("checkout, search"),
        "{answer}"
    );
    // Data health lists it with the reason (received now: the default 90 days).
    let (status, csv) = app
        .get_text("/data-health/unmapped-deliveries?format=csv")
        .await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("checkout, search"), "{csv}");
    app.stop().await;

    // The deployment's payload names no service; GitHub's task does not either, so
    // the fix is a deploy name on the service that owns production deploys.
    let app = spawn_app(|config| {
        with_secrets(config);
        config.db = db;
        config
            .routing
            .services
            .insert("checkout".into(), monorepo(&[]));
    })
    .await;
    let m = app.metrics("from=2026-03-02&to=2026-03-03").await;
    assert_eq!(m["deployment_frequency"]["deployments"], 0, "{m}");
    let response = app
        .client
        .post(format!("{}/api/v1/admin/replay?source=github", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let summary: Value = response.json().await.unwrap();
    assert_eq!(summary["deliveries"], 1, "{summary}");
    assert_eq!(summary["events"], 1, "{summary}");
    let m = app
        .metrics("from=2026-03-02&to=2026-03-03&service=checkout")
        .await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    // The replay that mapped it cleared the reason.
    let (_, csv) = app
        .get_text("/data-health/unmapped-deliveries?format=csv")
        .await;
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");

    let refused = app
        .client
        .post(format!("{}/api/v1/admin/replay", app.base))
        .bearer_auth("not-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    app.stop().await;
}
