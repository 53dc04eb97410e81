//! `adhouse-gen`: realistic sample ad-server logs and a manifest of their exact totals.

use std::process::ExitCode;

use adhouse_core::settings::{LogOutput, LogSettings};
use adhouse_tools::samples::{self, GenArgs};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(version, about = "Write realistic sample ad-server logs for the example sources, with a manifest of their exact totals")]
struct Cli {
    #[command(flatten)]
    args: GenArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    adhouse_core::telemetry::init(&LogSettings { format: LogOutput::Text, level: "info".to_owned() });
    match samples::run(Cli::parse().args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
