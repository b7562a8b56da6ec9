//! A replica's side of JetStream: its connection, the stream it keeps created, and
//! publishing deliveries with their keys as message ids, answered only once every
//! one is acknowledged. JetStream acknowledges a message after it is in the stream's
//! file (and, in a cluster, on a majority of its replicas), so from then on it is the
//! writer's to store even if this replica, or NATS, restarts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::Client;
use async_nats::connection::State;
use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use shiplog_ingest::store::{Delivery, Outcome};
use tokio::sync::Notify;

use super::envelope::Envelope;
use super::{NatsConfig, connect, context, ensure_stream};
use crate::error::ApiError;

/// Why a publish is not claimed stored: every kind is `503` with `Retry-After` but
/// a body too large for NATS, which no retry can help.
#[derive(Debug, thiserror::Error)]
pub enum PublishFailure {
    #[error("not connected to NATS ({0}); nothing was stored")]
    NotConnected(String),
    #[error("JetStream's stream {0} is not available yet; nothing was stored")]
    NoStream(String),
    #[error(
        "JetStream did not acknowledge within {0} s (publish_timeout_seconds); nothing is claimed stored"
    )]
    TimedOut(u64),
    #[error("JetStream refused the delivery: {0}")]
    Refused(String),
    /// The envelope is over the server's `max_payload`.
    #[error("the delivery is larger than NATS takes in one message")]
    TooLarge { limit: usize },
}

impl From<PublishFailure> for ApiError {
    fn from(failure: PublishFailure) -> ApiError {
        match failure {
            PublishFailure::TooLarge { limit } => ApiError::TooLarge { limit },
            PublishFailure::Refused(why) => {
                tracing::error!(error = %why, "JetStream refused a publish");
                ApiError::unavailable(
                    "JetStream refused the delivery; nothing is claimed stored (the log says why)",
                )
            }
            PublishFailure::TimedOut(seconds) => ApiError::Unavailable {
                message: PublishFailure::TimedOut(seconds).to_string(),
                retry_after: seconds.max(1),
            },
            other => ApiError::unavailable(other.to_string()),
        }
    }
}

/// What `/readyz` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Why a delivery sent now would be refused.
    NotReady(String),
}

/// A replica's connection to JetStream.
#[derive(Debug)]
pub struct Publisher {
    client: Client,
    js: async_nats::jetstream::Context,
    config: NatsConfig,
    /// The stream was found or created since the last (re)connection.
    stream_ready: Arc<AtomicBool>,
    /// Why it was not, when it was not.
    stream_error: Arc<Mutex<Option<String>>>,
    /// Notified on every (re)connection, and when a publish finds the stream gone.
    wake: Arc<Notify>,
    keeper: tokio::task::JoinHandle<()>,
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.keeper.abort();
    }
}

impl Publisher {
    /// Starts connecting (in the background: see [`connect`]) and keeps the stream
    /// created after every connection.
    pub async fn start(config: NatsConfig) -> Result<Publisher, String> {
        let wake = Arc::new(Notify::new());
        let client = connect(&config, "shiplog ingest", wake.clone()).await?;
        let js = context(client.clone(), &config);
        let stream_ready = Arc::new(AtomicBool::new(false));
        let stream_error = Arc::new(Mutex::new(None));
        let keeper = tokio::spawn(keep_stream(
            js.clone(),
            config.clone(),
            wake.clone(),
            stream_ready.clone(),
            stream_error.clone(),
        ));
        Ok(Publisher {
            client,
            js,
            config,
            stream_ready,
            stream_error,
            wake,
            keeper,
        })
    }

    pub fn config(&self) -> &NatsConfig {
        &self.config
    }

    /// Whether a delivery published now would be acknowledged, as far as this
    /// replica can tell.
    pub fn readiness(&self) -> Readiness {
        match self.client.connection_state() {
            State::Connected => {}
            state => {
                return Readiness::NotReady(format!(
                    "not connected to NATS at {} ({}): reconnecting",
                    self.config.url,
                    state_word(&state)
                ));
            }
        }
        if !self.stream_ready.load(Ordering::Acquire) {
            let why = lock(&self.stream_error)
                .clone()
                .unwrap_or_else(|| "being created".into());
            return Readiness::NotReady(format!(
                "connected to NATS, but stream {} is not available: {why}",
                self.config.stream
            ));
        }
        Readiness::Ready
    }

