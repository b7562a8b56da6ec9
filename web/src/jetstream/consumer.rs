//! `shiplog serve`'s side of JetStream: a task that pulls what the replicas published
//! with a durable consumer, maps each message as direct ingest maps a request
//! (`envelope`), submits a whole fetch to the writer as one submission, and acks
//! every message only once that submission is committed, waiting for JetStream to
//! confirm each ack (a double ack).
//!
//! Exactly once: a message is acked only after its commit, so a crash (of this
//! process or of NATS) between the two leaves it unacked and JetStream delivers it
//! again after `ack_wait`; the writer then finds its key in the raw log and stores
//! nothing twice. Acks are explicit, one per message: acking the last of a fetch for
//! all (`AckPolicy::All`) was turned down, because after a restart the messages of
//! the dead process come back later than newer ones, and one ack would have covered
//! them before they were stored.
//!
//! It never holds direct ingest up: it runs beside the routes, takes at most a tenth
//! of the writer's queue in one submission, and when the queue is full or storage
//! fails it waits (telling JetStream the messages are still in progress) rather than
//! retry at once. While NATS is away it tries again, up to every 5 s.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{AckKind, Context, Message};
use futures_core::Stream;
use shiplog_ingest::sources::Routing;
use shiplog_ingest::store::{Submission, WriteError, Writer};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::envelope::Envelope;
use super::{NatsConfig, connect, context, ensure_stream};

/// How long one pull waits for the first message when the stream is empty; it
/// returns as soon as any are there.
const FETCH_WAIT: Duration = Duration::from_secs(1);
/// The most bytes one pull brings: above NATS's largest `max_payload` (64 MiB), so a
/// single large message always fits.
const FETCH_BYTES: usize = 64 * 1024 * 1024;
/// The most messages one pull brings.
const MAX_FETCH: usize = 500;
/// How long a stop waits for the batch in hand to be committed and acked.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// The running consumer; [`ConsumerTask::stop`] ends it.
#[derive(Debug)]
pub struct ConsumerTask {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ConsumerTask {
    /// Starts consuming `config`'s stream into `writer`; `queue_events` is the
    /// writer's queue, of which one submission takes at most a tenth. The error is a
    /// URL that cannot be read; an unreachable NATS is not one (see `connect`).
    pub async fn start(
        config: NatsConfig,
        writer: Writer,
        routing: Routing,
        queue_events: usize,
    ) -> Result<ConsumerTask, String> {
        let connected = Arc::new(Notify::new());
        let client = connect(&config, "shiplog serve", connected).await?;
        let js = context(client, &config);
        let (stop, stopped) = watch::channel(false);
        let batch = (queue_events / 10).clamp(1, MAX_FETCH);
        let consumer = Consumer {
            js,
            config,
            writer,
            routing,
            batch,
            stop: stopped,
        };
        let task = tokio::spawn(consumer.run());
        Ok(ConsumerTask { stop, task })
    }

    /// Stops pulling, lets the batch in hand be committed and acked (for at most
    /// `STOP_LIMIT`; what is cut is delivered again to the next start), and returns
    /// before the writer stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(STOP_LIMIT, &mut task).await.is_err() {
            tracing::warn!("the JetStream consumer did not stop in time; its batch comes again");
            task.abort();
        }
    }
}

struct Consumer {
    js: Context,
    config: NatsConfig,
    writer: Writer,
    routing: Routing,
    batch: usize,
    stop: watch::Receiver<bool>,
}

/// What to do after a batch.
enum Next {
    Pull,
    Stop,
}

