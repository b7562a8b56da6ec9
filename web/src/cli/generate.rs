//! `shiplog generate --services N --days D`: organisation-scale sample history as
//! NDJSON typed events, for benchmarks and load tests (`shiplog import` reads it).
//! Seeded like the demo; the history ends on `--end`, by default today (UTC).

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use clap::Args;
use shiplog_sample::{ScaleOptions, ScaleSummary, generate_scale_with_progress};

use super::CliError;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of services, ten to a team.
    #[arg(long)]
    pub services: u32,
    /// Length of the history in days, the end day included.
    #[arg(long)]
    pub days: u32,
    /// Seed of the generated history.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last day of the history, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub end: Option<NaiveDate>,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub async fn run(args: GenerateArgs) -> Result<(), CliError> {
    let options = ScaleOptions {
        seed: args.seed,
        services: args.services,
        days: args.days,
        end: args.end.unwrap_or_else(|| chrono::Utc::now().date_naive()),
    };
    // Minutes of CPU work: off the async runtime's threads.
    let out = args.out.clone();
    let started = Instant::now();
    let summary = tokio::task::spawn_blocking(move || write(&options, out))
        .await
        .map_err(|e| CliError::Failed(e.to_string()))??;
    let Some(summary) = summary else {
        // The reader closed the pipe (`shiplog generate … | head`): nothing to report.
        return Ok(());
    };
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("{summary}");
    eprintln!(
        "{} services × {} days in {seconds:.1} s ({:.0} events/s)",
        args.services,
        args.days.max(1),
        summary.events() as f64 / seconds.max(1e-9)
    );
    Ok(())
}

/// Generates into `out` (standard output when `None`), with a progress bar over the
/// days when writing to a file. `None` when standard output was closed early.
fn write(options: &ScaleOptions, out: Option<PathBuf>) -> Result<Option<ScaleSummary>, CliError> {
    let Some(path) = out else {
        let mut stdout = io::stdout().lock();
        return match generate_scale_with_progress(options, &mut stdout, |_, _| {}) {
            Ok(summary) => Ok(Some(summary)),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(None),
            Err(e) => Err(CliError::Failed(format!(
                "cannot write standard output: {e}"
            ))),
        };
    };
    let failed = |e: io::Error| CliError::Failed(format!("cannot write {}: {e}", path.display()));
    let mut file = File::create(&path).map_err(failed)?;
    let bar = super::progress::items(Some(u64::from(options.days.max(1))), "days");
    let result = generate_scale_with_progress(options, &mut file, |days, so_far| {
        bar.set_position(u64::from(days));
        bar.set_message(format!("{} events", so_far.events()));
    });
    bar.finish_and_clear();
    result.map(Some).map_err(failed)
}
