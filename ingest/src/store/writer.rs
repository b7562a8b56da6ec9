//! The single writer. One thread owns the write connection; requests queue to it and
//! it commits many of them per transaction, so one commit (and its fsync, ~2 ms) is
//! shared by every request in the batch. A request's answer is sent only after its
//! batch committed, so `202` means durably stored.
//!
//! Derived facts are recomputed after the events, not with them, and not on the
//! writer's thread: a batch records the services and repositories it touched as owed
//! (`pending.rs`), and the writer's second thread, the settler, pays the debt once for
//! many batches on its own connection while batches go on committing: when no batch
//! has committed for `settle_idle`, when the debt is older than `settle_every` (or
//! four times the last payment, so paying takes at most a fifth of the time under
//! load), when a reader asks ([`Writer::settle`]), and when the writer stops. A
//! service is recomputed whole either way, so paying once for ten batches gives the
//! numbers paying ten times would, at a tenth of the cost. Readers settle first, so a
//! read after a `202` sees the event in every figure.
//!
//! A payment's transaction sees exactly the commits whose debt it takes: the writer
//! records a batch's debt, commits and adds it to the shared [`Debt`] under one lock,
//! and the settler takes the debt and starts its transaction's snapshot under the same
//! lock. So the rows of `derivation_pending` a payment deletes are the ones it pays,
//! and a batch that commits during a payment records its debt anew for the next.
//!
//! The settler's first job, before the writer thread starts, is to bring the derived
//! facts current ([`Refresh::bring_current`]: the settings they were computed with
//! changed) and to pay the debt a stopped writer left on disk; [`Writer::spawn`]
//! returns once it is done, so the first read sees current facts and no derived fact
//! is written on any other thread.
//!
//! Threads rather than tokio tasks: every step is blocking DuckDB work, and dedicated
//! threads keep it off the runtime's workers without `spawn_blocking` per batch. The
//! queue is bounded in events (a semaphore), so a full queue is refused at once
//! (`503`) instead of growing without limit.

use std::sync::MutexGuard;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
/// knows no metric. Called only on the settler's thread.
pub trait Refresh: Send + 'static {
    fn refresh(&mut self, conn: &Connection, touched: &Touched) -> Result<(), RefreshError>;

    /// Recomputes whatever is stale for a reason other than the events (the derived
    /// facts were computed with other settings, or by another version of the
    /// derivation), in its own transaction on `conn`; returns whether it recomputed
    /// anything. The settler's first job, before the recorded debt is paid and before
    /// any batch is written. A derivation that depends on the events alone has
    /// nothing to check, hence the default.
    fn bring_current(&mut self, conn: &Connection) -> Result<bool, RefreshError> {
        let _ = conn;
        Ok(false)
    }
}

/// Whatever the derivation fails with.
pub type RefreshError = Box<dyn std::error::Error + Send + Sync>;

/// Why the write path failed: the step and the database's error, or the
/// derivation's. Cheap to clone: every request of a failed batch and every reader
/// waiting on a failed payment is told.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteFailure {
    #[error("{step}: {source}")]
    Database {
        step: &'static str,
        source: Arc<duckdb::Error>,
    },
    #[error("recomputing derived facts: {0}")]
    Derivation(Arc<dyn std::error::Error + Send + Sync>),
    #[error("starting the {0} thread: {1}")]
    Thread(&'static str, Arc<std::io::Error>),
}

impl WriteFailure {
    /// A `map_err` for a database step.
    pub fn at(step: &'static str) -> impl FnOnce(duckdb::Error) -> WriteFailure {
        move |source| WriteFailure::Database {
            step,
            source: Arc::new(source),
        }
    }
}

/// Why the writer did not start. Nothing is left running: the settler's start-up
/// failed before the writer thread began, and a debt it could not pay stays recorded.
#[derive(Debug, thiserror::Error)]
pub enum StartFailure {
    /// Preparing the connections, or starting a thread.
    #[error("{0}")]
    Writer(WriteFailure),
    /// [`Refresh::bring_current`] failed.
    #[error("{0}")]
    Current(RefreshError),
    /// Paying the debt a stopped writer recorded failed.
    #[error("{0}")]
    Owed(WriteFailure),
}

