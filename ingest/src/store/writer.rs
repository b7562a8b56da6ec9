//! The single writer. One thread owns the write connection; requests queue to it and
//! it commits many of them per transaction, so one commit (and its fsync, ~2 ms) is
//! shared by every request in the batch. A request's answer is sent only after its
//! batch committed, so `202` means durably stored.
//!
//! Derived facts are recomputed after the events, not with them: a batch records the
//! services and repositories it touched as owed (`pending.rs`), and the writer pays
//! the debt once for many batches: when no request has come for `settle_idle`, when
//! the debt is older than `settle_every` (or four times the last payment, so paying
//! takes at most a fifth of the writer's time under load), when a reader asks
//! ([`Writer::settle`]), and before it stops. A service is recomputed whole either
//! way, so paying once for ten batches gives the numbers paying ten times would,
//! at a tenth of the cost. Readers settle first, so a read after a `202` sees the
//! event in every figure.
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

use super::batch::{Delivery, Staging, Touched};
use super::pending;

/// Recomputes the derived facts of what batches touched, in the caller's transaction.
/// Implemented by the `queries` crate and handed in by the binary, so that `ingest`
/// knows no metric.
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
    /// Quiet time after which owed derived facts are recomputed.
    pub settle_idle: Duration,
    /// Longest time derived facts stay owed while requests keep coming.
    pub settle_every: Duration,
}

impl WriterOptions {
    /// For a load that no one reads while it runs (`shiplog import`, `git`,
    /// `backfill`, `replay`: the command holds the database alone): derived facts stay
    /// owed until a read asks or the writer stops, and are then paid once. Paying
    /// whenever the writer is idle for a moment recomputes every touched service
    /// after each chunk the command reads, a cost that grows with the history.
    pub fn bulk(queue_events: usize) -> Self {
        Self {
            queue_events,
            settle_idle: Duration::MAX,
            settle_every: Duration::MAX,
            ..Self::default()
        }
    }
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            queue_events: 10_000,
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
            linger: DEFAULT_LINGER,
            settle_idle: Duration::from_millis(50),
            settle_every: Duration::from_secs(1),
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
    /// Times owed derived facts were recomputed, and the time it took.
    pub settles: AtomicU64,
    pub settle_failures: AtomicU64,
    pub settle_micros_total: AtomicU64,
    /// Bumped after each commit that owes derived facts; `settled` catches up with it.
    committed: AtomicU64,
    settled: AtomicU64,
}

impl WriterStats {
    /// Whether derived facts owe nothing for any answered request.
    fn is_settled(&self) -> bool {
        self.settled.load(Ordering::Acquire) >= self.committed.load(Ordering::Acquire)
    }
}

enum Job {
    Write {
        deliveries: Vec<Delivery>,
        reply: oneshot::Sender<Result<Outcome, WriteError>>,
        permit: OwnedSemaphorePermit,
    },
    /// Recompute what is owed, then answer.
    Settle {
        reply: oneshot::Sender<Result<(), WriteError>>,
    },
}

impl Job {
    fn events(&self) -> usize {
        match self {
            Job::Write { deliveries, .. } => deliveries.len(),
            Job::Settle { .. } => 0,
        }
    }
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
    /// Starts the writer thread on `conn` (a connection of a migrated store whose
    /// recorded debt is paid: see [`pending::pay_recorded`]).
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
        // Statements that read tables are planned again on every run (DuckDB
        // re-binds them), so the cache saves parsing only; it holds every statement
        // of a batch.
        conn.set_prepared_statement_cache_capacity(64);
        let staging = Staging::for_sole_writer(&conn)
            .map_err(|e| format!("cannot prepare the writer: {e}"))?;
        let owed =
            pending::load(&conn).map_err(|e| format!("cannot read the owed derivations: {e}"))?;
        let mut state = WriterThread {
            conn,
            staging,
            refresh,
            options,
            next_seq,
            pause: pause.clone(),
            stats: stats.clone(),
            owed,
            owed_since: Instant::now(),
            last_settle: Duration::ZERO,
            settle_failed: false,
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
        self.send(Job::Write {
            deliveries: submission.deliveries,
            reply,
            permit,
        })?;
        answer.await.map_err(|_| WriteError::Closed)?
    }

    /// Waits until the derived facts cover every answered submission (at once when
    /// nothing is owed). Readers call this first, so a read after a `202` sees it.
    pub async fn settle(&self) -> Result<(), WriteError> {
        if self.stats.is_settled() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.send(Job::Settle { reply })?;
        answer.await.map_err(|_| WriteError::Closed)?
    }

