//! The application: state, router and server lifecycle. The binary and the tests start
//! it the same way: `Application::build(config, mode)`, then `port()`, then
//! `run_until_stopped(shutdown)`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::routing::{get, post};
use duckdb::Connection;
use shiplog_ingest::store::WriterOptions;
use tokio::net::TcpListener;

use crate::body::BodyBudget;
use crate::config::Config;
use crate::error::ApiError;
use crate::routes;
use crate::routes::events::write_error;
use crate::security;
use crate::serve::{Drain, serve, within_limits};
use crate::store::{Database, OpenError, open};
use crate::stream::ChannelWriter;

/// How the server was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    /// `shiplog demo`: ingest needs no token, for trying the API by hand.
    Demo,
}

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub db: Arc<Database>,
    pub config: Config,
    pub mode: Mode,
    pub requests: AtomicU64,
    /// Set when the server stops accepting (`serve.rs`).
    pub drain: Drain,
    /// Body bytes held at once by every request together.
    pub bodies: BodyBudget,
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(db: Database, config: Config, mode: Mode) -> AppState {
        AppState(Arc::new(Inner {
            db: Arc::new(db),
            config,
            mode,
            requests: AtomicU64::new(0),
            drain: Drain::default(),
            bodies: BodyBudget::default(),
        }))
    }

    /// Runs a read on a pooled connection on a blocking thread, once the derived facts
    /// cover every event already answered.
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, shiplog_queries::QueryError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.db
            .writer
            .settle()
            .await
            .map_err(|e| write_error(&self.db.writer, e))?;
        let state = self.clone();
        let joined = tokio::task::spawn_blocking(move || state.db.readers.with(read)).await;
        match joined {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(e))) => Err(ApiError::Internal(e.to_string())),
            Ok(Err(e)) => Err(ApiError::Internal(e.to_string())),
            Err(e) => Err(ApiError::Internal(e.to_string())),
        }
    }

    /// Streams what `write` writes on a pooled connection (on a blocking thread)
    /// into a response body, once the derived facts are settled. The read runs while
    /// the client receives, at the client's pace.
    pub async fn stream(
        &self,
        write: impl FnOnce(&Connection, &mut ChannelWriter) -> Result<(), shiplog_queries::QueryError>
        + Send
        + 'static,
    ) -> Result<axum::body::Body, ApiError> {
        self.db
            .writer
            .settle()
            .await
            .map_err(|e| write_error(&self.db.writer, e))?;
        let (mut writer, body) = crate::stream::channel();
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = state.db.readers.with(|conn| write(conn, &mut writer));
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "streamed read failed");
                    writer.fail("the read failed; see the server log".into());
                }
                Err(e) => {
                    tracing::error!(error = %e, "streamed read failed");
                    writer.fail("the read failed; see the server log".into());
                }
            }
        });
        Ok(body)
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// A bound, ready server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// GitHub sends webhook bodies up to 25 MB (SPEC §5).
pub const GITHUB_BODY_LIMIT: usize = 25 * 1024 * 1024;

impl Application {
    /// Opens the database and binds `config.addr` (port 0 picks a free port).
    pub async fn build(config: Config, mode: Mode) -> Result<Application, StartError> {
        let path = config.db.clone();
        let settings = config.settings.clone();
        let options = WriterOptions {
            queue_events: config.writer_queue_events,
            ..WriterOptions::default()
        };
        let db = tokio::task::spawn_blocking(move || open(&path, &settings, options))
            .await
            .map_err(|e| OpenError::Interrupted(e.to_string()))??;
        Self::with_database(db, config, mode).await
    }

    /// Serves an already open database.
    pub async fn with_database(
        db: Database,
        config: Config,
        mode: Mode,
    ) -> Result<Application, StartError> {
        let listener =
            TcpListener::bind(&config.addr)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.addr.clone(),
                    source,
                })?;
        Ok(Application {
            listener,
            state: AppState::new(db, config, mode),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains the connections (in-flight
    /// requests finish, new ones are refused, for at most `shutdown_grace_seconds`:
    /// `serve.rs`) and stops the writer after the queued batches are committed and
    /// their derived facts paid.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let limits = state.config.connections;
        serve(
            self.listener,
            router(self.state),
            limits,
            state.drain.clone(),
            shutdown,
        )
        .await;
        let writer = state.db.writer.clone();
        tokio::task::spawn_blocking(move || writer.shutdown())
            .await
            .map_err(std::io::Error::other)
    }
}

/// The stylesheet every page links; the pages' CSP allows styles from here only.
async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/shiplog.css"),
    )
}

/// The dashboard's pages: a `?token=` on any of them becomes the read cookie.
fn pages(state: &AppState) -> Router<AppState> {
    use routes::dashboard as page;
    Router::new()
        .route("/", get(page::overview))
        .route("/metrics/{metric}", get(page::metric))
        .route("/explain/{metric}", get(page::explain))
        .route("/services", get(page::services))
        .route("/services/{service}", get(page::service))
        .route("/data-health", get(page::data_health))
        .route("/data-health/{check}", get(page::data_health_rows))
        .layer(middleware::from_fn(page::errors_as_pages))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::token_to_cookie,
        ))
}

/// No route for the path: SPEC §5's JSON error body, naming where to look.
async fn no_route() -> ApiError {
    ApiError::NotFound(
        "no such route: the API is under /api/v1/, webhooks under /webhooks/, the dashboard at /"
            .into(),
    )
}

/// A route that exists, asked with a method it does not take.
async fn wrong_method(method: axum::http::Method) -> ApiError {
    ApiError::MethodNotAllowed(format!("this route does not take {method}"))
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages(&state))
        .route("/static/shiplog.css", get(stylesheet))
        .route("/api/v1/events", post(routes::events::post_events))
        .route("/webhooks/{source}", post(routes::webhooks::receive))
        .route("/api/v1/admin/replay", post(routes::admin::post_replay))
        .route(
            "/api/v1/admin/git-import",
            post(routes::admin::post_git_import),
        )
        .route("/api/v1/metrics", get(routes::metrics::get_metrics))
        .route("/reports/weekly.csv", get(routes::reports::weekly))
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", get(routes::health::prometheus))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(state.clone(), within_limits))
        .layer(middleware::from_fn(security::headers))
        .with_state(state)
}