impl From<RefreshError> for WriteFailure {
    fn from(error: RefreshError) -> Self {
        WriteFailure::Derivation(Arc::from(error))
    }
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
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("the writer's queue is full")]
    Busy,
    #[error("the server is shutting down")]
    Closed,
    /// The writer's thread (or its settler's) ended without a shutdown: nothing can
    /// be stored until the server is restarted; the log says why.
    #[error("the writer has stopped")]
    Stopped,
    #[error("storage failed: {0}")]
    Storage(WriteFailure),
}

/// What [`Writer::health`] reports: whether events can be stored now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterHealth {
    /// The writer's thread and its settler are running (false once either has ended,
    /// by a shutdown or a crash).
    pub running: bool,
    /// The last batch was rolled back by the storage (cleared by the next commit).
    pub storage_failing: bool,
    /// The last payment of derived facts failed (cleared by the next one).
    pub derivation_failing: bool,
    pub queued: usize,
    pub capacity: usize,
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
    /// Whether the last batch, and the last payment, failed.
    storage_failing: AtomicBool,
    derivation_failing: AtomicBool,
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

struct Job {
    deliveries: Vec<Delivery>,
    reply: oneshot::Sender<Result<Outcome, WriteError>>,
    permit: OwnedSemaphorePermit,
}

type Pause = Arc<(Mutex<bool>, Condvar)>;

/// A reader waiting for the derived facts of every commit up to `commits`.
struct Waiter {
    commits: u64,
    reply: oneshot::Sender<Result<(), WriteError>>,
}

/// What is owed and who waits for it: shared by the writer thread (which adds to it
/// under the lock it commits under), the settler (which takes it) and readers.
struct Debt {
    /// What the batches committed since the last payment was taken touched.
    owed: Touched,
    /// The same, as `derivation_pending` records it (services and repositories).
    recorded: Touched,
    /// When the oldest debt not yet taken was committed, and the newest commit.
    owed_since: Instant,
    last_commit: Instant,
    waiters: Vec<Waiter>,
    /// The last payment failed: the settler waits for the next commit or reader
    /// instead of retrying on idle.
    failed: bool,
    /// The writer thread has stopped: pay what is owed once more, then stop.
    closing: bool,
    /// The settler has ended (after `closing`, or by a panic): no payment comes.
    settler_gone: bool,
}

impl Debt {
    /// Adds `more` to what no payment has taken yet.
    fn owe(&mut self, more: Touched) {
        if self.owed.is_empty() {
            self.owed_since = Instant::now();
        }
        self.recorded.extend(more.coarse());
        self.owed.extend(more);
    }
}

type Shared = Arc<(Mutex<Debt>, Condvar)>;

fn lock(shared: &Shared) -> MutexGuard<'_, Debt> {
    shared.0.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tells the settler that the writer thread has stopped: it pays what is left, then
/// stops too.
fn close(shared: &Shared) {
    lock(shared).closing = true;
    shared.1.notify_all();
}

/// Runs `then` on the debt when dropped: when its thread ends, returning or
/// unwinding from a panic, so that nobody waits for a thread that is gone.
struct OnExit(Shared, fn(&mut Debt));

impl Drop for OnExit {
    fn drop(&mut self) {
        (self.1)(&mut lock(&self.0));
        self.0.1.notify_all();
    }
}

/// The settler's exit: whoever still waits for a payment is told none will come.
fn settler_gone(debt: &mut Debt) {
    debt.settler_gone = true;
    for waiter in debt.waiters.drain(..) {
        let _ = waiter.reply.send(Err(WriteError::Stopped));
    }
}

