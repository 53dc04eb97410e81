//! `bench-backfill`: a year of daily campaign numbers for many linked
//! accounts through the real sync path — the Meta connector (async report
//! runs, paging, the paced HTTP layer), `platform_daily` and the day
//! checkpoints — against the local Meta fake. The reference, measured in the
//! same run, reads the same rows straight from the fake's oracle (one request
//! per account, parsed but not stored), so the ratio says what the sync path
//! costs over moving the numbers. Also: platform calls per
//! account-year and the process's peak RSS. The stored rows are compared with
//! the oracle's count: a fast wrong answer is no result.
//!
//! The fake has two demo accounts; `--accounts` links them under as many
//! tenants as needed, so every account-year is fetched and stored anew.

use std::sync::Arc;
use std::time::{Duration, Instant};

use adhouse_connectors::fakes;
use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::meta::Meta;
use adhouse_connectors::store::{LinkedAccount, Store};
use adhouse_connectors::vault::Vault;
use adhouse_connectors::platform::Consent;
use adhouse_connectors::{DateRange, Level, Platform, PlatformId, SyncJob};
use adhouse_core::Settings;
use adhouse_core::schema::Migrator;
use adhouse_ingester::metrics::Metrics;
use adhouse_ingester::sync::{JobOutcome, Syncer};
use anyhow::{Context, bail, ensure};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(about = "Benchmark backfills of linked Meta accounts against the local fake (make dev-up; source .dev/env)")]
struct Args {
    /// Account backfills to run (the fake's two demo accounts under as many tenants as needed).
    #[arg(long, default_value_t = 50)]
    accounts: usize,
    /// Days of history per account.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Backfills running at once (as one ingester process with that many sync workers).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Database to create (dropped first if it exists).
    #[arg(long, default_value = "adhouse_bench_backfill")]
    database: String,
}

