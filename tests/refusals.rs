//! What the server refuses and how (issue 10's findings, each reproduced first): no
//! request builds unbounded rows or errors, no body is read before the credentials
//! the headers can prove, tokens are compared as SPEC §5 says, and every refusal —
//! the router's and the extractors' too — has SPEC §5's JSON error body.

mod support;

use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;
use support::{INGEST_TOKEN, TestApp, spawn_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GITLAB_TOKEN: &str = "gl-token";

/// Sends `head` (request line and headers, no body) on a fresh connection and reads
/// the answer: the server must answer without waiting for a body it was promised.
async fn answer_to_head(app: &TestApp, head: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    // The answer arrives whole before the connection is closed or kept; read until
    // the JSON body is complete. Bounded, so a server that waits for the body fails.
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = stream.read(&mut buffer).await.unwrap();
            text.extend_from_slice(&buffer[..n]);
            let whole = String::from_utf8_lossy(&text);
            if n == 0
                || whole
                    .split("\r\n\r\n")
                    .nth(1)
                    .is_some_and(|b| b.ends_with('}'))
            {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer before the body was sent");
    let whole = String::from_utf8_lossy(&text).into_owned();
    let status: u16 = whole.split(' ').nth(1).unwrap().parse().unwrap();
    let body = whole.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn head(path: &str, headers: &[&str]) -> String {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\n"
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

#[tokio::test]
async fn credentials_are_checked_before_the_body_is_read() {
    let app = spawn_app(|config| {
        config.sources.gitlab_token = Some(SecretString::from(GITLAB_TOKEN));
        config.sources.github_secret = Some(SecretString::from("gh"));
    })
    .await;
    // Each head promises 10 MB that never come: the answer cannot wait for them.
    let cases = [
        (
            head("/api/v1/events", &["authorization: Bearer wrong"]),
            401,
            "wrong token",
        ),
        (head("/api/v1/events", &[]), 401, "missing token"),
        (head("/webhooks/jenkins", &[]), 404, "github, gitlab"),
        (
            head("/webhooks/gitlab", &["x-gitlab-token: wrong"]),
            401,
            "token does not match",
        ),
        (
            head("/webhooks/github", &["x-github-event: push"]),
            401,
            "X-Hub-Signature-256 header is missing",
        ),
        (
            head("/webhooks/pagerduty", &[]),
            401,
            "SHIPLOG_PAGERDUTY_SECRET",
        ),
        // With the right token, a declared length over the limit is refused unread.
        (
            head(
                "/api/v1/events",
                &["authorization: Bearer test-ingest-token"],
            )
            .replace("10000000", "17000000"),
            413,
            "16777216 bytes",
        ),
        (
            head("/webhooks/gitlab", &["x-gitlab-token: gl-token"]).replace("10000000", "17000000"),
            413,
            "16777216 bytes",
        ),
    ];
    for (head, status, words) in cases {
        let (got, body) = answer_to_head(&app, &head).await;
        assert_eq!(got, status, "{head}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(words),
            "{head}: {body}"
        );
    }
    assert_eq!(app.raw_events(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_body_of_too_many_events_is_refused_without_listing_them() {
    let app = spawn_app(|config| config.writer_queue_events = 1_000).await;
    // 8 million array elements in 16 MB: refused at the 1,001st, in a short answer.
    let ones = format!("[{}1]", "1,".repeat(8_000_000));
    let response = app
        .client
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "application/json")
        .body(ones)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let text = response.text().await.unwrap();
    assert!(text.len() < 1_000, "{} bytes", text.len());
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["detail"]["limit_events"], 1_000, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("writer_queue_events"),
        "{body}"
    );

    // 250 bad events: all counted, the first 100 listed, each message cut short.
    let long_service = "s".repeat(5_000);
    let bad: Vec<String> = (0..250)
        .map(|i| {
            format!(
                r#"{{"type":"deployment","id":"d{i}","service":"{long_service}","finished_at":"not a time"}}"#
            )
        })
        .collect();
    let (status, body) = app
        .post_events(format!("[{}]", bad.join(",")), "application/json")
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("250 invalid event(s) (the first 100 are listed)"),
        "{body}"
    );
    let listed = body["detail"].as_array().unwrap();
    assert_eq!(listed.len(), 100);
    assert_eq!(listed[0]["line"], 1);
    assert_eq!(listed[99]["line"], 100);
    assert!(
        listed
            .iter()
            .all(|e| e["error"].as_str().unwrap().chars().count() <= 301)
    );
    assert_eq!(app.raw_events(), 0, "nothing of a refused batch is stored");
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_trimmed_and_the_scheme_is_read_in_any_case() {
    // A token mounted from a file ends in a newline.
    let app = spawn_app(|config| {
        config.tokens.ingest = Some(SecretString::from(format!("{INGEST_TOKEN}\n")));
    })
    .await;
    let event =
        r#"{"type":"incident","id":"i-1","service":"shop","opened_at":"2026-01-05T10:00:00Z"}"#;
    for (i, scheme) in ["Bearer", "bearer", "BEARER"].into_iter().enumerate() {
        let response = app
            .client
            .post(format!("{}/api/v1/events", app.base))
            .header("authorization", format!("{scheme} {INGEST_TOKEN} "))
            .header("content-type", "application/json")
            .body(event.replace("i-1", &format!("i-{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202, "{scheme}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["accepted"], 1, "{scheme}: {body}");
    }
    let response = app
        .client
        .post(format!("{}/api/v1/events", app.base))
        .header("authorization", format!("Basic {INGEST_TOKEN}"))
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(app.raw_events(), 3);
    app.stop().await;
}

#[tokio::test]
async fn every_refusal_has_the_json_error_body() {
    let app = spawn_app(|_| {}).await;
    let cases = [
        // Query strings the extractors cannot read (a field given twice).
        (
            "GET",
            "/api/v1/metrics?from=2026-01-05&from=2026-01-06",
            400,
            "query string",
        ),
        (
            "GET",
            "/reports/weekly.csv?to=2026-01-05&to=2026-01-06",
            400,
            "query string",
        ),
        // The period cap (SPEC §5): no request builds 521,722 weeks of rows.
        (
            "GET",
            "/reports/weekly.csv?from=0001-01-01&to=9999-12-31",
            400,
            "max_period_days = 1830",
        ),
        ("GET", "/no/such/route", 404, "no such route"),
        ("DELETE", "/api/v1/events", 405, "does not take DELETE"),
        ("GET", "/api/v1/events", 405, "does not take GET"),
    ];
    for (method, path, status, words) in cases {
        let response = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(content_type, "application/json", "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(words),
            "{method} {path}: {body}"
        );
        assert!(body.get("detail").is_some(), "{body}");
    }
    // On a page, the extractor's refusal is a page, in the same words.
    let (status, html) = app
        .get_text("/metrics/lead-time?from=2026-01-05&from=2026-01-06")
        .await;
    assert_eq!(status, 400);
    assert!(
        html.contains("<html") && html.contains("query string"),
        "{html}"
    );
    app.stop().await;
}