/// A handle to the writer; clones share one queue.
#[derive(Clone)]
pub struct Writer {
    jobs: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
    permits: Arc<Semaphore>,
    capacity: usize,
    pause: Pause,
    debt: Shared,
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
    /// Starts the settler and the writer thread on `conn` (a connection of a migrated
    /// store). Returns once the settler's start-up is done: the derived facts brought
    /// current ([`Refresh::bring_current`]) and the debt recorded on disk paid, so a
    /// read after `spawn` sees current facts.
    pub fn spawn(
        conn: Connection,
        refresh: Box<dyn Refresh>,
        options: WriterOptions,
    ) -> Result<Writer, StartFailure> {
        let next_seq: i64 = conn
            .query_row(
                "SELECT COALESCE(max(seq), 0) + 1 FROM raw_events",
                [],
                |r| r.get(0),
            )
            .map_err(WriteFailure::at("reading the raw log's last number"))
            .map_err(StartFailure::Writer)?;
        let (tx, rx) = mpsc::channel();
        let capacity = options.queue_events.max(1);
        let pause: Pause = Arc::new((Mutex::new(false), Condvar::new()));
        let stats = Arc::new(WriterStats::default());
        // Statements that read tables are planned again on every run (DuckDB
        // re-binds them), so the cache saves parsing only; it holds every statement
        // of a batch.
        conn.set_prepared_statement_cache_capacity(64);
        let staging = Staging::for_sole_writer(&conn)
            .map_err(WriteFailure::at("preparing the writer"))
            .map_err(StartFailure::Writer)?;
        let owed = pending::load(&conn)
            .map_err(WriteFailure::at("reading the owed derivations"))
            .map_err(StartFailure::Writer)?;
        let now = Instant::now();
        let debt: Shared = Arc::new((
            Mutex::new(Debt {
                recorded: owed.clone(),
                owed,
                owed_since: now,
                last_commit: now,
                waiters: Vec::new(),
                failed: false,
                closing: false,
                settler_gone: false,
            }),
            Condvar::new(),
        ));
        let settler = Settler {
            conn: conn
                .try_clone()
                .map_err(WriteFailure::at("opening the settler's connection"))
                .map_err(StartFailure::Writer)?,
            refresh,
            settle_idle: options.settle_idle,
            settle_every: options.settle_every,
            debt: debt.clone(),
            stats: stats.clone(),
            last_settle: Duration::ZERO,
        };
        // A handshake rather than an async settle: `spawn` is called on a blocking
        // thread anyway, and no handle exists to submit through until it returns.
        let (started_tx, started) = mpsc::sync_channel(1);
        let settler = std::thread::Builder::new()
            .name("shiplog-settler".into())
            .spawn(move || {
                let _exit = OnExit(settler.debt.clone(), settler_gone);
                settler.run(started_tx);
            })
            .map_err(|e| StartFailure::Writer(WriteFailure::Thread("settler", Arc::new(e))))?;
        let start_up = started.recv().unwrap_or_else(|_| {
            Err(StartFailure::Writer(WriteFailure::Thread(
                "settler",
                Arc::new(std::io::Error::other("it stopped during start-up")),
            )))
        });
        if let Err(failure) = start_up {
            if settler.join().is_err() {
                tracing::error!("the settler thread panicked");
            }
            return Err(failure);
        }
        let mut state = WriterThread {
            conn,
            staging,
            options,
            next_seq,
            pause: pause.clone(),
            debt: debt.clone(),
            stats: stats.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("shiplog-writer".into())
            .spawn(move || {
                let exit = OnExit(state.debt.clone(), |debt| debt.closing = true);
                state.run(rx);
                drop(exit);
                if settler.join().is_err() {
                    tracing::error!("the settler thread panicked");
                }
            })
            .map_err(|e| {
                close(&debt);
                StartFailure::Writer(WriteFailure::Thread("writer", Arc::new(e)))
            })?;
        Ok(Writer {
            jobs: Arc::new(Mutex::new(Some(tx))),
            permits: Arc::new(Semaphore::new(capacity)),
            capacity,
            pause,
            debt,
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
                    permit,
                })
                .map_err(|_| WriteError::Stopped)?;
        }
        // Queued jobs are written even after a shutdown begins, so an answer that
        // never comes means the writer's thread is gone.
        answer.await.map_err(|_| WriteError::Stopped)?
    }

    /// Waits until the derived facts cover every answered submission (at once when
    /// nothing is owed). Readers call this first, so a read after a `202` sees it.
    pub async fn settle(&self) -> Result<(), WriteError> {
        if self.stats.is_settled() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        {
            let mut debt = lock(&self.debt);
            if debt.settler_gone || debt.closing {
                return Err(self.ended());
            }
            let commits = self.stats.committed.load(Ordering::Acquire);
            if self.stats.settled.load(Ordering::Acquire) >= commits {
                return Ok(());
            }
            debt.waiters.push(Waiter { commits, reply });
        }
        self.debt.1.notify_all();
        answer.await.map_err(|_| self.ended())?
    }

