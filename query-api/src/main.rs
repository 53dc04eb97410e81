//! `adhouse-api`: the query API and dashboard server.

use std::path::PathBuf;
use std::process::ExitCode;

use actix_web::{HttpServer, web};
use adhouse_api::{AppState, auth, query::time::Zone};
use adhouse_core::Settings;
use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// TOML file overriding config/default.toml (default: config/local.toml if present).
    /// Any key can also be set as ADHOUSE__SECTION__KEY, e.g. ADHOUSE__API__LISTEN_ADDR.
    #[arg(long, global = true, env = "ADHOUSE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Address of the Prometheus `/metrics` listener, apart from the public
    /// port; empty serves no metrics.
    #[arg(long, global = true, env = "ADHOUSE_API_METRICS_ADDR", default_value = "127.0.0.1:9465", value_name = "ADDR")]
    metrics_addr: String,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the query API and the dashboard (the default).
    Serve,
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token for a tenant and print it; it is shown only this once.
    Create {
        /// Tenant whose data the token may read.
        #[arg(long)]
        tenant: String,
        /// IANA timezone of requests that name none.
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(settings) = adhouse_core::telemetry::start(cli.config.as_deref(), adhouse_core::settings::Service::Api) else {
        return ExitCode::from(2);
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&settings, &cli.metrics_addr).await,
        Command::Token(TokenCommand::Create { tenant, timezone }) => create_token(&settings, &tenant, &timezone).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: &Settings, metrics_addr: &str) -> anyhow::Result<()> {
    let state = web::Data::new(AppState::new(settings));
    let addr = &settings.api.listen_addr;
    let metrics = state.metrics.clone();
    let api = HttpServer::new(move || adhouse_api::app(state.clone()))
        .bind(addr)
        .with_context(|| format!("binding api.listen_addr {addr}"))?
        .run();
    tracing::info!(%addr, metrics_addr, clickhouse = %settings.clickhouse.url, static_dir = %settings.api.static_dir.display(), "adhouse-api listening");
    if metrics_addr.is_empty() {
        api.await?;
    } else {
        let metrics = HttpServer::new(move || adhouse_api::metrics_app(metrics.clone()))
            .workers(1)
            .bind(metrics_addr)
            .with_context(|| format!("binding --metrics-addr {metrics_addr}"))?
            .run();
        tokio::try_join!(api, metrics)?;
    }
    Ok(())
}

async fn create_token(settings: &Settings, tenant: &str, timezone: &str) -> anyhow::Result<()> {
    anyhow::ensure!(!tenant.is_empty() && tenant.len() <= 128, "--tenant must be 1 to 128 characters");
    let zone = Zone::parse("--timezone", timezone)?;
    let client = adhouse_core::clickhouse::client(&settings.clickhouse);
    let token = auth::create(&client, tenant, &zone).await.context("storing the token (did `adhouse-ingester migrate` run?)")?;
    println!("{token}");
    eprintln!("token for tenant {tenant:?} (default timezone {}); it is not stored and will not be shown again", zone.name);
    Ok(())
}
