//! HTTP semantics of `POST /api/v1/events` over a real socket: `202` only after the
//! commit, `200` for a repeat, `401`, `413`, `415`, `422` with line numbers, `400`,
//! and `503` with `Retry-After` when the writer cannot take more.

mod support;

use serde_json::{Value, json};
use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::store::Submission;
use shiplog_ingest::typed_delivery;
use support::{INGEST_TOKEN, spawn_app};

const DEPLOY: &str = r#"{"type":"deployment","id":"gha-1","service":"shop","sha":"abc123","finished_at":"2026-03-02T11:00:00Z"}"#;

fn incident(n: usize) -> String {
    format!(
        r#"{{"type":"incident","id":"PD-{n}","service":"shop","opened_at":"2026-03-02T12:00:00Z"}}"#
    )
}

#[tokio::test]
async fn stored_event_is_answered_202_and_its_repeat_200() {
    let app = spawn_app(|_| {}).await;
    let (status, body) = app.post_events(DEPLOY, "application/json").await;
    assert_eq!(
        (status, body),
        (202, json!({"accepted": 1, "duplicates": 0}))
    );
    // The answer came after the commit: a fresh read connection sees the event.
    assert_eq!(app.raw_events(), 1);
    // Same event, keys in another order: a repeat, nothing new stored.
    let reordered = r#"{"finished_at":"2026-03-02T11:00:00Z","sha":"abc123","service":"shop","id":"gha-1","type":"deployment"}"#;
    let (status, body) = app.post_events(reordered, "application/json").await;
    assert_eq!(
        (status, body),
        (200, json!({"accepted": 0, "duplicates": 1}))
    );
    assert_eq!(app.raw_events(), 1);
    // A batch with one new and one repeated event is 202 and counts both.
    let (status, body) = app
        .post_events(format!("[{DEPLOY},{}]", incident(1)), "application/json")
        .await;
    assert_eq!(
        (status, body),
        (202, json!({"accepted": 1, "duplicates": 1}))
    );
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let app = spawn_app(|_| {}).await;
    let url = format!("{}/api/v1/events", app.base);
    let missing = app.client.post(&url).body(DEPLOY).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("missing token"),
        "{body}"
    );
    let wrong = app
        .client
        .post(&url)
        .bearer_auth("not-the-token")
        .body(DEPLOY)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(app.raw_events(), 0);
    app.stop().await;

    let unconfigured = spawn_app(|c| c.tokens.ingest = None).await;
    let response = unconfigured
        .client
        .post(format!("{}/api/v1/events", unconfigured.base))
        .bearer_auth(INGEST_TOKEN)
        .body(DEPLOY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("SHIPLOG_INGEST_TOKEN"),
        "{body}"
    );
    unconfigured.stop().await;
}

#[tokio::test]
async fn body_over_the_limit_is_413_with_a_json_error() {
    let app = spawn_app(|c| c.max_body_bytes = 1024).await;
    let big: Vec<String> = (0..40).map(incident).collect();
    let (status, body) = app
        .post_events(big.join("\n"), "application/x-ndjson")
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["detail"]["limit_bytes"], 1024);
    assert_eq!(app.raw_events(), 0);
    app.stop().await;
}

#[tokio::test]
async fn invalid_events_refuse_the_whole_batch_with_their_lines() {
    let app = spawn_app(|_| {}).await;
    let body = [
        incident(1),
        r#"{"type":"deployment","id":"d","service":"shop","finished_at":"2026-03-02T11:00:00Z"}"#
            .into(),
        incident(2),
        r#"{"type":"incident","id":"x","service":"ALL","opened_at":"yesterday"}"#.into(),
        "{not json".into(),
    ]
    .join("\n");
    let (status, body) = app.post_events(body, "application/x-ndjson").await;
    assert_eq!(status, 422, "{body}");
    let lines: Vec<u64> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4, 5]);
    let errors = body["detail"].to_string();
    assert!(errors.contains("`sha` is required"), "{errors}");
    assert!(
        errors.contains("reserved") && errors.contains("RFC 3339"),
        "{errors}"
    );
    assert_eq!(app.raw_events(), 0, "nothing of a refused batch is stored");
    app.stop().await;
}