    /// Why the threads ended: a shutdown asked for, or not.
    fn ended(&self) -> WriteError {
        if self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            WriteError::Stopped
        } else {
            WriteError::Closed
        }
    }

    /// Whether events can be stored now, for the liveness and readiness probes.
    pub fn health(&self) -> WriterHealth {
        let thread_running = self
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|thread| !thread.is_finished());
        let settler_running = !lock(&self.debt).settler_gone;
        WriterHealth {
            running: thread_running && settler_running,
            storage_failing: self.stats.storage_failing.load(Ordering::Relaxed),
            derivation_failing: self.stats.derivation_failing.load(Ordering::Relaxed),
            queued: self.queued(),
            capacity: self.capacity,
        }
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
    /// waits for the threads (which close their connections, checkpointing the file).
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
    options: WriterOptions,
    next_seq: i64,
    pause: Pause,
    debt: Shared,
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
            replies.push((job.deliveries.len(), job.reply, job.permit));
            deliveries.extend(job.deliveries);
        }
        // One line per committed batch at `info` (the server's default): what it held,
        // what was new, how long it took; a failure's error is logged inside the span.
        let span = tracing::info_span!(
            "batch",
            requests = replies.len(),
            deliveries = deliveries.len(),
            events = deliveries.iter().map(|d| d.events.len()).sum::<usize>(),
            accepted = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let _entered = span.enter();
        let committed = match self.commit(&deliveries) {
            Ok(new) => {
                span.record("accepted", new.iter().filter(|n| **n).count());
                self.next_seq += deliveries.len() as i64;
                // Before the answers: a sender that reads readiness after its `202`
                // sees the storage as it is.
                self.stats.batches.fetch_add(1, Ordering::Relaxed);
                self.stats.storage_failing.store(false, Ordering::Relaxed);
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
                true
            }
            Err(error) => {
                tracing::error!(%error, "batch not stored; its senders are told to retry");
                self.stats.batch_failures.fetch_add(1, Ordering::Relaxed);
                self.stats.storage_failing.store(true, Ordering::Relaxed);
                for (_, reply, _) in replies {
                    let _ = reply.send(Err(WriteError::Storage(error.clone())));
                }
                false
            }
        };
        let micros = started.elapsed().as_micros() as u64;
        self.stats
            .batch_micros_total
            .fetch_add(micros, Ordering::Relaxed);
        span.record("duration_ms", micros as f64 / 1000.0);
        if committed {
            tracing::info!("batch committed");
        }
    }

    /// One transaction: raw log, typed tables, the derived facts now owed, commit.
    /// The debt is recorded, committed and handed to the settler under the debt's
    /// lock, so no payment's snapshot falls between the commit and the hand-over.
    fn commit(&mut self, deliveries: &[Delivery]) -> Result<Vec<bool>, WriteFailure> {
        let tx = self
            .conn
            .transaction()
            .map_err(WriteFailure::at("beginning the batch"))?;
        let result = self
            .staging
            .write(&tx, deliveries, self.next_seq)
            .map_err(WriteFailure::at("writing the batch"))?;
        if result.touched.is_empty() {
            tx.commit()
                .map_err(WriteFailure::at("committing the batch"))?;
            return Ok(result.new);
        }
        let mut debt = lock(&self.debt);
        pending::record(&tx, &debt.recorded, &result.touched)
            .map_err(WriteFailure::at("recording the derived facts owed"))?;
        tx.commit()
            .map_err(WriteFailure::at("committing the batch"))?;
        debt.owe(result.touched);
        debt.last_commit = Instant::now();
        debt.failed = false;
        // Before the answers go out, so a reader that saw one knows to settle.
        self.stats.committed.fetch_add(1, Ordering::AcqRel);
        drop(debt);
        self.debt.1.notify_all();
        Ok(result.new)
    }
}

/// The second thread: pays the debt on its own connection.
struct Settler {
    conn: Connection,
    refresh: Box<dyn Refresh>,
    settle_idle: Duration,
    settle_every: Duration,
    debt: Shared,
    stats: Arc<WriterStats>,
    last_settle: Duration,
}

