//! CI and release sources over a real socket, from the sender's real payload to the
//! figure it feeds on `/api/v1/metrics`: GitHub releases of a repository listed under
//! `[sources.github] release_repos` as deployments; CircleCI's signed
//! `workflow-completed` as a build and, under `[sources.circleci] deploy_workflows`,
//! a deployment.

mod support;

use secrecy::SecretString;
use serde_json::{Value, json};
use shiplog_ingest::sources::signature::sign_hex;
use support::{TestApp, spawn_app};

const GITHUB_SECRET: &str = "gh-webhook-secret";
const CIRCLECI_SECRET: &str = "circleci-webhook-secret";
/// A sha to put in a copy's `target_commitish` (the fixtures target `master`).
const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

fn fixture(path: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(path);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Posts `body` as GitHub would: event name, delivery id, HMAC signature.
async fn github(app: &TestApp, event: &str, delivery: &str, body: &[u8]) -> (u16, Value) {
    let signature = format!("sha256={}", sign_hex(GITHUB_SECRET.as_bytes(), body));
    let response = app
        .client
        .post(format!("{}/webhooks/github", app.base))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Posts `body` as CircleCI would: its event type, and `signature` (when given) as
/// the `circleci-signature` header.
async fn circleci(app: &TestApp, signature: Option<&str>, body: &[u8]) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/webhooks/circleci", app.base))
        .header("content-type", "application/json")
        .header("circleci-event-type", "workflow-completed")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("circleci-signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn metrics(app: &TestApp, query: &str) -> Value {
    let (status, text) = app.get_text(&format!("/api/v1/metrics?{query}")).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn a_published_release_of_a_listed_repository_is_a_deployment_on_the_metrics() {
    let app = spawn_app(|config| {
        config.sources.github_secret = Some(SecretString::from(GITHUB_SECRET));
        config.routing.github_release_repos = vec!["Codertocat/*".into()];
    })
    .await;
    let period = "from=2019-05-13&to=2019-05-20";

    // The real payload targets the branch `master`: stored, skipped with the reason.
    let real = fixture("github/octokit-webhooks/release/published.payload.json");
    let (status, answer) = github(&app, "release", "rel-1", real.to_string().as_bytes()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 0, "{answer}");
    let why = answer["skipped"].as_str().unwrap_or_default();
    assert!(
        why.contains("targets \"master\", not a commit sha"),
        "{answer}"
    );
    let m = metrics(&app, period).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 0, "{m}");

    // A copy whose `target_commitish` is a full sha (the one edit): a deployment at
    // `published_at`, 2019-05-15T15:20:53Z, in production by default.
    let mut at_sha = real.clone();
    at_sha["release"]["target_commitish"] = json!(SHA);
    let (status, answer) = github(&app, "release", "rel-2", at_sha.to_string().as_bytes()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 1, "{answer}");
    assert_eq!(answer["skipped"], Value::Null, "{answer}");
    let m = metrics(&app, period).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    assert_eq!(m["deployment_frequency"]["deploy_days"], 1, "{m}");
    let m = metrics(&app, &format!("{period}&service=Hello-World")).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");

    // A prerelease (edited copy) of the same repository adds nothing.
    let mut pre = at_sha.clone();
    pre["release"]["id"] = json!(17372791);
    pre["release"]["prerelease"] = json!(true);
    let (status, answer) = github(&app, "release", "rel-3", pre.to_string().as_bytes()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 0, "{answer}");
    let m = metrics(&app, period).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    app.stop().await;
}

#[tokio::test]
async fn a_release_of_an_unlisted_repository_is_stored_but_counts_nothing() {
    let app = spawn_app(|config| {
        config.sources.github_secret = Some(SecretString::from(GITHUB_SECRET));
    })
    .await;
    let mut at_sha = fixture("github/octokit-webhooks/release/published.payload.json");
    at_sha["release"]["target_commitish"] = json!(SHA);
    let (status, answer) = github(&app, "release", "rel-1", at_sha.to_string().as_bytes()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 0, "{answer}");
    assert!(
        answer["skipped"]
            .as_str()
            .unwrap_or_default()
            .contains("release_repos"),
        "{answer}"
    );
    assert_eq!(
        app.raw_events(),
        1,
        "stored for a replay once the config lists it"
    );
    let m = metrics(&app, "from=2019-05-13&to=2019-05-20").await;
    assert_eq!(m["deployment_frequency"]["deployments"], 0, "{m}");
    app.stop().await;
}

#[tokio::test]
async fn a_signed_circleci_deploy_workflow_is_a_build_and_a_deployment_on_the_metrics() {
    let app = spawn_app(|config| {
        config.sources.circleci_secret = Some(SecretString::from(CIRCLECI_SECRET));
        config.routing.circleci_deploy_workflows = vec!["*-deploy".into()];
    })
    .await;
    let body =
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../tests/fixtures/circleci/workflow-completed.github-oauth-bitbucket-cloud.json",
        ))
        .unwrap();
    let good = format!("v1={}", sign_hex(CIRCLECI_SECRET.as_bytes(), &body));

    // Refused before anything is read into the store: a wrong secret, no header, a
    // body changed after signing.
    let wrong = format!("v1={}", sign_hex(b"not-the-secret", &body));
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'5').unwrap();
    tampered[at] = b'6';
    let refusals: [(Option<&str>, &[u8], &str); 3] = [
        (
            Some(&wrong),
            &body,
            "circleci-signature signature does not match",
        ),
        (None, &body, "circleci-signature header is missing"),
        (
            Some(&good),
            &tampered,
            "circleci-signature signature does not match",
        ),
    ];
    for (signature, sent, said) in refusals {
        let (status, answer) = circleci(&app, signature, sent).await;
        assert_eq!(status, 401, "{answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(said), "{answer}");
    }
    assert_eq!(app.raw_events(), 0, "a refused delivery stores nothing");

    // The real payload, signed among other pairs as CircleCI may send them.
    let (status, answer) = circleci(&app, Some(&format!("v2=00, {good}")), &body).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 2, "{answer}");
    assert_eq!(answer["skipped"], Value::Null, "{answer}");
    assert_eq!(
        answer["delivery"], "circleci:3888f21b-eaa7-38e3-8f3d-75a63bba8895",
        "{answer}"
    );
    // CircleCI's retry carries the same body id: a repeat.
    let (status, answer) = circleci(&app, Some(&good), &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(app.raw_events(), 1);

    // Stopped 2021-09-01T22:49:34Z.
    let m = metrics(&app, "from=2021-09-01&to=2021-09-08").await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    let health = &m["build_health"];
    assert_eq!(health["builds"], 1, "{health}");
    assert_eq!(health["failed"], 0, "{health}");
    let m = metrics(
        &app,
        "from=2021-09-01&to=2021-09-08&service=webhook-service",
    )
    .await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    app.stop().await;
}
