//! The application: state, router and server lifecycle. The binary and the tests start
//! it the same way: `Application::build(config, mode)`, then `port()`, then
//! `run_until_stopped(shutdown)`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::handler::Handler;
use axum::http::{Method, header};
use axum::middleware;
use axum::routing::{MethodRouter, get, post};
use duckdb::Connection;
use shiplog_ingest::store::WriterOptions;
use tokio::net::TcpListener;

use crate::auth;
pub use crate::auth::Access;
use crate::body::BodyBudget;
use crate::config::Config;
use crate::error::ApiError;
use crate::jetstream::consumer::ConsumerTask;
use crate::routes;
use crate::routes::events::write_error;
use crate::security;
use crate::serve::{Drain, serve, within_limits};
use crate::store::{Database, OpenError, open};
use crate::stream::ChannelWriter;
use crate::trace;

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
    /// The DORA gauges of `/metrics`, kept between scrapes.
    pub dora: routes::prometheus::DoraCache,
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
            dora: routes::prometheus::DoraCache::default(),
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
    /// `[nats]` names a server URL that cannot be read.
    #[error("{0}")]
    Nats(String),
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
    /// With `[nats]`: storing what `shiplog ingest` replicas published.
    consumer: Option<ConsumerTask>,
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
        let consumer = match (&config.nats, mode) {
            (Some(nats), Mode::Serve) => Some(
                ConsumerTask::start(
                    nats.clone(),
                    db.writer.clone(),
                    config.routing.clone(),
                    config.writer_queue_events,
                )
                .await
                .map_err(StartError::Nats)?,
            ),
            _ => None,
        };
        Ok(Application {
            listener,
            state: AppState::new(db, config, mode),
            consumer,
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
    /// `serve.rs`), stops the JetStream consumer once its batch in hand is committed
    /// and acked, and stops the writer after the queued batches are committed and
    /// their derived facts paid.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let limits = state.config.connections;
        // The digest's schedule (`[digest]`): its own task, reading through
        // `AppState::read` like a request; stopped with the server.
        let digest = crate::digest::schedule::spawn(&state);
        serve(
            self.listener,
            router(self.state),
            limits,
            state.drain.clone(),
            shutdown,
        )
        .await;
        if let Some(digest) = digest {
            digest.abort();
        }
        if let Some(consumer) = self.consumer {
            consumer.stop().await;
        }
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

/// What the router serves at one method and path, and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// The pattern, with `{parameters}`.
    pub path: &'static str,
    pub access: Access,
    /// A dashboard page: its refusals are rendered as pages, and a right `?token=` on
    /// it becomes the read cookie (`security::token_to_cookie`).
    pub page: bool,
}

/// A route of [`table`]: its description and its handler.
struct Route {
    info: RouteInfo,
    handler: MethodRouter<AppState>,
}

impl Route {
    fn new(
        method: Method,
        path: &'static str,
        access: Access,
        page: bool,
        handler: MethodRouter<AppState>,
    ) -> Route {
        Route {
            info: RouteInfo {
                method,
                path,
                access,
                page,
            },
            handler,
        }
    }

    fn get<H: Handler<T, AppState>, T: 'static>(
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Route {
        Route::new(Method::GET, path, access, false, get(handler))
    }

    fn post<H: Handler<T, AppState>, T: 'static>(
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Route {
        Route::new(Method::POST, path, access, false, post(handler))
    }

    /// A dashboard page (`GET`).
    fn page<H: Handler<T, AppState>, T: 'static>(
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Route {
        Route::new(Method::GET, path, access, true, get(handler))
    }
}

/// Every route of the server, each with the access it asks for. The router is built
/// from this table alone, and [`routes`] describes it from the same table, so a route
/// cannot be served without stating its access, nor escape the test that tries every
/// route with every token (`tests/auth_routes.rs`).
fn table() -> Vec<Route> {
    use Access::{Admin, Ingest, Public, Read, Webhook};
    use routes::dashboard as page;
    vec![
        Route::page("/", Read, page::overview),
        Route::page("/metrics/{metric}", Read, page::metric),
        Route::page("/explain/{metric}", Read, page::explain),
        Route::page("/services", Read, page::services),
        Route::page("/services/{service}", Read, page::service),
        Route::page("/data-health", Read, page::data_health),
        Route::page("/data-health/{check}", Read, page::data_health_rows),
        Route::get("/static/shiplog.css", Public, stylesheet),
        Route::post("/api/v1/events", Ingest, routes::events::post_events),
        Route::post(
            "/api/v1/annotations",
            Ingest,
            routes::annotations::post_annotation,
        ),
        Route::post("/webhooks/{source}", Webhook, routes::webhooks::receive),
        Route::post("/api/v1/admin/replay", Admin, routes::admin::post_replay),
        Route::post(
            "/api/v1/admin/git-import",
            Admin,
            routes::admin::post_git_import,
        ),
        Route::post("/api/v1/admin/backup", Admin, routes::admin::post_backup),
        Route::post("/api/v1/admin/export", Admin, routes::admin::post_export),
        Route::get("/api/v1/metrics", Read, routes::metrics::get_metrics),
        Route::get("/api/v1/openapi.json", Public, crate::openapi::openapi_json),
        Route::get("/reports/weekly.csv", Read, routes::reports::weekly),
        Route::get("/healthz", Public, routes::health::healthz),
        Route::get("/readyz", Public, routes::health::readyz),
        Route::get("/metrics", Read, routes::prometheus::prometheus),
    ]
}

/// Every route the router serves: method, pattern and access.
pub fn routes() -> Vec<RouteInfo> {
    table().into_iter().map(|route| route.info).collect()
}

/// Every route of the server. Each route's [`auth::guard`] is its innermost layer
/// (it runs after the pages' `?token=` cookie and inside their error pages, before
/// the handler); outside every route: the request's trace span, the security
/// headers, then the request-level bounds.
pub fn router(state: AppState) -> Router {
    let mut pages = Router::new();
    let mut api = Router::new();
    for Route { info, handler } in table() {
        let guarded = handler.route_layer(middleware::from_fn_with_state(
            (state.clone(), info.access),
            auth::guard,
        ));
        if info.page {
            pages = pages.route(info.path, guarded);
        } else {
            api = api.route(info.path, guarded);
        }
    }
    let pages = pages
        .layer(middleware::from_fn(routes::dashboard::errors_as_pages))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::token_to_cookie,
        ));
    Router::new()
        .merge(pages)
        .merge(api)
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(state.clone(), within_limits))
        .layer(middleware::from_fn(security::headers))
        .layer(middleware::from_fn(trace::requests))
        .with_state(state)
}