impl Settler {
    /// Does the start-up work and tells `started` how it went; then, unless it
    /// failed, pays debts until the writer thread stops.
    fn run(mut self, started: mpsc::SyncSender<Result<(), StartFailure>>) {
        let start_up = self.start();
        let failed = start_up.is_err();
        // `spawn` waits for the answer; it cannot have gone away.
        let _ = started.send(start_up);
        if failed {
            return;
        }
        let shared = self.debt.clone();
        let mut debt = lock(&shared);
        loop {
            let closing = debt.closing;
            let asked = !debt.waiters.is_empty();
            if !debt.owed.is_empty() && (closing || asked || !debt.failed && self.due(&debt)) {
                debt = self.pay(debt, &shared).0;
                if !closing {
                    continue;
                }
            }
            if debt.closing {
                // Whoever still waits is told the writer stopped (a failed last
                // payment keeps the debt for the next start).
                for waiter in debt.waiters.drain(..) {
                    let _ = waiter.reply.send(Err(WriteError::Closed));
                }
                break;
            }
            debt = match self.wait_for(&debt) {
                Some(timeout) => {
                    shared
                        .1
                        .wait_timeout(debt, timeout)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => shared.1.wait(debt).unwrap_or_else(|e| e.into_inner()),
            };
        }
        tracing::debug!("settler stopped");
    }

    /// The first job, before any batch: derived facts brought current, then the debt
    /// a stopped writer recorded (loaded by `spawn`) paid. Paying it here rather
    /// than when it falls due matters: `settle` waits only for commits of this run.
    fn start(&mut self) -> Result<(), StartFailure> {
        let recomputed = self
            .refresh
            .bring_current(&self.conn)
            .map_err(StartFailure::Current)?;
        if recomputed {
            tracing::info!("derived facts recomputed for the current settings");
        }
        let shared = self.debt.clone();
        let debt = lock(&shared);
        if debt.owed.is_empty() {
            return Ok(());
        }
        self.pay(debt, &shared).1.map_err(StartFailure::Owed)?;
        tracing::info!("derived facts owed by the last run recomputed");
        Ok(())
    }

    /// Whether the debt is to be paid now: nothing committed for `settle_idle`, or
    /// owed longer than `settle_every` (or four payments).
    fn due(&self, debt: &Debt) -> bool {
        self.wait_for(debt) == Some(Duration::ZERO)
    }

    /// How long until the debt falls due (`None`: not until something changes).
    fn wait_for(&self, debt: &Debt) -> Option<Duration> {
        if debt.owed.is_empty() || debt.failed {
            return None;
        }
        let idle = debt.last_commit.checked_add(self.settle_idle);
        let every = self.settle_every.max(self.last_settle * 4);
        let old = debt.owed_since.checked_add(every);
        let at = match (idle, old) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(at.saturating_duration_since(Instant::now()))
    }

    /// Takes the debt and starts the payment's snapshot under the lock, pays without
    /// it, and answers the readers the payment covers.
    fn pay<'a>(
        &mut self,
        mut debt: MutexGuard<'a, Debt>,
        shared: &'a Shared,
    ) -> (MutexGuard<'a, Debt>, Result<(), WriteFailure>) {
        let started = Instant::now();
        let commits = self.stats.committed.load(Ordering::Acquire);
        let owed = std::mem::take(&mut debt.owed);
        debt.recorded = Touched::default();
        let span = tracing::debug_span!(
            "settle",
            services = owed.services.len(),
            repos = owed.repos.len(),
            appended = owed.appended.len()
        );
        let _entered = span.enter();
        let tx = pending::begin(&mut self.conn);
        drop(debt);
        let result = tx.and_then(|tx| pending::pay_in(tx, self.refresh.as_mut(), &owed));
        self.last_settle = started.elapsed();
        self.stats
            .settle_micros_total
            .fetch_add(self.last_settle.as_micros() as u64, Ordering::Relaxed);
        let mut debt = lock(shared);
        match &result {
            Ok(()) => {
                self.stats.settles.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .derivation_failing
                    .store(false, Ordering::Relaxed);
                self.stats.settled.store(commits, Ordering::Release);
                let (done, waiting) = std::mem::take(&mut debt.waiters)
                    .into_iter()
                    .partition(|w| w.commits <= commits);
                debt.waiters = waiting;
                for waiter in done {
                    let _ = waiter.reply.send(Ok(()));
                }
            }
            Err(error) => {
                tracing::error!(%error, "derived facts not recomputed; kept as owed");
                self.stats.settle_failures.fetch_add(1, Ordering::Relaxed);
                self.stats.derivation_failing.store(true, Ordering::Relaxed);
                debt.owe(owed);
                debt.failed = true;
                for waiter in debt.waiters.drain(..) {
                    let _ = waiter.reply.send(Err(WriteError::Storage(error.clone())));
                }
            }
        }
        (debt, result)
    }
}