impl Consumer {
    async fn run(mut self) {
        let mut delay = Backoff::default();
        'attach: loop {
            if self.stopping() {
                return;
            }
            let consumer = match self.attach().await {
                Ok(consumer) => consumer,
                Err(why) => {
                    tracing::warn!(error = %why, "cannot attach to JetStream; trying again");
                    if self.stopped_during(delay.next()).await {
                        return;
                    }
                    continue;
                }
            };
            tracing::info!(
                stream = %self.config.stream,
                consumer = %self.config.consumer,
                "consuming JetStream deliveries"
            );
            loop {
                if self.stopping() {
                    return;
                }
                let messages = match self.fetch(&consumer).await {
                    Ok(messages) => messages,
                    Err(why) => {
                        tracing::warn!(error = %why, "pulling from JetStream failed; attaching again");
                        if self.stopped_during(delay.next()).await {
                            return;
                        }
                        continue 'attach;
                    }
                };
                delay = Backoff::default();
                if messages.is_empty() {
                    continue;
                }
                if let Next::Stop = self.store(messages).await {
                    return;
                }
            }
        }
    }

    /// The stream and the durable consumer, created when missing (and the
    /// consumer's settings updated where the server allows it).
    async fn attach(&self) -> Result<PullConsumer, String> {
        let stream = ensure_stream(&self.js, &self.config).await?;
        let name = self.config.consumer.clone();
        let wanted = PullConfig {
            durable_name: Some(name.clone()),
            name: Some(name.clone()),
            description: Some("Shiplog's writer: acks after the commit".into()),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.config.ack_wait,
            // Never give up on a delivery: one that keeps failing is a storage
            // fault to fix, and it was answered `202`.
            max_deliver: -1,
            max_ack_pending: i64::try_from(self.batch * 4).unwrap_or(i64::MAX).max(1_000),
            ..Default::default()
        };
        match stream.create_consumer(wanted).await {
            Ok(consumer) => Ok(consumer),
            Err(created) => {
                tracing::warn!(error = %created, consumer = %name, "cannot create or update the consumer; using it as it is");
                stream
                    .get_consumer(&name)
                    .await
                    .map_err(|e| format!("consumer {name}: {created}; {e}"))
            }
        }
    }

    /// One pull: what is there now (up to the batch), or the first messages to come
    /// within `FETCH_WAIT`.
    async fn fetch(&self, consumer: &PullConsumer) -> Result<Vec<Message>, String> {
        let batch = consumer
            .fetch()
            .max_messages(self.batch)
            .max_bytes(FETCH_BYTES)
            .expires(FETCH_WAIT)
            .messages()
            .await
            .map_err(|e| e.to_string())?;
        let mut batch = pin!(batch);
        let mut messages = Vec::new();
        while let Some(item) = std::future::poll_fn(|cx| batch.as_mut().poll_next(cx)).await {
            match item {
                Ok(message) => messages.push(message),
                Err(e) if messages.is_empty() => return Err(e.to_string()),
                Err(e) => {
                    tracing::debug!(error = %e, "a pull ended early; storing what came");
                    break;
                }
            }
        }
        Ok(messages)
    }

    /// Maps, submits and acks one pull. A message that can never be stored (not an
    /// envelope, another version, a source without an adapter) is logged and
    /// terminated, so it does not come back forever.
    async fn store(&mut self, messages: Vec<Message>) -> Next {
        let mut deliveries = Vec::with_capacity(messages.len());
        let mut held = Vec::with_capacity(messages.len());
        for message in messages {
            let read = Envelope::from_bytes(&message.payload)
                .and_then(|envelope| envelope.into_delivery(&self.routing));
            match read {
                Ok(delivery) => {
                    deliveries.push(delivery);
                    held.push(message);
                }
                Err(why) => {
                    tracing::error!(error = %why, "a JetStream message that can never be stored; dropping it");
                    let _ = message.ack_with(AckKind::Term).await;
                }
            }
        }
        if deliveries.is_empty() {
            return Next::Pull;
        }
        let mut delay = Backoff::default();
        loop {
            let submission = Submission {
                deliveries: deliveries.clone(),
            };
            match self.writer.submit(submission).await {
                Ok(outcome) => {
                    tracing::debug!(
                        accepted = outcome.accepted,
                        duplicates = outcome.duplicates,
                        "stored JetStream deliveries"
                    );
                    ack_all(held).await;
                    return Next::Pull;
                }
                // Unacked, they come again after `ack_wait`, to the next start.
                Err(WriteError::Closed | WriteError::Stopped) => return Next::Stop,
                Err(e @ (WriteError::Busy | WriteError::Storage(_))) => {
                    tracing::warn!(error = %e, messages = held.len(), "the writer cannot take the JetStream batch now; waiting");
                    for message in &held {
                        let _ = message.ack_with(AckKind::Progress).await;
                    }
                    if self.stopped_during(delay.next()).await {
                        return Next::Stop;
                    }
                }
            }
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Waits `delay`, or less when a stop comes; whether it did.
    async fn stopped_during(&mut self, delay: Duration) -> bool {
        if self.stopping() {
            return true;
        }
        tokio::select! {
            changed = self.stop.changed() => changed.is_err() || self.stopping(),
            () = tokio::time::sleep(delay) => false,
        }
    }
}

/// Acks every message of a committed batch and waits for JetStream to confirm each.
/// An ack that is lost only means the message comes again, and is found stored.
async fn ack_all(messages: Vec<Message>) {
    let mut acks = JoinSet::new();
    for message in messages {
        acks.spawn(async move { message.double_ack().await });
    }
    let mut unconfirmed = 0usize;
    while let Some(acked) = acks.join_next().await {
        if !matches!(acked, Ok(Ok(()))) {
            unconfirmed += 1;
        }
    }
    if unconfirmed > 0 {
        tracing::warn!(
            unconfirmed,
            "acks JetStream did not confirm: those messages come again and are found stored"
        );
    }
}

/// 100 ms, doubling up to 5 s.
#[derive(Debug)]
struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_millis(100))
    }
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let now = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
        now
    }
}
