//! The Jenkins CDEvents plugin over a real socket: its finished pipeline runs (the
//! documented event with a Git checkout filled in) posted to `/webhooks/cdevents`
//! become builds in `/api/v1/metrics`' build health; the documented run without a
//! checkout is stored with the reason and counts nothing.

mod support;

use secrecy::SecretString;
use serde_json::{Value, json};
use support::{TestApp, spawn_app};

const TOKEN: &str = "cde-token";

fn finished_run(number: i64, status: &str, time: &str, duration_ms: i64) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/jenkins/cdevents-plugin/cd-core-events.md.pipelinerun-finished.json"
    );
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let url = format!("http://localhost:8080/jenkins/job/PipelineCommit/{number}/");
    event["id"] = number.to_string().into();
    event["time"] = time.into();
    event["data"]["build"]["number"] = number.into();
    event["data"]["build"]["fullUrl"] = url.into();
    event["data"]["build"]["status"] = status.into();
    event["data"]["build"]["duration"] = duration_ms.into();
    event["data"]["build"]["scmState"] = json!({
        "url": "git@github.com:acme/shop.git",
        "branch": "origin/main",
        "commit": format!("{number:040x}"),
    });
    event
}

async fn post(app: &TestApp, body: &Value) -> (u16, Value) {
    post_bytes(app, body.to_string().as_bytes()).await
}

/// Posts as the plugin does: a structured-mode CloudEvent with the route's token.
async fn post_bytes(app: &TestApp, body: &[u8]) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/webhooks/cdevents", app.base))
        .header("content-type", "application/cloudevents+json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn jenkins_runs_with_a_checkout_are_builds_in_the_build_health() {
    let app = spawn_app(|config| {
        config.sources.cdevents_token = Some(SecretString::from(TOKEN));
    })
    .await;

    // The documented event as published: no checkout, stored with the reason.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/jenkins/cdevents-plugin/cd-core-events.md.pipelinerun-finished.json"
    );
    let (status, answer) = post_bytes(&app, &std::fs::read(path).unwrap()).await;
    assert_eq!((status, &answer["mapped"]), (202, &json!(0)), "{answer}");
    assert!(
        answer["skipped"]
            .as_str()
            .unwrap()
            .contains("no data.build.scmState.commit"),
        "{answer}"
    );

    // Three runs on Monday 2023-04-03: green (10 min), red (4 min), green (20 min).
    for (number, status, time, ms) in [
        (165, "SUCCESS", "2023-04-03T10:00:00-04:00", 600_000),
        (166, "FAILURE", "2023-04-03T11:00:00-04:00", 240_000),
        (167, "SUCCESS", "2023-04-03T12:00:00-04:00", 1_200_000),
    ] {
        let (code, answer) = post(&app, &finished_run(number, status, time, ms)).await;
        assert_eq!((code, &answer["mapped"]), (202, &json!(1)), "{answer}");
    }
    // A resent delivery is the same bytes: a repeat, not a fourth build.
    let (code, answer) = post(
        &app,
        &finished_run(167, "SUCCESS", "2023-04-03T12:00:00-04:00", 1_200_000),
    )
    .await;
    assert_eq!(code, 200, "{answer}");

    let (code, text) = app
        .get_text("/api/v1/metrics?from=2023-04-03&to=2023-04-10")
        .await;
    assert_eq!(code, 200, "{text}");
    let metrics: Value = serde_json::from_str(&text).unwrap();
    let health = &metrics["build_health"];
    assert_eq!(health["builds"], 3, "{health}");
    assert_eq!(health["failed"], 1, "{health}");
    assert_eq!(health["duration_median_minutes"], 10.0, "{health}");
    // Red from 11:00 to 12:00 on main: one spell, green again an hour later.
    assert_eq!(health["red_spells"], 1, "{health}");
    assert_eq!(health["time_to_green_median_hours"], 1.0, "{health}");
    // The same on the dashboard's overview: 2 of 3 builds green.
    let week = "from=2023-04-03&to=2023-04-10";
    assert_eq!(app.build_tile(week, "Build success rate").await, "66.7 %");
    assert_eq!(app.build_tile(week, "Time to green").await, "1.0 h");
    app.stop().await;
}
