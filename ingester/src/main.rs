//! `adhouse-ingester`: loads ad-server logs from S3 into ClickHouse and owns
//! the schema migrations.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use adhouse_core::Settings;
use adhouse_core::schema::{MigrationState, Migrator};
use adhouse_ingester::ingest::{Ingestor, Outcome, TimeLimits};
use adhouse_ingester::preview::preview;
use adhouse_ingester::mapping::Source;
use adhouse_ingester::metrics::Metrics;
use adhouse_core::settings::IngestSettings;
use adhouse_ingester::consumer::{Consumer, ConsumerSettings};
use adhouse_ingester::objects::{Handled, ObjectHandler};
use adhouse_ingester::s3_event;
use adhouse_ingester::queue::{MemoryQueue, SqsQueue};
use adhouse_connectors::PlatformId;
use adhouse_ingester::store::S3Store;
use adhouse_ingester::feeds::{self, Poller};
use adhouse_ingester::sync::{SyncHandler, Syncer, schedule};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

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
    /// Consume S3 notifications from the SQS queue (ingest.queue_url),
    /// platform sync jobs from platforms.sync_queue_url when set, and poll
    /// every partner feed (partners.feeds), until SIGTERM.
    Run,
    /// Sync one linked ad-platform account now, in this process.
    ///
    /// Fetches the account's backfill range up to today: days not yet
    /// synced, and the last --refetch-days days again.
    Sync {
        #[arg(long)]
        tenant: String,
        /// The platform's name: meta, google, yahoo, …
        #[arg(long)]
        platform: String,
        /// The platform's account id (Meta without act_, Google digits only).
        #[arg(long)]
        account: String,
        /// Recent days fetched again whatever their checkpoints say
        /// [default: the platform's platforms.<platform>.restate_days].
        #[arg(long)]
        refetch_days: Option<u32>,
    },
    /// Poll one partner feed (partners.feeds) now, in this process: once
    /// with --once, else every interval until SIGTERM.
    Poll {
        /// The feed's name.
        #[arg(value_name = "FEED")]
        feed: String,
        #[arg(long)]
        once: bool,
    },
    /// Enqueue the daily sync of every active linked account on
    /// platforms.sync_queue_url (run it once a day, e.g. as a CronJob).
    Schedule,
    /// Ingest the existing objects under an S3 prefix, without SQS.
    ///
    /// Objects already done are skipped, so a replay can be repeated safely.
    Replay {
        /// s3://bucket/prefix
        #[arg(value_name = "S3_URL")]
        location: String,
        /// Write nothing: print the first rows of one object (the key, or the
        /// first object under the prefix that a source claims) as they would
        /// be stored, and how many rows would be stored, expired or rejected.
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: how many rows to print.
        #[arg(long, default_value_t = 10, requires = "dry_run")]
        rows: usize,
    },
    /// Validate the configuration, the log sources and the partner feeds, then print them.
    CheckConfig,
    /// Create or upgrade the ClickHouse schema (database, tables, rollups, views).
    ///
    /// Safe to run at every deployment: applied migrations are skipped.
    Migrate {
        /// Only list applied and pending migrations; change nothing.
        #[arg(long, conflicts_with = "print_grants")]
        status: bool,
        /// Print, without connecting, the SQL an administrator runs on a real
        /// ClickHouse server for read-only analysts (role adhouse_analyst,
        /// settings profile, row policies for --analyst users).
        #[arg(long)]
        print_grants: bool,
        /// With --print-grants: grant the role to USER and restrict them to
        /// these tenants by row policies (repeatable).
        #[arg(long, value_name = "USER=TENANT[,TENANT...]", requires = "print_grants")]
        analyst: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(settings) = adhouse_core::telemetry::start(cli.config.as_deref(), adhouse_core::settings::Service::Ingester) else {
        return ExitCode::from(2);
    };
    match run(cli.command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Migrate { print_grants: true, analyst, .. } => {
            let analysts = adhouse_core::schema::parse_analysts(&analyst)?;
            for statement in adhouse_core::schema::analyst_access(&settings.clickhouse.database, &settings.schema, &analysts)? {
                println!("{statement};");
            }
            Ok(())
        }
        Command::Migrate { status: true, .. } => print_migrations(&settings).await,
        Command::Migrate { status: false, .. } => {
            let applied = Migrator::new(&settings).apply().await?;
            if applied.is_empty() {
                println!("schema of {} is up to date", settings.clickhouse.database);
            }
            for id in applied {
                println!("applied {id}");
            }
            Ok(())
        }
        Command::CheckConfig => {
            let sources = compile_sources(&settings)?;
            println!("configuration is valid; {} log source(s):", sources.len());
            for source in sources.iter() {
                println!("  {:<16} s3://{}/{}  ({:?})", source.name, source.bucket, source.pattern_text, source.format);
            }
            let platforms: Vec<&str> = settings.platforms.apps().into_iter().filter(|app| app.enabled).map(|app| app.name).collect();
            adhouse_connectors::settings::check(&settings.platforms).context("configuration")?;
            match platforms.as_slice() {
                [] => println!("account sync off (no platform enabled)"),
                enabled => println!("account sync on: {}", enabled.join(", ")),
            }
            let feeds = feeds::feeds(&settings).context("configuration")?;
            println!("{} partner feed(s):", feeds.len());
            for feed in &feeds {
                let s = &feed.settings;
                println!(
                    "  {:<16} {} every {} s, re-reading {} h (after an outage up to {} h), per {}  (tenant {})",
                    s.name, s.url, s.interval_secs, s.reread_hours, s.catch_up_hours(), s.grain.as_str(), s.tenant
                );
            }
            Ok(())
        }
        Command::Run => run_queue(settings).await,
        Command::Sync { tenant, platform, account, refetch_days } => {
            sync_one(&settings, &tenant, &platform, &account, refetch_days).await
        }
        Command::Poll { feed, once } => poll_feed(&settings, &feed, once).await,
        Command::Schedule => schedule(&settings).await,
        Command::Replay { location, dry_run: false, .. } => replay(settings, &location).await,
        Command::Replay { location, dry_run: true, rows } => {
            let sources = compile_sources(&settings)?;
            let store = S3Store::from_env().await;
            let client = adhouse_core::clickhouse::client(&settings.clickhouse);
            let limits = TimeLimits::from_settings(&settings).within_table_ttl(&client, &settings.schema).await;
            let limits = limits.context("reading the TTL of events from ClickHouse")?;
            let chunk_lines = settings.ingest.chunk_lines as usize;
            let now = time::OffsetDateTime::now_utc();
            print!("{}", preview(&store, &sources, limits, chunk_lines, &location, rows, now).await?);
            Ok(())
        }
    }
}

