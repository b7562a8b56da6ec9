//! A database file another process holds is told apart from one that cannot be opened
//! for any other reason by asking the OS for the lock, not by reading DuckDB's message:
//! a path or an error with "block" or "clock" in it is no lock.
//!
//! The other process is this test binary again, started to run only
//! [`hold_the_database_when_asked`], which holds the file until its stdin closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use shiplog_ingest::store::{Store, StoreError};

/// Set in the child process: the database file to hold.
const HOLD: &str = "SHIPLOG_TEST_HOLD_DB";
/// Set in the child process: `read` to hold it read-only (a read lock), else a writer.
const HOLD_MODE: &str = "SHIPLOG_TEST_HOLD_MODE";
/// What the child prints once it holds the file.
const HOLDING: &str = "shiplog-test: holding the database";

/// The child's part, and nothing when run as a test of its own (no `HOLD`): opens the
/// file as `HOLD_MODE` says, says so, and keeps it open until stdin closes.
#[test]
fn hold_the_database_when_asked() {
    let Some(path) = std::env::var_os(HOLD) else {
        return;
    };
    let read_only = std::env::var(HOLD_MODE).as_deref() == Ok("read");
    let held: Box<dyn std::any::Any> = if read_only {
        let config = duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap();
        Box::new(duckdb::Connection::open_with_flags(&path, config).unwrap())
    } else {
        Box::new(Store::open(Path::new(&path)).unwrap())
    };
    println!("{HOLDING}");
    std::io::stdout().flush().unwrap();
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest).unwrap();
    drop(held);
}

/// Another process holding `path` (`mode`: `read` or `write`), once it says it does.
struct Holder {
    child: Child,
    /// Kept open, and read to its end on release: the child's test harness still
    /// writes its summary there.
    stdout: BufReader<ChildStdout>,
}

impl Holder {
    fn start(path: &Path, mode: &str) -> Holder {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "hold_the_database_when_asked",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HOLD, path)
            .env(HOLD_MODE, mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // libtest may print the test's name on the same line first.
        let holding = stdout
            .by_ref()
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains(HOLDING));
        assert!(
            holding,
            "the holder exited before it held {}",
            path.display()
        );
        Holder { child, stdout }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes the holder's stdin, so it lets go of the file, and waits for it.
    fn release(mut self) {
        drop(self.child.stdin.take());
        std::io::copy(&mut self.stdout, &mut std::io::sink()).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the holder failed: {status}");
    }
}

#[test]
fn a_file_another_process_writes_is_reported_as_locked_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shiplog.duckdb");
    let holder = Holder::start(&path, "write");
    let err = Store::open(&path).unwrap_err();
    let StoreError::Locked {
        path: named,
        detail,
    } = &err
    else {
        panic!("not reported as locked: {err}");
    };
    assert_eq!(named, &path);
    assert_eq!(
        detail,
        &format!("process {} holds a write lock on it", holder.pid())
    );
    assert!(
        err.to_string().contains("is in use by another process"),
        "{err}"
    );
    holder.release();
    Store::open(&path).expect("the file opens once the other process lets go");
}

#[test]
fn a_file_another_process_only_reads_is_locked_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shiplog.duckdb");
    drop(Store::open(&path).unwrap());
    let holder = Holder::start(&path, "read");
    let err = Store::open(&path).unwrap_err();
    let StoreError::Locked { detail, .. } = &err else {
        panic!("not reported as locked: {err}");
    };
    assert_eq!(
        detail,
        &format!("process {} holds a read lock on it", holder.pid())
    );
    holder.release();
}

/// A failure to open whose message says "lock" without any lock held.
fn assert_open_failure_not_locked(path: &Path) {
    let err = Store::open(path).unwrap_err();
    let StoreError::Open { source, .. } = &err else {
        panic!("reported as something other than a failed open: {err}");
    };
    // What made the old test of DuckDB's text read this as a lock.
    assert!(source.to_string().contains("lock"), "{source}");
}

#[test]
fn a_path_with_clock_in_it_that_cannot_be_opened_is_not_locked() {
    let dir = tempfile::tempdir().unwrap();
    assert_open_failure_not_locked(&dir.path().join("clock/missing/shiplog.duckdb"));
}

#[test]
fn a_file_named_block_that_is_no_database_is_not_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("block.duckdb");
    std::fs::write(
        &path,
        "not a DuckDB database, but long enough to be read as one",
    )
    .unwrap();
    assert_open_failure_not_locked(&path);
}
