//! `adhouse-api`: the query API and dashboard server (to come; see the issues).

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// TOML file overriding config/default.toml (default: config/local.toml if present).
    #[arg(long, env = "ADHOUSE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = adhouse_core::Settings::load(cli.config.as_deref())?;
    adhouse_core::telemetry::init(&settings.log);
    tracing::info!(clickhouse = %settings.clickhouse.url, "adhouse-api has no endpoints yet");
    Ok(())
}