    fn send(&self, job: Job) -> Result<(), WriteError> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let sender = jobs.as_ref().ok_or(WriteError::Closed)?;
        sender.send(job).map_err(|_| WriteError::Closed)
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

    /// Refuses new submissions, lets the queued ones finish, pays what is owed, and
    /// waits for the thread (which closes the connection, checkpointing the file).
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
    staging: Staging,
    refresh: Box<dyn Refresh>,
    options: WriterOptions,
    next_seq: i64,
    pause: Pause,
    stats: Arc<WriterStats>,
    /// What `derivation_pending` records, kept in memory.
    owed: Touched,
    /// When the oldest unpaid debt was committed.
    owed_since: Instant,
    last_settle: Duration,
    /// The last payment failed: wait for the next request instead of retrying on idle.
    settle_failed: bool,
}

impl WriterThread {
    fn run(&mut self, rx: mpsc::Receiver<Job>) {
        while let Some(first) = self.next_job(&rx) {
            let batch = self.gather(first, &rx);
            self.wait_while_paused();
            let mut writes = Vec::new();
            let mut settles = Vec::new();
            for job in batch {
                match job {
                    Job::Write { .. } => writes.push(job),
                    Job::Settle { reply } => settles.push(reply),
                }
            }
            if !writes.is_empty() {
                self.write(writes);
            }
            if !settles.is_empty() || self.settle_due() {
                let result = self.settle().map_err(WriteError::Storage);
                for reply in settles {
                    let _ = reply.send(result.clone());
                }
            }
        }
        if self.settle().is_err() {
            tracing::error!("the next start recomputes the owed derived facts");
        }
        tracing::debug!("writer stopped");
    }

    /// The next request; pays what is owed when none comes for `settle_idle`.
    /// `None` once every handle is gone.
    fn next_job(&mut self, rx: &mpsc::Receiver<Job>) -> Option<Job> {
        loop {
            if self.owed.is_empty() || self.settle_failed {
                return rx.recv().ok();
            }
            match rx.recv_timeout(self.options.settle_idle) {
                Ok(job) => return Some(job),
                Err(RecvTimeoutError::Timeout) => {
                    // A failure is logged and kept as owed; the next request retries.
                    let _ = self.settle();
                }
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Debt older than `settle_every`, or than four payments, is paid between batches.
    fn settle_due(&self) -> bool {
        !self.owed.is_empty()
            && self.owed_since.elapsed() >= self.options.settle_every.max(self.last_settle * 4)
    }

    /// Recomputes the owed derived facts in one transaction.
    fn settle(&mut self) -> Result<(), String> {
        if self.owed.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let span = tracing::debug_span!(
            "settle",
            services = self.owed.services.len(),
            repos = self.owed.repos.len()
        );
        let _entered = span.enter();
        let committed = self.stats.committed.load(Ordering::Acquire);
        let result = pending::pay(&mut self.conn, self.refresh.as_mut(), &self.owed);
        self.last_settle = started.elapsed();
        self.stats
            .settle_micros_total
            .fetch_add(self.last_settle.as_micros() as u64, Ordering::Relaxed);
        match &result {
            Ok(()) => {
                self.owed = Touched::default();
                self.settle_failed = false;
                self.stats.settles.fetch_add(1, Ordering::Relaxed);
                self.stats.settled.store(committed, Ordering::Release);
            }
            Err(error) => {
                tracing::error!(%error, "derived facts not recomputed; kept as owed");
                self.settle_failed = true;
                self.stats.settle_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// Takes more queued jobs until the batch is full or the linger time is up.
    fn gather(&self, first: Job, rx: &mpsc::Receiver<Job>) -> Vec<Job> {
        let mut events = first.events();
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
            events += job.events();
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
            if let Job::Write {
                deliveries: mine,
                reply,
                permit,
            } = job
            {
                replies.push((mine.len(), reply, permit));
                deliveries.extend(mine);
            }
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

    /// One transaction: raw log, typed tables, the derived facts now owed, commit.
    fn commit(&mut self, deliveries: &[Delivery]) -> Result<Vec<bool>, String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        let result = self
            .staging
            .write(&tx, deliveries, self.next_seq)
            .map_err(|e| e.to_string())?;
        pending::record(&tx, &self.owed, &result.touched).map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        if !result.touched.is_empty() {
            if self.owed.is_empty() {
                self.owed_since = Instant::now();
            }
            self.owed.extend(result.touched);
            // Before the answers go out, so a reader that saw one knows to settle.
            self.stats.committed.fetch_add(1, Ordering::AcqRel);
        }
        Ok(result.new)
    }
}
