//! Highly available ingest through NATS JetStream (`docs/scaling.md`). Stateless
//! `shiplog ingest` replicas verify and validate each delivery as `shiplog serve`
//! does, publish it to a stream with its delivery key as the message id, and answer
//! once JetStream has acknowledged it; `shiplog serve` consumes the stream with a
//! durable pull consumer and acks each message only after its batch is committed.
//!
//! # Layout
//!
//! - [`config`]: `[nats]` and `SHIPLOG_NATS_*`.
//! - [`envelope`]: the message, what a replica verified, and how the consumer maps it.
//! - [`publisher`]: a replica's connection, publishing and awaiting the acks.
//! - [`consumer`]: `shiplog serve`'s task that pulls, writes, then acks.
//! - [`replica`]: the `shiplog ingest` server and its routes.
//!
//! Here: connecting, and the stream both sides create when it is missing.

pub mod config;
pub mod consumer;
pub mod envelope;
pub mod publisher;
pub mod replica;

use std::time::Duration;

use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::{Client, ConnectOptions, Event};
use secrecy::ExposeSecret;
use tokio::sync::Notify;

pub use config::NatsConfig;

/// How long a connection attempt and a JetStream API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects in the background: the client keeps trying (the first connection and
/// after every loss, up to every 4 s), so a process starts whether NATS is up or not
/// and [`Client::connection_state`] says which. `connected` is notified on every
/// (re)connection. Failing the start instead was turned down: in a cluster NATS and
/// Shiplog start in any order, and a replica that exits would only restart in a loop.
pub async fn connect(
    config: &NatsConfig,
    name: &str,
    connected: std::sync::Arc<Notify>,
) -> Result<Client, String> {
    let mut options = ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(REQUEST_TIMEOUT)
        .request_timeout(Some(REQUEST_TIMEOUT))
        .event_callback(move |event| {
            let connected = connected.clone();
            async move {
                match event {
                    Event::Connected => {
                        tracing::info!("connected to NATS");
                        connected.notify_one();
                    }
                    Event::Disconnected => {
                        tracing::warn!("lost the connection to NATS; reconnecting")
                    }
                    other => tracing::info!(event = %other, "NATS"),
                }
            }
        });
    if let Some(token) = &config.token {
        options = options.token(token.expose_secret().to_owned());
    }
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        options = options.user_and_password(user.clone(), password.expose_secret().to_owned());
    }
    let servers: Vec<&str> = config.url.split(',').map(str::trim).collect();
    let addresses = servers
        .iter()
        .map(|url| url.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("[nats] url {:?}: {e}", config.url))?;
    options
        .connect(addresses)
        .await
        .map_err(|e| format!("cannot connect to NATS at {}: {e}", config.url))
}

/// The JetStream context with the bounds above; a publish's ack waits for at most
/// `publish_timeout`.
pub fn context(client: Client, config: &NatsConfig) -> async_nats::jetstream::Context {
    async_nats::jetstream::ContextBuilder::new()
        .timeout(config.publish_timeout.max(REQUEST_TIMEOUT))
        .build(client)
}

/// The stream, created when missing, by whichever process gets there first.
///
/// - **Work-queue retention**: a message is deleted once the writer has acked it, so
///   the stream holds only what is not stored yet. Limits retention (keeping every
///   message until an age or size limit) was turned down: the raw log already keeps
///   every delivery forever, and a second copy of it would grow without use.
///   A work queue also lets one consumer take its subject, so a second writer
///   cannot attach by mistake.
/// - **File storage**: an acknowledged delivery survives a NATS restart.
/// - **Discard new**: if an operator bounds the stream, a full stream refuses new
///   publishes (the replica answers `503`) instead of dropping unstored deliveries.
///
/// An existing stream is used as it is; one that is not a work queue on the subject
/// is named in the log.
pub async fn ensure_stream(
    context: &async_nats::jetstream::Context,
    config: &NatsConfig,
) -> Result<stream::Stream, String> {
    let wanted = stream::Config {
        name: config.stream.clone(),
        subjects: vec![config.subject.clone()],
        retention: RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        discard: DiscardPolicy::New,
        duplicate_window: config.duplicate_window,
        num_replicas: config.stream_replicas,
        description: Some("Shiplog: deliveries accepted by replicas, not yet stored".into()),
        ..Default::default()
    };
    let mut stream = context
        .get_or_create_stream(wanted)
        .await
        .map_err(|e| format!("cannot create or read stream {}: {e}", config.stream))?;
    let info = stream
        .info()
        .await
        .map_err(|e| format!("cannot read stream {}: {e}", config.stream))?;
    let existing = &info.config;
    if existing.retention != RetentionPolicy::WorkQueue
        || !existing.subjects.iter().any(|s| s == &config.subject)
    {
        tracing::warn!(
            stream = %config.stream,
            retention = ?existing.retention,
            subjects = ?existing.subjects,
            "the stream exists with another shape than Shiplog creates (a work queue on the subject)"
        );
    }
    Ok(stream)
}
