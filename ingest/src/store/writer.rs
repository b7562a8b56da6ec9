//! The single writer. One thread owns the write connection; requests queue to it and
//! it commits many of them per transaction, so one commit (and its fsync, ~2 ms) is
//! shared by every request in the batch. A request's answer is sent only after its
//! batch committed, so `202` means durably stored.
//!
//! A thread rather than a tokio task: every step is blocking DuckDB work, and a
//! dedicated thread keeps it off the runtime's workers without `spawn_blocking` per
//! batch. The queue is bounded in events (a semaphore), so a full queue is refused at
//! once (`503`) instead of growing without limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use duckdb::Connection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::batch::{Delivery, Touched, write_batch};

/// Recomputes derived facts inside the writer's transaction. Implemented by the
/// `queries` crate and handed in by the binary, so that `ingest` knows no metric.
pub trait Refresh: Send + 'static {
    fn refresh(&mut self, conn: &Connection, touched: &Touched) -> Result<(), String>;
}

/// Default most events committed in one transaction.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 5_000;
/// Default time the writer waits for more requests after the first of a batch.
pub const DEFAULT_LINGER: Duration = Duration::from_millis(2);

#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Events that may wait in the queue (SPEC §7 `writer_queue_events`).
    pub queue_events: usize,
    pub max_batch_events: usize,
    pub linger: Duration,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            queue_events: 10_000,
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
            linger: DEFAULT_LINGER,
        }
    }
}

/// Deliveries to store together; the answer covers them all.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub deliveries: Vec<Delivery>,
}

/// The answer to a stored submission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    pub accepted: usize,
    pub duplicates: usize,
}

/// Why a submission was not stored. Every kind is temporary: the sender should retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the writer's queue is full")]
    Busy,
    #[error("the server is shutting down")]
    Closed,
    #[error("storage failed: {0}")]
    Storage(String),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub deliveries_accepted: AtomicU64,
    pub deliveries_duplicate: AtomicU64,
    pub batch_failures: AtomicU64,
    pub busy_refusals: AtomicU64,
    pub batch_micros_total: AtomicU64,
}

struct Job {
    deliveries: Vec<Delivery>,
    reply: oneshot::Sender<Result<Outcome, WriteError>>,
    _permit: OwnedSemaphorePermit,
}

type Pause = Arc<(Mutex<bool>, Condvar)>;

/// A handle to the writer; clones share one queue.
#[derive(Clone)]
pub struct Writer {
    jobs: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
    permits: Arc<Semaphore>,
    capacity: usize,
    pause: Pause,
    stats: Arc<WriterStats>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("capacity", &self.capacity)
            .field("queued", &self.queued())
            .finish()
    }
}

/// Holds the writer still until dropped (for maintenance, and for tests of a full queue).
#[derive(Debug)]
pub struct PauseGuard {
    pause: Pause,
}

impl Drop for PauseGuard {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.pause;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = false;
        cvar.notify_all();
    }
}

