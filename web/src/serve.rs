//! The connection layer: the accept loop, each connection's bounds, and the drain on
//! shutdown. axum's own `serve` builds hyper without a timer, so it can bound neither
//! a half-sent request nor an idle connection; this loop drives hyper's HTTP/1
//! connections itself, with `config::ConnectionLimits`:
//!
//! - **Header timeout**: a request's head must arrive within `header_timeout` (hyper's
//!   `header_read_timeout`, run on tokio's timer). hyper starts that clock again as
//!   soon as a keep-alive connection goes idle, so it also bounds the wait for the next
//!   request. When it runs out hyper closes the connection without an answer (no
//!   `408`).
//! - **Idle timeout**: a connection on which no byte moves either way for
//!   `idle_timeout`, while none of its requests is in a handler, is closed
//!   ([`Activity`]): a client that stopped reading its answer (a streamed CSV, a big
//!   page) holds its connection no longer than one that sends nothing.
//! - **Request timeout**: a handler, reading the body included, gets
//!   `request_timeout`; then the answer is `503` with `Retry-After`
//!   ([`within_limits`], which the router applies inside its security headers). A
//!   streamed answer's body is not cut: it is sent after the handler returned.
//! - **Connection limit**: see [`serve`].
//! - **Drain**: see [`serve`].

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::app::AppState;
use crate::config::ConnectionLimits;
use crate::error::ApiError;

/// Routes the request timeout does not bound: replay and the git import run as long as
/// the data takes (cutting them would only make the admin retry the whole work). They
/// read no body, and nothing runs before the admin token is checked.
const UNTIMED_PREFIX: &str = "/api/v1/admin/";

/// Set when the server stops accepting: from then on the router refuses every request
/// ([`within_limits`]).
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<AtomicBool>);

impl Drain {
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// From now on every request is refused; [`serve`] calls it when its shutdown
    /// completes.
    pub fn start(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains.
///
/// **Connection limit**: at most `max_connections` are open; for the next one the loop
/// does not accept, so a new connection waits in the kernel's backlog and is served as
/// soon as an open one closes (when the backlog is full too, the kernel drops the SYN
/// and the client's TCP sends it again). Accepting and closing at once was the other
/// choice, turned down: the client gets a reset, no answer it can act on (not a `503`
/// to retry), and under the very load the limit is for, each refusal would cost an
/// accept and a close.
///
/// **Drain**: when `shutdown` completes the listener is closed (new connections are
/// refused), `drain` is set, and every connection is told to finish (hyper's
/// `graceful_shutdown`). hyper closes at once a connection that sent nothing yet and
/// a keep-alive connection between requests, even when its next request has partly
/// arrived (hyper counts it idle until the head is complete); it lets a request in
/// progress finish, and a new connection's first request whose head has begun, then
/// closes. A request that reaches the router from then on (its head completed during
/// the drain) is answered `503` with `Connection: close`. Connections still open after
/// `shutdown_grace` (a slow client with half a request) are closed; then this returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    drain: Drain,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let (tell, told) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(connection(
            stream,
            router.clone(),
            limits,
            told.clone(),
            slot,
        ));
    }
    drop(listener);
    drain.start();
    let _ = tell.send(true);
    tracing::info!(open = connections.len(), "draining connections");
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            grace_seconds = limits.shutdown_grace.as_secs(),
            "closing connections still open after the shutdown grace"
        );
        connections.shutdown().await;
    }
}

/// A reset before the accept is that client's business; anything else (no file
/// descriptors left) lasts a while, so the loop waits before it tries again rather
/// than spin.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One connection, until it closes, is idle too long, or the drain ends it. Holding
/// `_slot` is what counts it against `max_connections`.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: ConnectionLimits,
    mut drain: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Metered {
        stream,
        activity: Arc::clone(&activity),
    });
    let in_handler = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        let busy = in_handler.handling();
        async move {
            let response = router.oneshot(request).await;
            drop(busy);
            response
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut served = pin!(builder.serve_connection(io, service));
    let mut idle = pin!(activity.idle_for(limits.idle_timeout));
    // The connection is polled first, so that bytes already sent reach hyper before it
    // hears of the drain: a request whose head has begun is then finished, not dropped.
    tokio::select! {
        biased;
        result = served.as_mut() => return ended(result),
        () = idle.as_mut() => return closed_idle(),
        _ = drain.wait_for(|draining| *draining) => {}
    }
    served.as_mut().graceful_shutdown();
    tokio::select! {
        biased;
        result = served => ended(result),
        () = idle => closed_idle(),
    }
}

fn ended(result: hyper::Result<()>) {
    if let Err(error) = result {
        // A header timeout, a client gone mid-request: the client's doing, not ours.
        tracing::debug!(%error, "connection ended");
    }
}

fn closed_idle() {
    tracing::debug!("closed a connection on which nothing moved for the idle timeout");
}

/// When a byte last moved on a connection, and how many of its requests are in a
/// handler (a handler may think for as long as the request timeout lets it).
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// Nanoseconds after `start`.
    last: AtomicU64,
    handlers: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            handlers: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last.store(nanos, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_nanos(self.last.load(Ordering::Relaxed))
    }

    fn handling(self: &Arc<Self>) -> Handling {
        self.handlers.fetch_add(1, Ordering::Relaxed);
        Handling(Arc::clone(self))
    }

    /// Completes once nothing has moved for `limit` while no handler ran.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let now = Instant::now();
            let deadline = if self.handlers.load(Ordering::Relaxed) > 0 {
                now + limit
            } else {
                self.last() + limit
            };
            if deadline <= now {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A request in its handler; the handler's end counts as activity.
#[derive(Debug)]
struct Handling(Arc<Activity>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.touch();
        self.0.handlers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's socket that records in [`Activity`] when bytes move.
#[derive(Debug)]
struct Metered {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Metered {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl Metered {
    fn wrote(&self, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.wrote(polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.wrote(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The request-level bounds, as the router's outermost layer inside its security
/// headers (so that these answers carry them too): during the drain every request is
/// refused, and a handler gets `request_timeout`.
pub async fn within_limits(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let timed = !request.uri().path().starts_with(UNTIMED_PREFIX);
    let limit = timed.then_some(state.config.connections.request_timeout);
    bounded(&state.drain, limit, request, next).await
}

/// Refuses a request that arrives while `drain` is on, and gives the handler `limit`
/// (`None`: no limit) before answering `503` in its place; the one rule of
/// `shiplog serve` and the `shiplog ingest` replicas.
pub async fn bounded(
    drain: &Drain,
    limit: Option<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if drain.is_draining() {
        return shutting_down();
    }
    let Some(limit) = limit else {
        return next.run(request).await;
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => ApiError::unavailable(format!(
            "the request did not finish within {} s (request_timeout_seconds)",
            limit.as_secs()
        ))
        .into_response(),
    }
}

/// `503` for a request that arrived while the server drains; the client should send it
/// again on a new connection (to another instance, or to this one once it is back).
fn shutting_down() -> Response {
    let mut response = ApiError::unavailable("the server is shutting down").into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
