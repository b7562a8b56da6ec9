//! `shiplog backfill github --repo org/name --since DATE`. Placeholder until it lands.

use clap::Subcommand;

use super::CliError;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum BackfillCommand {}

pub async fn run(_config: Config, command: BackfillCommand) -> Result<(), CliError> {
    match command {}
}
