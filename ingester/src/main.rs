//! `adhouse-ingester`: loads ad-server logs from S3 into ClickHouse and owns
//! the schema migrations.

use std::path::PathBuf;
use std::process::ExitCode;

use adhouse_core::Settings;
use adhouse_core::schema::{MigrationState, Migrator};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// TOML file overriding config/default.toml (default: config/local.toml if present).
    /// Any key can also be set as ADHOUSE__SECTION__KEY, e.g. ADHOUSE__CLICKHOUSE__URL.
    #[arg(long, global = true, env = "ADHOUSE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or upgrade the ClickHouse schema (database, tables, rollups, views).
    ///
    /// Safe to run at every deployment: applied migrations are skipped.
    Migrate {
        /// Only list applied and pending migrations; change nothing.
        #[arg(long)]
        status: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    adhouse_core::telemetry::init(&settings.log);
    match run(cli.command, &settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: &Settings) -> anyhow::Result<()> {
    match command {
        Command::Migrate { status: true } => {
            let database = &settings.clickhouse.database;
            for (id, state) in Migrator::new(settings).status().await? {
                let state = match state {
                    MigrationState::Pending => "pending".to_owned(),
                    MigrationState::Applied { applied_at } => format!("applied {applied_at}"),
                    MigrationState::Drifted { applied_at } => {
                        format!("applied {applied_at}, but differs from the current schema files or settings")
                    }
                };
                println!("{database}  {id:<24} {state}");
            }
        }
        Command::Migrate { status: false } => {
            let applied = Migrator::new(settings).apply().await?;
            if applied.is_empty() {
                println!("schema of {} is up to date", settings.clickhouse.database);
            }
            for id in applied {
                println!("applied {id}");
            }
        }
    }
    Ok(())
}