    /// Publishes each delivery as one message, its key the message id, all sent
    /// before any ack is awaited (one connection keeps their order), and answers once
    /// every one is acknowledged: `duplicates` are those JetStream already had within
    /// its duplicate window. A failure claims nothing: some messages may be in the
    /// stream, and a retry of the whole request is stored once all the same (the
    /// window, and after it the raw log's key).
    pub async fn publish(&self, deliveries: &[Delivery]) -> Result<Outcome, PublishFailure> {
        let state = self.client.connection_state();
        if state != State::Connected {
            return Err(PublishFailure::NotConnected(format!(
                "{} at {}",
                state_word(&state),
                self.config.url
            )));
        }
        if !self.stream_ready.load(Ordering::Acquire) {
            return Err(PublishFailure::NoStream(self.config.stream.clone()));
        }
        let limit = self.config.publish_timeout;
        let published = tokio::time::timeout(limit, self.send_all(deliveries)).await;
        match published {
            Ok(result) => result,
            Err(_elapsed) => Err(PublishFailure::TimedOut(limit.as_secs())),
        }
    }

    async fn send_all(&self, deliveries: &[Delivery]) -> Result<Outcome, PublishFailure> {
        let mut acks: Vec<PublishAckFuture> = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let payload = Envelope::of(delivery).to_bytes();
            let message = PublishMessage::build()
                .payload(payload.into())
                .message_id(&delivery.delivery_key)
                .expected_stream(&self.config.stream);
            let ack = self
                .js
                .send_publish(self.config.subject.clone(), message)
                .await
                .map_err(|e| self.failure(e.kind(), e.to_string()))?;
            acks.push(ack);
        }
        let mut outcome = Outcome::default();
        for ack in acks {
            let ack = ack
                .await
                .map_err(|e| self.failure(e.kind(), e.to_string()))?;
            if ack.duplicate {
                outcome.duplicates += 1;
            } else {
                outcome.accepted += 1;
            }
        }
        Ok(outcome)
    }

    fn failure(&self, kind: PublishErrorKind, text: String) -> PublishFailure {
        match kind {
            PublishErrorKind::MaxPayloadExceeded => PublishFailure::TooLarge {
                limit: self.client.server_info().max_payload,
            },
            PublishErrorKind::TimedOut => {
                PublishFailure::TimedOut(self.config.publish_timeout.as_secs())
            }
            PublishErrorKind::StreamNotFound => {
                // Deleted, or a NATS that came back without its store: create it again.
                self.stream_ready.store(false, Ordering::Release);
                *lock(&self.stream_error) = Some("no stream captures the subject".into());
                self.wake.notify_one();
                PublishFailure::NoStream(self.config.stream.clone())
            }
            PublishErrorKind::BrokenPipe => PublishFailure::NotConnected(text),
            _ => PublishFailure::Refused(text),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn state_word(state: &State) -> &'static str {
    match state {
        State::Pending => "connecting",
        State::Connected => "connected",
        State::Disconnected => "disconnected",
    }
}

/// After every (re)connection, finds or creates the stream, trying again (every
/// second, then up to every 5 s) until it succeeds.
async fn keep_stream(
    js: async_nats::jetstream::Context,
    config: NatsConfig,
    wake: Arc<Notify>,
    ready: Arc<AtomicBool>,
    error: Arc<Mutex<Option<String>>>,
) {
    loop {
        wake.notified().await;
        let mut delay = Duration::from_secs(1);
        loop {
            match ensure_stream(&js, &config).await {
                Ok(_) => {
                    *lock(&error) = None;
                    ready.store(true, Ordering::Release);
                    break;
                }
                Err(why) => {
                    tracing::warn!(error = %why, "the stream is not available; trying again");
                    ready.store(false, Ordering::Release);
                    *lock(&error) = Some(why);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
