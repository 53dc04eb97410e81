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
    /// Validate the configuration (and the platforms' settings when a
    /// platform is enabled) without connecting anywhere, then exit.
    CheckConfig,
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
        /// Days until the token stops working (default: never).
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in_days: Option<u32>,
    },
    /// List tokens (never the tokens themselves): id, tenant, timezone,
    /// created, expires, last used, revoked.
    List {
        /// Only this tenant's tokens.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a token by the id `token list` shows, or every token of a tenant.
    Revoke {
        /// Id (the first hex digits of the token's SHA-256) from `token list`.
        #[arg(long, conflicts_with = "tenant", required_unless_present = "tenant", value_parser = parse_id)]
        id: Option<String>,
        /// Revoke every token of this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// At least 8 hex digits, so that an id names one token.
fn parse_id(text: &str) -> Result<String, String> {
    if text.len() >= 8 && text.len() <= 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err("an id is 8 to 64 hex digits, as `token list` shows it".to_owned())
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(settings) = adhouse_core::telemetry::start(cli.config.as_deref(), adhouse_core::settings::Service::Api) else {
        return ExitCode::from(2);
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&settings, &cli.metrics_addr).await,
        Command::CheckConfig => check_config(&settings),
        Command::Token(TokenCommand::Create { tenant, timezone, expires_in_days }) => {
            create_token(&settings, &tenant, &timezone, expires_in_days).await
        }
        Command::Token(TokenCommand::List { tenant }) => list_tokens(&settings, tenant.as_deref()).await,
        Command::Token(TokenCommand::Revoke { id, tenant }) => {
            let which = match (id, tenant) {
                (Some(id), _) => auth::Revoke::Id(id),
                (None, Some(tenant)) => auth::Revoke::Tenant(tenant),
                (None, None) => unreachable!("clap requires --id or --tenant"),
            };
            revoke_tokens(&settings, &which).await
        }
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
    let linking = adhouse_api::accounts::Linking::from_settings(settings).await?;
    match &linking {
        Some(linking) => tracing::info!(platforms = ?linking.enabled(), "ad account linking enabled"),
        None => tracing::info!("no ad platform enabled (platforms.<platform>.enabled): account linking is off"),
    }
    let state = AppState::new(settings).await.context("reading the tables' TTLs from ClickHouse (system.tables)")?;
    let state = web::Data::new(state.with_linking(linking));
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

fn check_config(settings: &Settings) -> anyhow::Result<()> {
    let vault = adhouse_api::accounts::linking::check(&settings.platforms)?;
    let linking = if vault.is_some() { "on" } else { "off (no platform enabled)" };
    println!("configuration is valid; listen {}, ClickHouse {}, account linking {linking}", settings.api.listen_addr, settings.clickhouse.url);
    Ok(())
}

async fn create_token(settings: &Settings, tenant: &str, timezone: &str, expires_in_days: Option<u32>) -> anyhow::Result<()> {
    anyhow::ensure!(!tenant.is_empty() && tenant.len() <= 128, "--tenant must be 1 to 128 characters");
    let zone = Zone::parse("--timezone", timezone)?;
    let client = adhouse_core::clickhouse::client(&settings.clickhouse);
    let expires_at = expires_in_days.map(|days| jiff::Timestamp::now().as_second() + i64::from(days) * 86_400);
    let token = auth::create_expiring(&client, tenant, &zone, expires_at)
        .await
        .context("storing the token (did `adhouse-ingester migrate` run?)")?;
    println!("{token}");
    let expiry = expires_at.map_or_else(|| "never expires".to_owned(), |at| format!("expires {}", zone.format(at)));
    eprintln!("token for tenant {tenant:?} (default timezone {}, {expiry}); it is not stored and will not be shown again", zone.name);
    Ok(())
}

async fn list_tokens(settings: &Settings, tenant: Option<&str>) -> anyhow::Result<()> {
    let client = adhouse_core::clickhouse::client(&settings.clickhouse);
    let tokens = auth::list(&client, tenant).await.context("listing tokens (did `adhouse-ingester migrate` run?)")?;
    println!("id\ttenant\ttimezone\tcreated_at\texpires_at\tlast_used_at\trevoked_at");
    for token in tokens {
        let auth::TokenInfo { id, tenant, timezone, created_at, expires_at, last_used_at, revoked_at } = token;
        let or_dash = |text: String| if text.is_empty() { "-".to_owned() } else { text };
        println!(
            "{id}\t{tenant}\t{timezone}\t{created_at}\t{}\t{}\t{}",
            or_dash(expires_at),
            or_dash(last_used_at),
            or_dash(revoked_at)
        );
    }
    Ok(())
}

async fn revoke_tokens(settings: &Settings, which: &auth::Revoke) -> anyhow::Result<()> {
    let client = adhouse_core::clickhouse::client(&settings.clickhouse);
    let revoked = match auth::revoke(&client, which).await.context("revoking")? {
        auth::Revoked::Now(ids) => ids,
        auth::Revoked::Ambiguous(ids) => anyhow::bail!("the id matches several tokens ({}); give more digits", ids.join(", ")),
    };
    anyhow::ensure!(!revoked.is_empty(), "no token that is not revoked yet matches {which:?}");
    for id in &revoked {
        println!("{id}");
    }
    eprintln!(
        "revoked {} token(s); running adhouse-api processes refuse them within api.token_cache_secs ({} s)",
        revoked.len(),
        settings.api.token_cache_secs
    );
    Ok(())
}
