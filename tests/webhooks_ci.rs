//! CI and release sources over a real socket, from the sender's real payload to the
//! figure it feeds on `/api/v1/metrics`: GitHub releases of a repository listed under
//! `[sources.github] release_repos` as deployments; CircleCI's signed
//! `workflow-completed` as a build and, under `[sources.circleci] deploy_workflows`,
//! a deployment; Buildkite's signed (or token-proved) `build.finished` likewise under
//! `[sources.buildkite] deploy_pipelines`; Argo Rollouts' completed and aborted
//! rollouts as a deployment and an aborted rollout, on the metrics and the dashboard.

mod support;

use secrecy::SecretString;
use serde_json::{Value, json};
use shiplog_ingest::sources::signature::sign_hex;
use support::{TestApp, fixture, spawn_app};

const GITHUB_SECRET: &str = "gh-webhook-secret";
const CIRCLECI_SECRET: &str = "circleci-webhook-secret";
const BUILDKITE_SECRET: &str = "buildkite-webhook-secret";
const ROLLOUTS_TOKEN: &str = "argo-rollouts-token";
/// A sha to put in a copy's `target_commitish` (the fixtures target `master`).
const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

/// Posts `body` as GitHub would: event name, delivery id, HMAC signature.
async fn github(app: &TestApp, event: &str, delivery: &str, body: &[u8]) -> (u16, Value) {
    let signature = format!("sha256={}", sign_hex(GITHUB_SECRET.as_bytes(), body));
    let headers = [
        ("x-github-event", event),
        ("x-github-delivery", delivery),
        ("x-hub-signature-256", signature.as_str()),
    ];
    app.webhook("github", &headers, body).await
}

/// Posts `body` as CircleCI would: its event type, and `signature` (when given) as
/// the `circleci-signature` header.
async fn circleci(app: &TestApp, signature: Option<&str>, body: &[u8]) -> (u16, Value) {
    let mut headers = vec![("circleci-event-type", "workflow-completed")];
    headers.extend(signature.map(|s| ("circleci-signature", s)));
    app.webhook("circleci", &headers, body).await
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
    let m = app.metrics(period).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 0, "{m}");

    // A copy whose `target_commitish` is a full sha (the one edit): a deployment at
    // `published_at`, 2019-05-15T15:20:53Z, in production by default.
    let mut at_sha = real.clone();
    at_sha["release"]["target_commitish"] = json!(SHA);
    let (status, answer) = github(&app, "release", "rel-2", at_sha.to_string().as_bytes()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 1, "{answer}");
    assert_eq!(answer["skipped"], Value::Null, "{answer}");
    let m = app.metrics(period).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    assert_eq!(m["deployment_frequency"]["deploy_days"], 1, "{m}");
    let m = app.metrics(&format!("{period}&service=Hello-World")).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    let (_, deployments) = app.tile(period, "deployment-frequency").await;
    assert_eq!(deployments, 1, "the dashboard's overview counts it too");

    // A prerelease (edited copy) of the same repository adds nothing.
    let mut pre = at_sha.clone();
    pre["release"]["id"] = json!(17372791);
    pre["release"]["prerelease"] = json!(true);
    let (status, answer) = github(&app, "release", "rel-3", pre.to_string().as_bytes()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 0, "{answer}");
    let m = app.metrics(period).await;
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
    let m = app.metrics("from=2019-05-13&to=2019-05-20").await;
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
    let m = app.metrics("from=2021-09-01&to=2021-09-08").await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    let health = &m["build_health"];
    assert_eq!(health["builds"], 1, "{health}");
    assert_eq!(health["failed"], 0, "{health}");
    let m = app
        .metrics("from=2021-09-01&to=2021-09-08&service=webhook-service")
        .await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    let week = "from=2021-09-01&to=2021-09-08";
    assert_eq!(app.tile(week, "deployment-frequency").await.1, 1);
    assert_eq!(app.build_tile(week, "Build success rate").await, "100.0 %");
    app.stop().await;
}