#[tokio::test]
async fn unreadable_bodies_and_queries_are_400_and_other_types_415() {
    let app = spawn_app(|_| {}).await;
    let (status, body) = app
        .post_events(r#"{"type":"incident","id":"#, "application/json")
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
    let (status, body) = app.post_events(DEPLOY, "text/plain").await;
    assert_eq!(status, 415, "{body}");
    let (status, body) = app
        .get_text("/api/v1/metrics?from=2026-02-30&to=2026-03-01")
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("YYYY-MM-DD"), "{body}");
    let (status, body) = app
        .get_text("/api/v1/metrics?from=2026-03-01&to=2026-03-01")
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("must be before"), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_writer_queue_is_503_with_retry_after() {
    let app = spawn_app(|c| c.writer_queue_events = 3).await;
    let writer = app.state.db.writer.clone();
    let paused = writer.pause();
    // Three events wait in the queue while the writer is held.
    let deliveries = (1..=3)
        .map(|n| {
            typed_delivery(
                "api",
                parse_event_text(1, &incident(n)).unwrap(),
                chrono::Utc::now(),
            )
        })
        .collect();
    let queued = tokio::spawn({
        let writer = writer.clone();
        async move { writer.submit(Submission { deliveries }).await }
    });
    while writer.queued() < 3 {
        tokio::task::yield_now().await;
    }
    let response = app
        .client
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "application/json")
        .body(DEPLOY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("queue is full"),
        "{body}"
    );
    // Readiness takes the server out of rotation while the queue is full; liveness
    // stays up (a restart would lose nothing but would not help either).
    let (status, body) = app.get_text("/readyz").await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "the writer's queue is full", "{body}");
    assert_eq!(body["queue"]["events"], 3, "{body}");
    assert_eq!(app.get_text("/healthz").await.0, 200);
    drop(paused);
    let outcome = queued.await.unwrap().unwrap();
    assert_eq!(outcome.accepted, 3);
    let (status, _) = app.post_events(DEPLOY, "application/json").await;
    assert_eq!(
        status, 202,
        "the writer takes events again once the queue drains"
    );
    app.stop().await;
}

