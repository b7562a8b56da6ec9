//! `shiplog import FILE…`: NDJSON typed events through the same writer as the API.
//! Bad lines are reported with file and line number and skipped; good lines are
//! stored; a summary closes the run.

use std::fmt;
use std::io::{BufRead, BufReader, Read};

use shiplog_ingest::sources::generic::parse_event_text;
use shiplog_ingest::store::{Delivery, Outcome, Submission, WriteError};
use shiplog_ingest::typed_delivery;

use super::CliError;
use crate::config::Config;
use crate::store::Database;

/// Events sent to the writer per transaction.
const CHUNK: usize = 5_000;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub files: usize,
    pub read: usize,
    pub accepted: usize,
    pub duplicates: usize,
    pub bad: usize,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imported {} file(s): {} event(s) read, {} stored, {} already stored, {} bad line(s) skipped",
            self.files, self.read, self.accepted, self.duplicates, self.bad
        )
    }
}

/// Opens `config.db` and imports `files` (`-` is standard input).
pub async fn import_files(config: &Config, files: &[String]) -> Result<ImportSummary, CliError> {
    let db = super::open_db(config, CHUNK, "POST /api/v1/events with the file as NDJSON").await?;
    let result = import_into(&db, files, true).await;
    super::close_db(&db).await?;
    result
}

/// Imports `files` into an open database (also used by `demo`).
pub async fn import_into(
    db: &Database,
    files: &[String],
    show_progress: bool,
) -> Result<ImportSummary, CliError> {
    let total: u64 = files
        .iter()
        .filter(|f| *f != "-")
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = super::progress::bytes(total, show_progress);
    let mut summary = ImportSummary {
        files: files.len(),
        ..ImportSummary::default()
    };
    let mut in_flight = InFlight::default();
    let mut read = Ok(());
    for file in files {
        read = import_file(db, file, &bar, &mut summary, &mut in_flight).await;
        if read.is_err() {
            break;
        }
    }
    // The chunk handed over last is stored, or its failure known, before the run ends
    // on any error: an unreadable file stops the import with what came before it kept.
    let stored = in_flight.finish(&mut summary).await;
    bar.finish_and_clear();
    stored.and(read)?;
    Ok(summary)
}

/// Reads one file, handing its good lines to the writer chunk by chunk.
async fn import_file(
    db: &Database,
    file: &str,
    bar: &indicatif::ProgressBar,
    summary: &mut ImportSummary,
    in_flight: &mut InFlight,
) -> Result<(), CliError> {
    bar.set_message(file.to_owned());
    let reader: Box<dyn Read> = if file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(file)
                .map_err(|e| CliError::Failed(format!("cannot open {file}: {e}")))?,
        )
    };
    let mut chunk: Vec<Delivery> = Vec::with_capacity(CHUNK);
    let received_at = chrono::Utc::now();
    for (index, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|e| {
            CliError::Failed(format!("cannot read {file} at line {}: {e}", index + 1))
        })?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        summary.read += 1;
        match parse_event_text(index + 1, line.trim()) {
            Ok(parsed) => chunk.push(typed_delivery("import", parsed, received_at)),
            Err(bad) => {
                summary.bad += 1;
                bar.suspend(|| eprintln!("{file}:{}: {}", bad.line, bad.error));
            }
        }
        if chunk.len() >= CHUNK {
            submit(db, std::mem::take(&mut chunk), summary, in_flight).await?;
        }
    }
    submit(db, chunk, summary, in_flight).await
}

/// The chunk the writer is storing while the next one is parsed, so the two run on
/// both cores instead of in turn (docs/performance.md: measured together with the
/// checkpoint threshold, not apart).
#[derive(Default)]
struct InFlight(Option<tokio::task::JoinHandle<Result<Outcome, WriteError>>>);

impl InFlight {
    /// Waits for the chunk being stored and counts it.
    async fn finish(&mut self, summary: &mut ImportSummary) -> Result<(), CliError> {
        let Some(handle) = self.0.take() else {
            return Ok(());
        };
        let outcome = handle
            .await
            .map_err(|e| CliError::Failed(e.to_string()))?
            .map_err(|e| {
                CliError::Failed(format!("import stopped, earlier chunks are stored: {e}"))
            })?;
        summary.accepted += outcome.accepted;
        summary.duplicates += outcome.duplicates;
        Ok(())
    }
}

/// Hands `deliveries` to the writer once the chunk before them is stored, so at most
/// two chunks are held at a time and chunks are stored in file order.
async fn submit(
    db: &Database,
    deliveries: Vec<Delivery>,
    summary: &mut ImportSummary,
    in_flight: &mut InFlight,
) -> Result<(), CliError> {
    in_flight.finish(summary).await?;
    if deliveries.is_empty() {
        return Ok(());
    }
    let writer = db.writer.clone();
    in_flight.0 = Some(tokio::spawn(async move {
        writer.submit(Submission { deliveries }).await
    }));
    Ok(())
}
