//! `shiplog replay [--source S] [--since DATE]`: maps stored deliveries again after a
//! mapping fix or a config change (see [`crate::replay`]).

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::replay::{count, filter, replay};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[arg(long, value_name = "PATH")]
    pub db: Option<std::path::PathBuf>,
    /// Only deliveries of this source (github, gitlab, argocd, argo-rollouts, pagerduty,
    /// cdevents, opsgenie, jira, circleci, buildkite, api, import); default: all.
    #[arg(long)]
    pub source: Option<String>,
    /// Only deliveries received on or after this day (YYYY-MM-DD) or instant.
    #[arg(long)]
    pub since: Option<String>,
}

pub async fn run(mut config: Config, args: ReplayArgs) -> Result<(), CliError> {
    if let Some(db) = args.db {
        config.db = db;
    }
    let filter = filter(args.source.as_deref(), args.since.as_deref()).map_err(CliError::Usage)?;
    let db = super::open_db(
        &config,
        0,
        "POST /api/v1/admin/replay?source=…&since=… with SHIPLOG_ADMIN_TOKEN",
    )
    .await?;
    let total = count(&db, &filter)
        .await
        .map_err(|e| CliError::Failed(e.to_string()));
    let bar = super::progress::items(total.as_ref().ok().copied(), "deliveries");
    bar.set_message("replaying");
    let result = match total {
        Ok(_) => replay(&db, &config.routing, &filter, &|done| {
            bar.set_position(done)
        })
        .await
        .map_err(|e| CliError::Failed(e.to_string())),
        Err(e) => Err(e),
    };
    bar.finish_and_clear();
    super::close_db(&db).await?;
    let summary = result?;
    for failure in &summary.failures {
        eprintln!("not mappable: {failure}");
    }
    eprintln!("{summary}");
    if summary.failed > 0 {
        return Err(CliError::Failed(format!(
            "{} deliveries could not be mapped (they stay in the raw log; fix the config and replay again)",
            summary.failed
        )));
    }
    Ok(())
}
