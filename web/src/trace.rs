//! The request log: a `tracing` span per request with its method, its route, its status
//! and its duration, and one `info` event as it is answered, so that the server's log
//! (`RUST_LOG=info`, the server's default) has one line per request:
//!
//! ```text
//! INFO request{method=GET route=/services/{service} status=200 duration_ms=3.412}: shiplog_web::trace: answered
//! ```
//!
//! The route is the pattern the request matched, not its path, so that a log groups
//! by route and holds no service names or ids; a request that matched no route logs
//! its path. The query string is never recorded: it can carry `?token=`. Whatever a
//! handler logs is inside the span, so it carries the same fields.
//!
//! tower-http's `TraceLayer` was the other choice, turned down: its default span
//! records the URI with its query, and configured to record the matched path instead
//! it would be as long as this, with less control over what ends up in the log.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing::field::Empty;

/// The router's outermost layer (so that every answer is logged, the drain's `503` and
/// the fallback's `404` too). The duration runs until the answer's head is ready; a
/// streamed body (an explain CSV) is sent after that.
pub async fn requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_owned(),
        None => request.uri().path().to_owned(),
    };
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        status = Empty,
        duration_ms = Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    span.record("status", response.status().as_u16());
    span.record("duration_ms", started.elapsed().as_micros() as f64 / 1000.0);
    span.in_scope(|| tracing::info!("answered"));
    response
}
