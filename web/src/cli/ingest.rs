//! `shiplog ingest`: a stateless replica that takes deliveries and publishes them to
//! NATS JetStream for `shiplog serve` to store (`docs/scaling.md`).

use clap::Args;

use crate::cli::CliError;
use crate::cli::serve::shutdown_signal;
use crate::config::Config;
use crate::jetstream::config::{FileNats, NatsConfig};
use crate::jetstream::replica::{Replica, ReplicaError};

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Listen address [env: SHIPLOG_ADDR] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// NATS server URL(s), comma-separated [env: SHIPLOG_NATS_URL; file: [nats] url]
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
}

pub async fn run(mut config: Config, args: IngestArgs) -> Result<(), CliError> {
    if let Some(addr) = args.addr {
        config.addr = addr;
    }
    if let Some(url) = args.nats {
        let defaults =
            || NatsConfig::from_file(FileNats::default()).expect("the defaults are valid");
        let mut nats = config.nats.take().unwrap_or_else(defaults);
        nats.url = url.trim().to_owned();
        config.nats = Some(nats);
    }
    let replica = Replica::build(config).await.map_err(|e| match e {
        ReplicaError::NoNats => CliError::Usage(e.to_string()),
        other => CliError::Failed(other.to_string()),
    })?;
    let nats = replica.state().nats().clone();
    tracing::info!(addr = %replica.local_addr(), nats = %nats.url, stream = %nats.stream, "serving ingest");
    eprintln!(
        "Shiplog is serving ingest into JetStream stream {} at {} on http://{}/",
        nats.stream,
        nats.url,
        replica.local_addr()
    );
    replica
        .run_until_stopped(shutdown_signal())
        .await
        .map_err(|e| CliError::Failed(e.to_string()))
}
