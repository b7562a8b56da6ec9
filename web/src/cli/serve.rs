//! `shiplog serve`.

use crate::app::{Application, Mode};
use crate::cli::CliError;
use crate::config::Config;

pub async fn serve(config: Config) -> Result<(), CliError> {
    let db = config.db.clone();
    let app = Application::build(config, Mode::Serve)
        .await
        .map_err(|e| match e {
            crate::app::StartError::Open(open) if open.is_locked() => CliError::Usage(format!(
                "{} is held by another process, most likely a running `shiplog serve`: stop it or pass another --db",
                db.display()
            )),
            crate::app::StartError::Open(open) => CliError::Open(open),
            other => CliError::Failed(other.to_string()),
        })?;
    tracing::info!(addr = %app.local_addr(), db = %db.display(), "serving");
    eprintln!(
        "Shiplog is serving {} on http://{}/",
        db.display(),
        app.local_addr()
    );
    app.run_until_stopped(shutdown_signal())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))
}

/// Ctrl-C or SIGTERM (what a container runtime sends).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!(
        "shutting down: draining connections (at most shutdown_grace_seconds), then finishing queued writes"
    );
}
