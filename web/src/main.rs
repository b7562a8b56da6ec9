//! The `shiplog` binary: parses the command line and runs it. See `shiplog --help`.

use clap::Parser;
use shiplog_web::cli::{Cli, Command, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    // The server logs its requests and batches; one-shot commands only warnings.
    let default = if matches!(cli.command, Command::Serve(_) | Command::Demo(_)) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(error) = run(cli).await {
        eprintln!("error: {error}");
        std::process::exit(error.exit_code());
    }
}
