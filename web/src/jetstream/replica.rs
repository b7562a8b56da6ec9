//! The `shiplog ingest` server: `/api/v1/events`, `/webhooks/{source}`, `/healthz`
//! and `/readyz`, no database. Its ingest routes are `shiplog serve`'s own handlers
//! (`routes::events::accept`, `routes::webhooks::accept`) with JetStream as their
//! destination, behind the same tokens, body limits and budget, timeouts, connection
//! limits and drain (`serve::serve`), so a replica answers what `shiplog serve`
//! answers, once JetStream has the delivery instead of once the writer committed it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::net::TcpListener;

use super::publisher::{Publisher, Readiness};
use crate::auth;
use crate::body::BodyBudget;
use crate::config::Config;
use crate::error::ApiError;
use crate::intake::{Destination, Intake};
use crate::routes::{events, webhooks};
use crate::serve::{Drain, serve};
use crate::{security, trace};

/// Shared by the replica's handlers.
#[derive(Debug, Clone)]
pub struct ReplicaState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: Config,
    publisher: Publisher,
    bodies: BodyBudget,
    drain: Drain,
    requests: AtomicU64,
}

impl Intake for ReplicaState {
    fn config(&self) -> &Config {
        &self.0.config
    }

    fn bodies(&self) -> &BodyBudget {
        &self.0.bodies
    }

    fn count_request(&self) {
        self.0.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn destination(&self) -> Destination<'_> {
        Destination::JetStream(&self.0.publisher)
    }
}

/// Why a replica could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error(
        "shiplog ingest publishes to NATS JetStream: set [nats] url in the config file or SHIPLOG_NATS_URL"
    )]
    NoNats,
    #[error("{0}")]
    Nats(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// A bound replica, connecting to NATS in the background.
#[derive(Debug)]
pub struct Replica {
    listener: TcpListener,
    state: ReplicaState,
}

impl Replica {
    /// Starts connecting to `config.nats` and binds `config.addr` (port 0 picks one).
    pub async fn build(config: Config) -> Result<Replica, ReplicaError> {
        let nats = config.nats.clone().ok_or(ReplicaError::NoNats)?;
        let publisher = Publisher::start(nats).await.map_err(ReplicaError::Nats)?;
        let listener =
            TcpListener::bind(&config.addr)
                .await
                .map_err(|source| ReplicaError::Bind {
                    addr: config.addr.clone(),
                    source,
                })?;
        let state = ReplicaState(Arc::new(Inner {
            config,
            publisher,
            bodies: BodyBudget::default(),
            drain: Drain::default(),
            requests: AtomicU64::new(0),
        }));
        Ok(Replica { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &ReplicaState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains as `shiplog serve` does. Every
    /// answered delivery is JetStream's already, so nothing is left to finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = self.state.0.config.connections;
        let drain = self.state.0.drain.clone();
        serve(self.listener, router(self.state), limits, drain, shutdown).await;
        Ok(())
    }
}

impl ReplicaState {
    /// Where this replica publishes.
    pub fn nats(&self) -> &super::NatsConfig {
        self.0.publisher.config()
    }
}

/// The replica's routes, with the layers `app::router` puts around every route.
pub fn router(state: ReplicaState) -> Router {
    let typed = post(events::accept::<ReplicaState>)
        .route_layer(middleware::from_fn_with_state(state.clone(), ingest_token));
    Router::new()
        .route("/api/v1/events", typed)
        .route("/webhooks/{source}", post(webhooks::accept::<ReplicaState>))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(state.clone(), within_limits))
        .layer(middleware::from_fn(security::headers))
        .layer(middleware::from_fn(trace::requests))
        .with_state(state)
}

/// `Access::Ingest` as `auth::guard` checks it: the ingest token, as a bearer token
/// or `?token=`, refused while none is set.
async fn ingest_token(State(state): State<ReplicaState>, request: Request, next: Next) -> Response {
    let query = auth::query_token(request.uri());
    let presented = auth::presented(request.headers(), query.as_deref());
    let checked = auth::require(
        state.0.config.tokens.ingest.as_ref(),
        presented,
        "SHIPLOG_INGEST_TOKEN",
        false,
    );
    match checked {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            state.count_request();
            refusal.into_response()
        }
    }
}

/// `serve::within_limits` for the replica: refused while draining, and a handler
/// gets `request_timeout`.
async fn within_limits(
    State(state): State<ReplicaState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.0.config.connections.request_timeout;
    crate::serve::bounded(&state.0.drain, Some(limit), request, next).await
}

fn report(state: &ReplicaState, status: &str) -> serde_json::Value {
    let nats = state.0.publisher.config();
    json!({
        "status": status,
        "mode": "ingest",
        "nats": { "url": nats.url, "stream": nats.stream, "subject": nats.subject },
        "draining": state.0.drain.is_draining(),
    })
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// `GET /healthz`: `200` while the process serves. A lost NATS is readiness's
/// business: restarting the replica would not bring NATS back.
async fn healthz(State(state): State<ReplicaState>) -> Response {
    answer(StatusCode::OK, report(&state, "ok"))
}

/// `GET /readyz`: `200` while connected to NATS with the stream there; `503` naming
/// why not (not connected, no stream, draining).
async fn readyz(State(state): State<ReplicaState>) -> Response {
    if state.0.drain.is_draining() {
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            report(&state, "the server is shutting down"),
        );
    }
    match state.0.publisher.readiness() {
        Readiness::Ready => answer(StatusCode::OK, report(&state, "ready")),
        Readiness::NotReady(why) => answer(StatusCode::SERVICE_UNAVAILABLE, report(&state, &why)),
    }
}

async fn no_route() -> ApiError {
    ApiError::NotFound(
        "no such route on a shiplog ingest replica: it takes POST /api/v1/events and \
         /webhooks/{source}; reads are served by shiplog serve"
            .into(),
    )
}

async fn wrong_method(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(format!("this route does not take {method}"))
}