async fn print_migrations(settings: &Settings) -> anyhow::Result<()> {
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
    Ok(())
}

fn compile_sources(settings: &Settings) -> anyhow::Result<Arc<Vec<Source>>> {
    let sources = settings.ingest.sources.iter().map(Source::compile).collect::<Result<Vec<_>, _>>();
    let sources = sources.map_err(|err| anyhow::anyhow!("configuration: {err}"))?;
    if sources.is_empty() {
        bail!("configuration: no log sources; declare [[ingest.sources]] or set ingest.sources_dir (see ingester/examples/)");
    }
    for (i, source) in sources.iter().enumerate() {
        if sources[..i].iter().any(|other| other.name == source.name) {
            bail!("configuration: two log sources are named {:?}", source.name);
        }
    }
    Ok(Arc::new(sources))
}

/// A process-unique worker id for the ledger: host, pid and start time.
fn worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map_or_else(|| "unknown".to_owned(), |h| h.trim().to_owned());
    let started = time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000;
    format!("{host}-{}-{started:09}", std::process::id())
}

async fn ingestor(settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Arc<Ingestor>> {
    let sources = compile_sources(settings)?;
    let store = S3Store::from_env().await;
    let client = adhouse_core::clickhouse::client(&settings.clickhouse);
    Ok(Arc::new(Ingestor::new(client, store, sources, metrics, worker_id(), settings)))
}

fn consumer_settings(ingest: &IngestSettings) -> ConsumerSettings {
    ConsumerSettings { workers: ingest.workers, heartbeat: Duration::from_secs(u64::from(ingest.heartbeat_secs)) }
}

fn object_handler(ingest: &IngestSettings, ingestor: Arc<Ingestor>) -> ObjectHandler {
    let retry_for = Duration::from_secs(u64::from(ingest.retry_for_secs));
    ObjectHandler::new(ingestor, retry_for, Duration::from_secs(u64::from(ingest.visibility_timeout_secs)))
}

async fn run_queue(settings: Settings) -> anyhow::Result<()> {
    let ingest = &settings.ingest;
    if ingest.queue_url.is_empty() {
        bail!("configuration: ingest.queue_url is empty; set it (or ADHOUSE__INGEST__QUEUE_URL) to the SQS queue of the log bucket's notifications");
    }
    let metrics = Arc::new(Metrics::new());
    let client = adhouse_core::clickhouse::client(&settings.clickhouse);
    let server = adhouse_ingester::http::serve(&ingest.metrics_addr, metrics.clone(), client.clone())
        .with_context(|| format!("cannot listen on ingest.metrics_addr {}", ingest.metrics_addr))?;
    tokio::spawn(server);
    let ingestor = ingestor(&settings, metrics.clone()).await?;
    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_from_env().await);
    let queue = SqsQueue::new(sqs.clone(), ingest.queue_url.clone(), ingest.poll_wait_secs, ingest.visibility_timeout_secs);
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    tracing::info!(queue = %ingest.queue_url, workers = ingest.workers, metrics = %ingest.metrics_addr, "ingesting");
    let handler = Arc::new(object_handler(ingest, ingestor));
    let logs = Consumer::new(Arc::new(queue), handler, metrics.clone(), consumer_settings(ingest)).run(shutdown.clone());
    let jobs = async {
        let Some(handler) = sync_handler(&settings, metrics.clone())? else { return anyhow::Ok(()) };
        let queue = SqsQueue::new(sqs.clone(), settings.platforms.sync_queue_url.clone(), ingest.poll_wait_secs, ingest.visibility_timeout_secs);
        tracing::info!(queue = %settings.platforms.sync_queue_url, "syncing ad-platform accounts");
        Consumer::new(Arc::new(queue), Arc::new(handler), metrics.clone(), consumer_settings(ingest)).run(shutdown.clone()).await?;
        Ok(())
    };
    let feeds = feeds::feeds(&settings).context("configuration")?;
    let poller = Arc::new(Poller::new(adhouse_connectors::partners::store::PartnerStore::new(client.clone()), metrics.clone()));
    let schedulers: Vec<_> = feeds
        .into_iter()
        .map(|feed| {
            tracing::info!(feed = %feed.name(), interval_secs = feed.settings.interval_secs, "polling partner feed");
            let (poller, stop) = (poller.clone(), shutdown.clone());
            tokio::spawn(async move { poller.run(&feed, stop).await })
        })
        .collect();
    let (logs, jobs) = tokio::join!(logs, jobs);
    for scheduler in schedulers {
        scheduler.await.context("a feed scheduler panicked")?;
    }
    logs?;
    jobs?;
    tracing::info!("stopped");
    Ok(())
}

