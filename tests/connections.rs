//! The connection layer's bounds (serve.rs), on real sockets: a half-sent request and
//! an idle keep-alive connection are closed, a handler that outlasts the request
//! timeout is answered `503` in JSON, connections over the limit wait until one
//! closes, requests during the drain are refused, and the real binary stopped by
//! `SIGTERM` with a slow client connected exits 0 with what it acknowledged stored
//! and checkpointed.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{INGEST_TOKEN, ServedBinary, spawn_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bounds a wait for the server to act; the limits under test are a second or two,
/// so reaching this is a failure, not a slow machine.
const WAIT: Duration = Duration::from_secs(20);

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: shiplog\r\n\r\n";

/// Reads until the server closes the connection; what it sent before.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(WAIT, async {
        let mut chunk = [0_u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server did not close the connection within {WAIT:?}; it sent {:?}",
        String::from_utf8_lossy(&received)
    );
    received
}

/// Reads one answer whose head and `Content-Length` body have arrived.
async fn read_answer(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut received = Vec::new();
    let answer = tokio::time::timeout(WAIT, async {
        let mut chunk = [0_u8; 4096];
        loop {
            if let Some(answer) = parse_answer(&received) {
                return answer;
            }
            let n = stream.read(&mut chunk).await.expect("the answer is read");
            assert!(
                n > 0,
                "closed mid-answer: {:?}",
                String::from_utf8_lossy(&received)
            );
            received.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    answer.expect("an answer within the bound")
}

fn parse_answer(received: &[u8]) -> Option<(u16, String, Vec<u8>)> {
    let end = received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let body = received.get(end..end + length)?.to_vec();
    Some((status, head, body))
}

#[tokio::test]
async fn a_half_sent_request_is_closed_after_the_header_timeout() {
    let app = spawn_app(|c| {
        c.connections.header_timeout = Duration::from_secs(1);
        c.connections.idle_timeout = Duration::from_secs(600);
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /api/v1/events HTTP/1.1\r\nHost: shiplog\r\nContent-Type: appl")
        .await
        .unwrap();
    let sent = read_to_close(&mut stream).await;
    assert!(
        sent.is_empty(),
        "a request whose head never completed gets no answer: {:?}",
        String::from_utf8_lossy(&sent)
    );
    // The server itself is unharmed.
    let (status, body) = app.get_text("/healthz").await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    // The header timeout, which hyper also runs between requests, is far off: what
    // closes the connection is the idle limit.
    let app = spawn_app(|c| {
        c.connections.header_timeout = Duration::from_secs(600);
        c.connections.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(HEALTH).await.unwrap();
    let (status, head, body) = read_answer(&mut stream).await;
    assert_eq!(status, 200, "{head}");
    let health: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert!(
        !head.to_ascii_lowercase().contains("connection: close"),
        "the first answer keeps the connection open: {head}"
    );
    let after = read_to_close(&mut stream).await;
    assert!(
        after.is_empty(),
        "nothing more is sent on an idle connection: {:?}",
        String::from_utf8_lossy(&after)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_request_that_outlasts_the_request_timeout_is_answered_503_in_json() {
    let app = spawn_app(|c| {
        c.connections.request_timeout = Duration::from_secs(1);
        c.connections.header_timeout = Duration::from_secs(600);
        c.connections.idle_timeout = Duration::from_secs(600);
    })
    .await;
    // The body promises 1,000 bytes and sends 10: the handler waits for the rest.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: shiplog\r\nAuthorization: Bearer {INGEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{{\"type\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (status, head, body) = read_answer(&mut stream).await;
    assert_eq!(status, 503, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1"),
        "{head}"
    );
    let error: Value = serde_json::from_slice(&body).expect("a JSON error body");
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("did not finish within 1 s")
            && message.contains("request_timeout_seconds"),
        "{error}"
    );
    assert_eq!(app.raw_events(), 0, "nothing of the cut request is stored");
    app.stop().await;
}

#[tokio::test]
async fn connections_over_the_limit_wait_until_one_closes() {
    let app = spawn_app(|c| {
        c.connections.max_connections = 2;
        c.connections.header_timeout = Duration::from_secs(600);
        c.connections.idle_timeout = Duration::from_secs(600);
    })
    .await;
    // Two connections, each answered once, so that both hold their slots.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(HEALTH).await.unwrap();
        assert_eq!(read_answer(&mut stream).await.0, 200);
        held.push(stream);
    }
    // The third is taken by the kernel's backlog, not by the server: no answer while
    // both are open (a server that served it would answer within microseconds).
    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third.write_all(HEALTH).await.unwrap();
    let mut byte = [0_u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "a third connection was served while two were open: {early:?}"
    );
    // One closes: the third is accepted and answered.
    drop(held.pop());
    let (status, head, _) = read_answer(&mut third).await;
    assert_eq!(status, 200, "{head}");
    app.stop().await;
}

#[tokio::test]
async fn a_request_during_the_drain_is_refused_with_503_and_connection_close() {
    let app = spawn_app(|_| {}).await;
    app.state.drain.start();
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(HEALTH).await.unwrap();
    let (status, head, body) = read_answer(&mut stream).await;
    assert_eq!(status, 503, "{head}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("connection: close"), "{head}");
    assert!(head.contains("retry-after: 1"), "{head}");
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        error["error"], "the server is shutting down; retry shortly",
        "{error}"
    );
    // And the server closes the connection after it.
    read_to_close(&mut stream).await;
    app.stop().await;
}

#[tokio::test]
async fn sigterm_with_a_slow_client_connected_exits_0_and_keeps_what_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shiplog.duckdb");
    let config = dir.path().join("shiplog.toml");
    // A slow client could hold the drain for the header timeout; the grace is what
    // bounds it.
    std::fs::write(
        &config,
        "header_timeout_seconds = 600\nidle_timeout_seconds = 600\nshutdown_grace_seconds = 2\n",
    )
    .unwrap();
    let server = ServedBinary::start(dir.path(), &db, Some(&config)).await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/events", server.base))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"type":"deployment","id":"drain-1","service":"shop","sha":"a1","finished_at":"2026-03-02T11:00:00Z"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", server.log());

    // The slow client: half a request head, and then nothing.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /api/v1/events HTTP/1.1\r\nHost: shiplog\r\n")
        .await
        .unwrap();
    // Answered once, so the slot is surely the server's, not the backlog's.
    let mut kept = TcpStream::connect(&addr).await.unwrap();
    kept.write_all(HEALTH).await.unwrap();
    assert_eq!(read_answer(&mut kept).await.0, 200);

    let status = server.terminate().await;
    assert!(status.success(), "exit {status:?}\n{}", server.log());
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "nothing listens after the exit"
    );
    assert!(
        !db.with_extension("duckdb.wal").exists(),
        "the shutdown checkpointed: no write-ahead log is left"
    );
    let conn = duckdb::Connection::open(&db).unwrap();
    let stored: i64 = conn
        .query_row(
            "SELECT count(*) FROM deployments WHERE id = 'drain-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 1, "the acknowledged deployment is stored");
}