/// A header that proves a Buildkite delivery: its name and value.
type Proof = (&'static str, String);

/// Posts `body` as Buildkite would: its event, a request id, and `proof`.
async fn buildkite(
    app: &TestApp,
    request_id: &str,
    proof: Option<Proof>,
    body: &[u8],
) -> (u16, Value) {
    let mut headers = vec![
        ("x-buildkite-event", "build.finished"),
        ("x-buildkite-request", request_id),
    ];
    headers.extend(proof.as_ref().map(|(name, value)| (*name, value.as_str())));
    app.webhook("buildkite", &headers, body).await
}

/// Buildkite's `X-Buildkite-Signature` over `timestamp.body` with `secret`.
fn buildkite_signature(secret: &str, timestamp: &str, body: &[u8]) -> Proof {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let signature = sign_hex(secret.as_bytes(), &signed);
    (
        "x-buildkite-signature",
        format!("timestamp={timestamp},signature={signature}"),
    )
}

#[tokio::test]
async fn a_signed_buildkite_deploy_pipeline_is_a_build_and_a_deployment_on_the_metrics() {
    let app = spawn_app(|config| {
        config.sources.buildkite_secret = Some(SecretString::from(BUILDKITE_SECRET));
        config.routing.buildkite_deploy_pipelines = vec!["my-*".into()];
    })
    .await;
    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/buildkite/build-finished.rest-api-build.json"),
    )
    .unwrap();
    let good = buildkite_signature(BUILDKITE_SECRET, "1431205800", &body);
    let wrong = buildkite_signature("not-the-secret", "1431205800", &body);
    let moved = (good.0, good.1.replace("1431205800", "1431205801"));
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'9').unwrap();
    tampered[at] = b'8';
    let mismatch = "X-Buildkite-Signature signature does not match";
    let refusals: [(Option<Proof>, &[u8], &str); 5] = [
        (Some(wrong), &body, mismatch),
        (
            None,
            &body,
            "X-Buildkite-Signature (or X-Buildkite-Token) header is missing",
        ),
        (Some(good.clone()), &tampered, mismatch),
        (Some(moved), &body, mismatch),
        (
            Some(("x-buildkite-token", "not-the-secret".into())),
            &body,
            "token does not match",
        ),
    ];
    for (proof, sent, said) in refusals {
        let (status, answer) = buildkite(&app, "req-refused", proof, sent).await;
        assert_eq!(status, 401, "{answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(said), "{answer}");
    }
    assert_eq!(app.raw_events(), 0, "a refused delivery stores nothing");

    let (status, answer) = buildkite(&app, "req-1", Some(good.clone()), &body).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 2, "{answer}");
    assert_eq!(answer["skipped"], Value::Null, "{answer}");
    // The same request again is a repeat; a webhook set to send its token instead
    // is proved by it.
    let (status, _) = buildkite(&app, "req-1", Some(good), &body).await;
    assert_eq!(status, 200);
    let token = ("x-buildkite-token", BUILDKITE_SECRET.to_owned());
    let (status, answer) = buildkite(&app, "req-2", Some(token), &body).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(app.raw_events(), 2);

    // Finished 2015-05-09T21:08:59.874Z; the same build twice is one build.
    let m = app.metrics("from=2015-05-04&to=2015-05-11").await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    assert_eq!(m["build_health"]["builds"], 1, "{m}");
    assert_eq!(m["build_health"]["failed"], 0, "{m}");
    let m = app
        .metrics("from=2015-05-04&to=2015-05-11&service=my-pipeline")
        .await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    let week = "from=2015-05-04&to=2015-05-11";
    assert_eq!(app.tile(week, "deployment-frequency").await.1, 1);
    assert_eq!(app.build_tile(week, "Build success rate").await, "100.0 %");
    app.stop().await;
}

/// Posts what the shipped Argo Rollouts template renders, with `token`.
async fn rollout(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("authorization", b.as_str()))
        .collect();
    app.webhook("argo-rollouts", &headers, body.to_string().as_bytes())
        .await
}

/// What `template.shiplog-rollout-aborted` renders from the aborted canary of
/// `tests/fixtures/argo-rollouts/info-testdata/rollout-aborted/rollout.yaml`
/// (`ingest/tests/argo_rollouts_fixtures.rs` renders it and checks it is this file).
fn aborted_canary() -> Value {
    fixture("argo-rollouts/rendered/rollout-aborted.json")
}

#[tokio::test]
async fn an_aborted_canary_and_its_completed_retry_are_one_abort_and_one_deployment() {
    let app = spawn_app(|config| {
        config.sources.argo_rollouts_token = Some(SecretString::from(ROLLOUTS_TOKEN));
    })
    .await;
    let aborted = aborted_canary();
    for (token, said) in [(Some("wrong"), "wrong token"), (None, "missing token")] {
        let (status, answer) = rollout(&app, token, &aborted).await;
        assert_eq!(status, 401, "{answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(said) && error.contains("SHIPLOG_ARGO_ROLLOUTS_TOKEN"),
            "{answer}"
        );
    }
    assert_eq!(app.raw_events(), 0, "a refused delivery stores nothing");

    let (status, answer) = rollout(&app, Some(ROLLOUTS_TOKEN), &aborted).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 1, "{answer}");
    // The revision retried (`kubectl argo rollouts retry`) and completed.
    let mut completed = aborted.clone();
    completed["event"] = json!("rollout-completed");
    completed["phase"] = json!("Healthy");
    completed["abort"] = Value::Null;
    completed["aborted_at"] = Value::Null;
    completed["conditions"] = json!([
        {"type": "Completed", "status": "True", "reason": "RolloutCompleted",
         "lastTransitionTime": "2020-09-22T10:30:00Z", "lastUpdateTime": "2020-09-22T10:30:00Z"}
    ]);
    let (status, answer) = rollout(&app, Some(ROLLOUTS_TOKEN), &completed).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["mapped"], 1, "{answer}");

    let week = "from=2020-09-21&to=2020-09-28";
    let m = app.metrics(week).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    assert_eq!(m["change_failure_rate"]["failed"], 0, "{m}");
    assert_eq!(
        m["aborted_rollouts"],
        json!({"rollouts": 2, "aborted": 1, "rate": 0.5}),
        "{m}"
    );

    // On the dashboard: the overview's tile and the rows behind it.
    assert_eq!(app.tile(week, "aborted-rollouts").await, (Some(0.5), 2));
    // Its page, per service.
    let (status, page) = app
        .get_text(&format!("/metrics/aborted-rollouts?{week}"))
        .await;
    assert_eq!(status, 200, "{page}");
    let line = page
        .split("<tr data-service=\"rollout-background-analysis\">")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no line for the service: {page}"));
    assert!(line.contains("50.0 %"), "{line}");
    assert!(line.contains("1 of 2 rollouts aborted"), "{line}");
    let (status, csv) = app
        .get_text(&format!("/explain/aborted-rollouts?{week}&format=csv"))
        .await;
    assert_eq!(status, 200, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "finished_at,service,environment,sha,outcome,deployment_id"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].contains(",completed,argo-rollouts:default/rollout-background-analysis@2"),
        "{csv}"
    );
    assert!(
        lines[2].contains(
            ",aborted,argo-rollouts:default/rollout-background-analysis@2#aborted@2020-09-22T09:10:05Z"
        ),
        "{csv}"
    );
    app.stop().await;
}