const REDIRECT: &str = "http://127.0.0.1:8080/oauth/callback/meta";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.accounts > 0 && args.days > 0 && args.concurrency > 0, "--accounts, --days and --concurrency must be positive");
    let mut settings = Settings::load(None)?;
    ensure!(settings.platforms.meta.enabled, "platforms.meta is not enabled: run `make dev-up` and `source .dev/env` first");
    settings.clickhouse.database = args.database.clone();
    let admin = adhouse_core::clickhouse::client(&settings.clickhouse).with_database("default");
    admin.query(&format!("DROP DATABASE IF EXISTS `{}`", args.database)).execute().await.context("ClickHouse reachable?")?;
    Migrator::new(&settings).apply().await?;
    let client = adhouse_core::clickhouse::client(&settings.clickhouse);
    let store = Store::new(client.clone());
    let vault = Arc::new(Vault::from_setting(settings.platforms.vault_keys.expose())?);
    let metrics = Arc::new(Metrics::new());
    let http = Http::new(Duration::from_secs(60), 5, Pacer::default()).with_observer(metrics.clone());
    let meta = Arc::new(Meta::new(&settings.platforms.meta, http));

    // One grant through the fake's consent page, as a user gives it.
    let authorize = meta.authorize(REDIRECT, "bench", "").await?;
    let code = fakes::code_of(&fakes::consent(&authorize.url, "demo", "allow").await);
    let credentials = meta.exchange_code(Consent { redirect_uri: REDIRECT, code: &code, code_verifier: "", temporary: None }).await?;
    let discovered = meta.discover(&credentials).await?;
    ensure!(!discovered.is_empty(), "the fake's demo user has no accounts");

    let mut linked = Vec::with_capacity(args.accounts);
    for i in 0..args.accounts {
        let account = &discovered[i % discovered.len()];
        let tenant = format!("bench{:03}", i / discovered.len());
        let probe = LinkedAccount::linked(&tenant, PlatformId::Meta, account, DateRange { since: time::Date::MIN, until: time::Date::MIN }, OffsetDateTime::now_utc());
        let until = probe.today(jiff::Timestamp::now()).previous_day().context("a yesterday")?;
        let range = DateRange { since: until - time::Duration::days(args.days - 1), until };
        let mut row = LinkedAccount::linked(&tenant, PlatformId::Meta, account, range, OffsetDateTime::now_utc());
        store.put_credentials(&vault, &row, &credentials).await?;
        store.put_account(&mut row).await?;
        linked.push(row);
    }

    println!("bench-backfill: {} accounts x {} days, campaign level, {} at once, against {}", args.accounts, args.days, args.concurrency, settings.platforms.meta.graph_url);
    let (reference_rows, reference_secs) = reference(&linked, args.concurrency).await?;

    let platforms = [(PlatformId::Meta, meta as Arc<dyn Platform>)].into();
    let syncer = Arc::new(Syncer::new(store, vault, platforms, &settings.platforms, vec![Level::Campaign], metrics.clone()));
    let bar = ProgressBar::new(linked.len() as u64)
        .with_style(ProgressStyle::with_template("{bar:40} {pos}/{len} backfills {elapsed}").expect("a template"));
    let started = Instant::now();
    let mut jobs = JoinSet::new();
    let mut queue = linked.iter().map(backfill).collect::<Vec<_>>().into_iter();
    let mut synced_rows = 0u64;
    loop {
        while jobs.len() < args.concurrency {
            let Some(job) = queue.next() else { break };
            let syncer = syncer.clone();
            jobs.spawn(async move { syncer.run(&job, &CancellationToken::new()).await });
        }
        let Some(done) = jobs.join_next().await else { break };
        match done?? {
            JobOutcome::Done { rows, .. } => synced_rows += rows,
            other => bail!("a backfill ended {other:?}"),
        }
        bar.inc(1);
    }
    let sync_secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let stored: u64 = client
        .query("SELECT count() FROM platform_daily FINAL WHERE level = 'campaign'")
        .fetch_one()
        .await?;
    ensure!(stored == reference_rows, "stored {stored} campaign-days, the oracle has {reference_rows}");
    let account_years = args.accounts as f64 * args.days as f64 / 365.0;
    // Every HTTP answer and every pause, as the HTTP layer reported them.
    let exposition = metrics.encode();
    let total = |series: &str| -> f64 {
        exposition.lines().filter(|line| line.starts_with(series)).filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok()).fold(0.0, |sum, value| sum + value)
    };
    let calls = total("adhouse_ingester_platform_calls_total{");
    let waited = total("adhouse_ingester_platform_wait_seconds_total{");
    println!();
    println!("| path | rows | seconds | rows/s |");
    println!("| --- | ---: | ---: | ---: |");
    println!("| oracle download (reference) | {reference_rows} | {reference_secs:.2} | {:.0} |", reference_rows as f64 / reference_secs);
    println!("| sync: connector + store + checkpoints | {stored} | {sync_secs:.2} | {:.0} |", stored as f64 / sync_secs);
    println!();
    println!("sync / reference throughput: {:.2}x", (stored as f64 / sync_secs) / (reference_rows as f64 / reference_secs));
    println!("rows fetched by the sync: {synced_rows} (stored after FINAL: {stored})");
    println!("platform calls (HTTP requests): {calls} in all, {:.1} per account-year", calls / account_years);
    println!("time held back by pacing or retries: {waited:.1} s");
    println!("peak RSS of this process: {}", peak_rss().unwrap_or_else(|| "unknown".into()));
    Ok(())
}

/// A pure backfill of the account's range (as linking enqueues it).
fn backfill(account: &LinkedAccount) -> SyncJob {
    SyncJob {
        tenant: account.tenant.clone(),
        platform: PlatformId::Meta,
        account_id: account.account_id.clone(),
        since: account.backfill_since,
        until: account.backfill_until,
        refetch_from: account.backfill_until.next_day().unwrap_or(account.backfill_until),
    }
}

/// Every account's campaign-days from the fake's oracle, `concurrency` at a
/// time: (rows, seconds).
async fn reference(accounts: &[LinkedAccount], concurrency: usize) -> anyhow::Result<(u64, f64)> {
    let base = std::env::var("ADHOUSE_DEV_PLATFORMS_URL").context("ADHOUSE_DEV_PLATFORMS_URL (source .dev/env)")?;
    let started = Instant::now();
    let mut rows = 0u64;
    for chunk in accounts.chunks(concurrency) {
        let mut fetches = JoinSet::new();
        for account in chunk {
            let range = DateRange { since: account.backfill_since, until: account.backfill_until };
            let (base, id) = (base.clone(), account.account_id.clone());
            fetches.spawn(async move { fakes::oracle(&base, PlatformId::Meta, &id, Level::Campaign, range).await.len() as u64 });
        }
        while let Some(count) = fetches.join_next().await {
            rows += count?;
        }
    }
    Ok((rows, started.elapsed().as_secs_f64()))
}

/// `VmHWM` of /proc/self/status (Linux).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_owned())
}
