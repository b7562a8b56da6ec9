//! CI and release sources over a real socket, from the sender's real payload to the
//! figure it feeds on `/api/v1/metrics`: GitHub releases of a repository listed under
//! `[sources.github] release_repos` as deployments.

mod support;

use secrecy::SecretString;
use serde_json::{Value, json};
use shiplog_ingest::sources::signature::sign_hex;
use support::{TestApp, spawn_app};

const GITHUB_SECRET: &str = "gh-webhook-secret";
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