/// The sync queue's handler, when a sync queue is set and a platform enabled.
fn sync_handler(settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Option<SyncHandler>> {
    if settings.platforms.sync_queue_url.is_empty() {
        return Ok(None);
    }
    let Some(syncer) = Syncer::from_settings(settings, metrics).context("configuration: platforms")? else {
        return Ok(None);
    };
    let ingest = &settings.ingest;
    let retry_for = Duration::from_secs(u64::from(ingest.retry_for_secs));
    Ok(Some(SyncHandler::new(Arc::new(syncer), retry_for, Duration::from_secs(u64::from(ingest.visibility_timeout_secs)))))
}

fn platform_arg(name: &str) -> anyhow::Result<PlatformId> {
    PlatformId::parse(name).with_context(|| {
        let names: Vec<&str> = PlatformId::ALL.iter().map(|id| id.as_str()).collect();
        format!("--platform {name:?}: expected one of {}", names.join(", "))
    })
}

async fn sync_one(settings: &Settings, tenant: &str, platform: &str, account: &str, refetch_days: Option<u32>) -> anyhow::Result<()> {
    let platform = platform_arg(platform)?;
    let syncer = Syncer::from_settings(settings, Arc::new(Metrics::new()))
        .context("configuration: platforms")?
        .context("configuration: no ad platform is enabled (platforms.<platform>.enabled)")?;
    let linked = syncer
        .store()
        .account(tenant, platform.as_str(), account)
        .await?
        .with_context(|| format!("{tenant} has no linked {platform} account {account}"))?;
    let today = linked.today(jiff::Timestamp::now());
    let restate = refetch_days.unwrap_or_else(|| schedule::restate_days(&settings.platforms, platform));
    let job = schedule::daily_job(&linked, platform, restate, today);
    let stop = CancellationToken::new();
    tokio::spawn(cancel_on_signal(stop.clone()));
    let outcome = syncer.run(&job, &stop).await?;
    println!("{tenant} {platform} {account} {}..{}: {outcome:?}", job.since, job.until);
    Ok(())
}

async fn poll_feed(settings: &Settings, name: &str, once: bool) -> anyhow::Result<()> {
    let feed = feeds::feeds(settings)
        .context("configuration")?
        .into_iter()
        .find(|feed| feed.name() == name)
        .with_context(|| format!("no partner feed is named {name:?} (partners.feeds, partners.feeds_dir)"))?;
    let poller = Poller::new(adhouse_connectors::partners::store::PartnerStore::new(adhouse_core::clickhouse::client(&settings.clickhouse)), Arc::new(Metrics::new()));
    if once {
        let report = poller.poll(&feed).await?;
        println!(
            "{name} {}..{}: {} rows stored, {} quarantined, {} request(s)",
            report.window.start, report.window.end, report.rows, report.quarantined, report.requests
        );
        return Ok(());
    }
    let stop = CancellationToken::new();
    tokio::spawn(cancel_on_signal(stop.clone()));
    poller.run(&feed, stop).await;
    Ok(())
}

async fn schedule(settings: &Settings) -> anyhow::Result<()> {
    let url = &settings.platforms.sync_queue_url;
    if url.is_empty() {
        bail!("configuration: platforms.sync_queue_url is empty; set it to the SQS queue of sync jobs");
    }
    let store = adhouse_connectors::store::Store::new(adhouse_core::clickhouse::client(&settings.clickhouse));
    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_from_env().await);
    let now = jiff::Timestamp::now();
    let mut enqueued = 0;
    for account in store.active_accounts().await? {
        let Some(platform) = account.platform_id() else { continue };
        let today = account.today(now);
        let job = schedule::daily_job(&account, platform, schedule::restate_days(&settings.platforms, platform), today);
        sqs.send_message().queue_url(url).message_body(job.to_body()).send().await.with_context(|| format!("SendMessage to {url}"))?;
        enqueued += 1;
    }
    println!("enqueued {enqueued} daily sync job(s) on {url}");
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutdown requested");
    shutdown.cancel();
}