#[tokio::test]
async fn prometheus_and_health_answer() {
    let app = spawn_app(|_| {}).await;
    app.post_events(DEPLOY, "application/json").await;
    let (status, body) = app.get_text("/healthz").await;
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&health["status"], &health["writer"], &health["storage"]),
        (&json!("ok"), &json!("ok"), &json!("ok")),
        "{health}"
    );
    let (status, body) = app.get_text("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"ready""#), "{body}");
    let (status, body) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.lines().any(|l| l == "shiplog_events_accepted_total 1"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_report_comes_as_parquet_on_request() {
    let app = spawn_app(|_| {}).await;
    app.post_events(DEPLOY, "application/json").await;
    let response = app
        .client
        .get(format!(
            "{}/reports/weekly.csv?from=2026-03-02&to=2026-03-09&format=parquet",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.apache.parquet"
    );
    let bytes = response.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
        "not a Parquet file"
    );
    let (status, body) = app.get_text("/reports/weekly.csv?format=xlsx").await;
    assert_eq!(status, 400, "{body}");
    app.stop().await;
}

/// One release to two regions, its staging run, and a deployment to plain `prod`:
/// what each region counts for, with `production_environments` a pattern and without.
const REGIONS: &str = concat!(
    r#"{"type":"change","repo":"acme/shop","sha":"1111111111111111111111111111111111111111","committed_at":"2026-03-02T00:00:00Z"}"#,
    "\n",
    r#"{"type":"deployment","id":"stg-eu","service":"shop","environment":"staging-eu","repo":"acme/shop","sha":"1111111111111111111111111111111111111111","finished_at":"2026-03-02T08:00:00Z"}"#,
    "\n",
    r#"{"type":"deployment","id":"eu","service":"shop","environment":"prod-eu","repo":"acme/shop","sha":"1111111111111111111111111111111111111111","finished_at":"2026-03-02T10:00:00Z"}"#,
    "\n",
    r#"{"type":"deployment","id":"us","service":"shop","environment":"Prod-US","repo":"acme/shop","sha":"1111111111111111111111111111111111111111","finished_at":"2026-03-02T12:00:00Z"}"#,
    "\n",
    r#"{"type":"deployment","id":"plain","service":"shop","environment":"prod","repo":"acme/shop","sha":"1111111111111111111111111111111111111111","finished_at":"2026-03-03T09:00:00Z"}"#,
    "\n",
);

async fn region_metrics(configure: impl FnOnce(&mut shiplog_web::Config)) -> Value {
    let app = spawn_app(configure).await;
    let (status, answer) = app.post_events(REGIONS, "application/x-ndjson").await;
    assert_eq!(status, 202, "{answer}");
    let (status, text) = app
        .get_text("/api/v1/metrics?from=2026-03-02&to=2026-03-09")
        .await;
    assert_eq!(status, 200, "{text}");
    app.stop().await;
    serde_json::from_str(&text).unwrap()
}

/// Two releases to two regions and an incident, for `multi_region_window_hours`:
/// c1 to `prod-eu` at 03-02 10:00 and `prod-us` at 12:00; an incident 13:00–14:00
/// naming nothing; c2 to `prod-eu` at 03-04 06:00 and `prod-us` 27 hours later.
const MULTI_REGION: &str = concat!(
    r#"{"type":"change","repo":"acme/shop","sha":"1111111111111111111111111111111111111111","committed_at":"2026-03-02T00:00:00Z"}"#,
    "\n",
    r#"{"type":"change","repo":"acme/shop","sha":"2222222222222222222222222222222222222222","parents":["1111111111111111111111111111111111111111"],"committed_at":"2026-03-04T00:00:00Z"}"#,
    "\n",
    r#"{"type":"deployment","id":"eu1","service":"shop","environment":"prod-eu","repo":"acme/shop","sha":"1111111111111111111111111111111111111111","finished_at":"2026-03-02T10:00:00Z"}"#,
    "\n",
    r#"{"type":"deployment","id":"us1","service":"shop","environment":"prod-us","repo":"acme/shop","sha":"1111111111111111111111111111111111111111","finished_at":"2026-03-02T12:00:00Z"}"#,
    "\n",
    r#"{"type":"incident","id":"inc-1","service":"shop","opened_at":"2026-03-02T13:00:00Z","resolved_at":"2026-03-02T14:00:00Z"}"#,
    "\n",
    r#"{"type":"deployment","id":"eu2","service":"shop","environment":"prod-eu","repo":"acme/shop","sha":"2222222222222222222222222222222222222222","finished_at":"2026-03-04T06:00:00Z"}"#,
    "\n",
    r#"{"type":"deployment","id":"us2","service":"shop","environment":"prod-us","repo":"acme/shop","sha":"2222222222222222222222222222222222222222","finished_at":"2026-03-05T09:00:00Z"}"#,
    "\n",
);

#[tokio::test]
async fn a_release_reaching_several_regions_within_the_window_can_count_once() {
    let run = |window: Option<u32>| async move {
        let app = spawn_app(move |config| {
            config.settings.set_production_environments(["prod-*"]);
            config.settings.multi_region_window_hours = window;
        })
        .await;
        let (status, answer) = app.post_events(MULTI_REGION, "application/x-ndjson").await;
        assert_eq!(status, 202, "{answer}");
        let (status, text) = app
            .get_text("/api/v1/metrics?from=2026-03-02&to=2026-03-09")
            .await;
        assert_eq!(status, 200, "{text}");
        let (status, page) = app
            .get_text("/services/shop?from=2026-03-02&to=2026-03-09")
            .await;
        assert_eq!(status, 200, "{page}");
        app.stop().await;
        (serde_json::from_str::<Value>(&text).unwrap(), page)
    };

    // Off (the default): four deployments. us1 and us2 are redeploys (empty change
    // sets), so the two lead-time samples are Europe's: c1 10 h, c2 6 h. The incident
    // goes to the latest deployment before it, us1 (rule c): 1 of 4 failed, recovered
    // 2 h after it, and eu2 after it is rework.
    let (m, page) = run(None).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 4, "{m}");
    assert_eq!(m["deployment_frequency"]["deploy_days"], 3, "{m}");
    assert_eq!(m["lead_time"]["samples"], 2, "{m}");
    assert_eq!(m["lead_time"]["median_hours"], 8.0, "{m}");
    assert_eq!(m["change_failure_rate"]["failed"], 1, "{m}");
    assert_eq!(m["change_failure_rate"]["rate"], 0.25, "{m}");
    assert_eq!(m["failed_deployment_recovery"]["median_hours"], 2.0, "{m}");
    assert_eq!(m["rework_rate"]["rework"], 1, "{m}");
    assert!(
        !page.contains("another region of a release"),
        "nothing merged"
    );

    // On, 24 h: us1 is c1's release reaching the US 2 h after Europe, one deployment
    // with eu1; us2 came 27 h after eu2, past the window, and counts. Three
    // deployments, the same two samples (each commit once, to the first region's
    // finish); the incident now goes to eu1 (the latest deployment before it), 1 of 3
    // failed, recovered 4 h after eu1.
    let (m, page) = run(Some(24)).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 3, "{m}");
    assert_eq!(m["deployment_frequency"]["deploy_days"], 3, "{m}");
    assert_eq!(m["lead_time"]["samples"], 2, "{m}");
    assert_eq!(m["lead_time"]["median_hours"], 8.0, "{m}");
    assert_eq!(m["change_failure_rate"]["failed"], 1, "{m}");
    assert_eq!(m["change_failure_rate"]["rate"], 0.3333, "{m}");
    assert_eq!(m["failed_deployment_recovery"]["median_hours"], 4.0, "{m}");
    assert_eq!(m["rework_rate"]["rework"], 1, "{m}");
    // The service's timeline still shows the US's rollout of c1, marked as such.
    assert!(page.contains("us1"), "{page}");
    assert!(
        page.contains("another region of a release counted once"),
        "{page}"
    );
}

#[tokio::test]
async fn production_environments_may_be_patterns() {
    // `prod-*`: the two regions are production, staging and plain `prod` are not. The
    // US region deploys the sha Europe already runs: a deployment of its own, with an
    // empty change set (SPEC §8, redeploy), so the commit's one lead-time sample is
    // Europe's, 10 h after the commit.
    let m = region_metrics(|config| {
        config.settings.set_production_environments(["prod-*"]);
    })
    .await;
    assert_eq!(m["deployment_frequency"]["deployments"], 2, "{m}");
    assert_eq!(m["deployment_frequency"]["deploy_days"], 1, "{m}");
    assert_eq!(m["lead_time"]["samples"], 1, "{m}");
    assert_eq!(m["lead_time"]["median_hours"], 10.0, "{m}");

    // The default list: only plain `prod`, 33 h after the commit.
    let m = region_metrics(|_| {}).await;
    assert_eq!(m["deployment_frequency"]["deployments"], 1, "{m}");
    assert_eq!(m["lead_time"]["samples"], 1, "{m}");
    assert_eq!(m["lead_time"]["median_hours"], 33.0, "{m}");
}