impl Writer {
    /// Starts the writer thread on `conn` (a connection of a migrated store).
    pub fn spawn(
        conn: Connection,
        refresh: Box<dyn Refresh>,
        options: WriterOptions,
    ) -> Result<Writer, String> {
        let next_seq: i64 = conn
            .query_row(
                "SELECT COALESCE(max(seq), 0) + 1 FROM raw_events",
                [],
                |r| r.get(0),
            )
            .map_err(|e| format!("cannot read the raw log: {e}"))?;
        let (tx, rx) = mpsc::channel();
        let capacity = options.queue_events.max(1);
        let pause: Pause = Arc::new((Mutex::new(false), Condvar::new()));
        let stats = Arc::new(WriterStats::default());
        let mut state = WriterThread {
            conn,
            refresh,
            options,
            next_seq,
            pause: pause.clone(),
            stats: stats.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("shiplog-writer".into())
            .spawn(move || state.run(rx))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(Writer {
            jobs: Arc::new(Mutex::new(Some(tx))),
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
            pause,
            stats,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Queues `submission` and waits until it is committed. Refuses at once with
    /// [`WriteError::Busy`] when the queue holds too many events.
    pub async fn submit(&self, submission: Submission) -> Result<Outcome, WriteError> {
        let events: usize = submission
            .deliveries
            .iter()
            .map(|d| d.events.len().max(1))
            .sum();
        // A submission larger than the whole queue is taken when the queue is empty,
        // instead of being refused forever.
        let wanted = events.clamp(1, self.capacity) as u32;
        let permit = self
            .permits
            .clone()
            .try_acquire_many_owned(wanted)
            .map_err(|_| {
                self.stats.busy_refusals.fetch_add(1, Ordering::Relaxed);
                WriteError::Busy
            })?;
        let (reply, answer) = oneshot::channel();
        {
            let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            let sender = jobs.as_ref().ok_or(WriteError::Closed)?;
            sender
                .send(Job {
                    deliveries: submission.deliveries,
                    reply,
                    _permit: permit,
                })
                .map_err(|_| WriteError::Closed)?;
        }
        answer.await.map_err(|_| WriteError::Closed)?
    }

    /// Events waiting in the queue or in the batch being written.
    pub fn queued(&self) -> usize {
        self.capacity - self.permits.available_permits()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Stops the writer from starting another batch until the guard is dropped.
    pub fn pause(&self) -> PauseGuard {
        *self.pause.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        PauseGuard {
            pause: self.pause.clone(),
        }
    }

    /// Refuses new submissions, lets the queued ones finish, and waits for the thread
    /// (which closes the connection, checkpointing the file).
    pub fn shutdown(&self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the writer thread panicked");
        }
    }
}

struct WriterThread {
    conn: Connection,
    refresh: Box<dyn Refresh>,
    options: WriterOptions,
    next_seq: i64,
    pause: Pause,
    stats: Arc<WriterStats>,
}

impl WriterThread {
    fn run(&mut self, rx: mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let batch = self.gather(first, &rx);
            self.wait_while_paused();
            self.write(batch);
        }
        tracing::debug!("writer stopped");
    }

    /// Takes more queued jobs until the batch is full or the linger time is up.
    fn gather(&self, first: Job, rx: &mpsc::Receiver<Job>) -> Vec<Job> {
        let mut events = first.deliveries.len();
        let mut batch = vec![first];
        let deadline = Instant::now() + self.options.linger;
        while events < self.options.max_batch_events {
            let job = match rx.try_recv() {
                Ok(job) => job,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                        Ok(job) => job,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            events += job.deliveries.len();
            batch.push(job);
        }
        batch
    }

    fn wait_while_paused(&self) {
        let (lock, cvar) = &*self.pause;
        let mut paused = lock.lock().unwrap_or_else(|e| e.into_inner());
        while *paused {
            paused = cvar.wait(paused).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn write(&mut self, batch: Vec<Job>) {
        let started = Instant::now();
        let mut deliveries = Vec::new();
        let mut replies = Vec::new();
        for job in batch {
            replies.push((job.deliveries.len(), job.reply, job._permit));
            deliveries.extend(job.deliveries);
        }
        let span = tracing::debug_span!(
            "batch",
            requests = replies.len(),
            deliveries = deliveries.len()
        );
        let _entered = span.enter();
        match self.commit(&deliveries) {
            Ok(new) => {
                self.next_seq += deliveries.len() as i64;
                let mut offset = 0;
                for (len, reply, permit) in replies {
                    let accepted = new[offset..offset + len].iter().filter(|n| **n).count();
                    offset += len;
                    self.stats
                        .deliveries_accepted
                        .fetch_add(accepted as u64, Ordering::Relaxed);
                    self.stats
                        .deliveries_duplicate
                        .fetch_add((len - accepted) as u64, Ordering::Relaxed);
                    drop(permit);
                    // A sender that gave up waiting is not an error of the batch.
                    let _ = reply.send(Ok(Outcome {
                        accepted,
                        duplicates: len - accepted,
                    }));
                }
                self.stats.batches.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                tracing::error!(%error, "batch not stored; its senders are told to retry");
                self.stats.batch_failures.fetch_add(1, Ordering::Relaxed);
                for (_, reply, _) in replies {
                    let _ = reply.send(Err(WriteError::Storage(error.clone())));
                }
            }
        }
        self.stats
            .batch_micros_total
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    /// One transaction: raw log, typed tables, derived facts, commit.
    fn commit(&mut self, deliveries: &[Delivery]) -> Result<Vec<bool>, String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        let result = write_batch(&tx, deliveries, self.next_seq).map_err(|e| e.to_string())?;
        if !result.touched.is_empty() {
            self.refresh.refresh(&tx, &result.touched)?;
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(result.new)
    }
}