/// `replay`: the objects under a prefix through the same consumer as `run`,
/// fed from a listing instead of SQS, with a progress bar and a summary.
async fn replay(settings: Settings, location: &str) -> anyhow::Result<()> {
    let (bucket, prefix) = location
        .strip_prefix("s3://")
        .map(|rest| rest.split_once('/').unwrap_or((rest, "")))
        .filter(|(bucket, _)| !bucket.is_empty())
        .with_context(|| format!("{location:?} is not an s3://bucket/prefix URL"))?;
    let metrics = Arc::new(Metrics::new());
    let ingestor = ingestor(&settings, metrics.clone()).await?;
    let objects = S3Store::from_env().await.list(bucket, prefix).await?;
    let total_bytes: u64 = objects.iter().map(|o| o.size).sum();
    let progress = indicatif::ProgressBar::new(total_bytes).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})").expect("valid template"),
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let (report, mut handled) = tokio::sync::mpsc::unbounded_channel();
    let queue = Arc::new(MemoryQueue::of_bodies(objects.iter().map(s3_event::object_created_event)));
    let handler = Arc::new(object_handler(&settings.ingest, ingestor).reporting_to(report));
    let consumer = Consumer::new(queue, handler, metrics, consumer_settings(&settings.ingest));
    let consuming = tokio::spawn(consumer.run(shutdown));
    let (mut rows_ok, mut rows_bad, mut rows_expired, mut failed) = (0, 0, 0, Vec::new());
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    while let Some(Handled { object, result }) = handled.recv().await {
        let label = result.as_ref().map_or("error", Outcome::label);
        *counts.entry(label).or_default() += 1;
        match result {
            Ok(Outcome::Done { rows_ok: ok, rows_bad: bad, rows_expired: expired }) => {
                rows_ok += ok;
                rows_bad += bad;
                rows_expired += expired;
            }
            Ok(Outcome::Failed(reason)) => failed.push(format!("s3://{}/{}: {reason}", object.bucket, object.key)),
            Err(err) => failed.push(err.to_string()),
            Ok(_) => {}
        }
        progress.inc(object.size);
        progress.set_message(format!("{rows_ok} rows"));
    }
    consuming.await.context("the consumer panicked")??;
    progress.finish_and_clear();
    let summary: Vec<String> = counts.iter().map(|(label, n)| format!("{n} {label}")).collect();
    println!(
        "replayed s3://{bucket}/{prefix}: objects {}; rows ok {rows_ok}, bad {rows_bad}, expired {rows_expired}",
        summary.join(", ")
    );
    for failure in &failed {
        println!("  failed {failure}");
    }
    if failed.is_empty() { Ok(()) } else { bail!("{} object(s) failed; see ingest_files and the log", failed.len()) }
}
