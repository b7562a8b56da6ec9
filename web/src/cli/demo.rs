//! `shiplog demo`: six months of generated history, ending today, in a fresh
//! database, served at once. The first thing a new user runs.

use std::path::PathBuf;

use shiplog_ingest::store::WriterOptions;
use shiplog_sample::Options;

use super::{CliError, DemoArgs};
use crate::app::{Application, Mode};
use crate::cli::import::import_into;
use crate::cli::serve::shutdown_signal;
use crate::config::Config;
use crate::store::open;

pub async fn demo(mut config: Config, args: DemoArgs) -> Result<(), CliError> {
    // A fresh database: a new temporary file unless --db names one, never the
    // default ./shiplog.duckdb, so the demo cannot mix into real data.
    let temp = tempfile::tempdir()
        .map_err(|e| CliError::Failed(format!("cannot create a temporary directory: {e}")))?;
    let path = match args.db {
        Some(path) if path.exists() => {
            return Err(CliError::Usage(format!(
                "{} already exists; the demo writes a fresh database: remove it or name another file",
                path.display()
            )));
        }
        Some(path) => path,
        None => temp.path().join("shiplog-demo.duckdb"),
    };
    config.db = path.clone();
    config.addr = args
        .addr
        .unwrap_or_else(|| crate::config::DEFAULT_ADDR.to_owned());

    let today = chrono::Utc::now().date_naive();
    let events = shiplog_sample::generate(&Options {
        seed: args.seed,
        end: today,
        ..Options::default()
    });
    let file: PathBuf = temp.path().join("demo-events.ndjson");
    std::fs::write(&file, shiplog_sample::to_ndjson(&events))
        .map_err(|e| CliError::Failed(e.to_string()))?;
    eprintln!(
        "Generating {} events of sample history ending {today} into {}",
        events.len(),
        path.display()
    );

    let settings = config.settings.clone();
    let options = WriterOptions {
        queue_events: config.writer_queue_events.max(5_000),
        ..WriterOptions::default()
    };
    let open_path = path.clone();
    let db = tokio::task::spawn_blocking(move || open(&open_path, &settings, options))
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?
        .map_err(CliError::Open)?;
    let summary = import_into(&db, &[file.display().to_string()], true).await?;
    eprintln!("{summary}");

    let app = Application::with_database(db, config, Mode::Demo)
        .await
        .map_err(|e| {
            CliError::Failed(format!("{e} (pass --addr 127.0.0.1:0 for any free port)"))
        })?;
    println!("Shiplog demo: http://{}/", app.local_addr());
    eprintln!(
        "Database: {} (deleted on exit unless --db was given). Ctrl-C stops.",
        path.display()
    );
    app.run_until_stopped(shutdown_signal())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    drop(temp);
    Ok(())
}
