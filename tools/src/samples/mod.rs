//! `adhouse-gen`: realistic sample ad logs in every example source
//! format, and a manifest of exactly what they hold.
//!
//! Same arguments, same bytes: every file draws from its own random stream
//! (seeded from `--seed`, tenant, format, day and file index) with integer
//! arithmetic, and compression is deterministic. Files are written in
//! parallel, each streamed through a buffer, so a 2 GiB file never sits in
//! memory. With `--upload` each file is put to S3 as soon as it is written.
//!
//! Module map: `inventory` (a tenant's inventory and demand), `traffic`
//! (opportunity chains over a diurnal curve), `formats/` (one writer per
//! source), `plan` (which files), `file` (writing one), `manifest`,
//! `upload`.

mod inventory;
mod file;
pub mod formats;
pub mod manifest;
mod plan;
mod rng;
mod traffic;
mod upload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use time::{Date, OffsetDateTime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use self::inventory::Inventory;
use self::formats::ExampleSource;
use self::manifest::{GeneratorParams, MANIFEST_KEY, Manifest};
use self::plan::{FilePlan, PlanParams};
use self::upload::{S3Target, Uploader};

/// Largest user pool: its bitmap is kept per file while writing (6 MiB).
const MAX_USER_POOL: u64 = 50_000_000;

/// Generate sample ad-server logs for the example sources, with a manifest.
#[derive(Debug, Clone, clap::Args)]
pub struct GenArgs {
    /// Directory to write into (keys become paths below it). Default
    /// `sample-logs`, or a temporary directory emptied after upload when
    /// `--upload` is given without `--out`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// PutObject every file as `<prefix>/<key>` and the manifest as
    /// `<prefix>/manifest.json`; local files are kept only with `--out`.
    /// Credentials and endpoint come from the AWS default chain
    /// (AWS_ENDPOINT_URL for a local S3). Objects over 5 GiB need multipart
    /// upload, which this does not do.
    #[arg(long, value_name = "s3://BUCKET[/PREFIX]")]
    pub upload: Option<S3Target>,

    /// Tenants, one key segment each (`logs/<tenant>/...`).
    #[arg(long, value_delimiter = ',', default_value = "acme,globex")]
    pub tenants: Vec<String>,

    /// First UTC day, YYYY-MM-DD [default: today, UTC]; pass it for reproducible output.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub start: Option<Date>,

    /// Number of consecutive days.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub days: u32,

    /// Cut the logs at this instant (RFC 3339, e.g. 2026-12-01T15:00:00Z), as
    /// if they were read then: a file ends at the line its server would have
    /// written at that time (lines near it carry times up to a minute either
    /// side, as chained events do), and files not begun by then are left out.
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    pub until: Option<OffsetDateTime>,

    /// Files per format, tenant and day; they split the day's traffic in time.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub files: u32,

    /// Data lines per file (good and malformed), header lines not counted.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub rows_per_file: u64,

    /// Seed of all randomness: the same arguments write the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Formats to write.
    #[arg(long, value_delimiter = ',', default_value = "jsonl,csv,tsv,w3c")]
    pub formats: Vec<ExampleSource>,

    /// Make every N-th data line malformed (bad JSON, column count, timestamp,
    /// unknown event type, missing publisher); 0 for none.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub bad_every: u64,
}

fn parse_instant(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|err| format!("{text:?} is not an RFC 3339 instant: {err}"))
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|err| format!("{text:?} is not a YYYY-MM-DD date: {err}"))
}

/// Runs `gen`: writes (and uploads) every file, then the manifest.
pub async fn run(args: GenArgs) -> anyhow::Result<()> {
    let mut formats = args.formats.clone();
    formats.sort();
    formats.dedup();
    for tenant in &args.tenants {
        if tenant.is_empty() || !tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            bail!("--tenants: {tenant:?} must be letters, digits, '-' or '_' (it is one key segment)");
        }
    }
    if formats.is_empty() || args.tenants.is_empty() {
        bail!("--formats and --tenants need at least one value each");
    }
    let start = args.start.unwrap_or_else(|| OffsetDateTime::now_utc().date());
    let (out, staging) = match (&args.out, &args.upload) {
        (Some(out), _) => (out.clone(), false),
        (None, Some(_)) => (std::env::temp_dir().join(format!("adhouse-gen-{}", std::process::id())), true),
        (None, None) => (PathBuf::from("sample-logs"), false),
    };

    let plans = plan::files(&PlanParams {
        seed: args.seed,
        start,
        days: args.days,
        tenants: &args.tenants,
        formats: &formats,
        files: args.files,
        rows_per_file: args.rows_per_file,
    });
    // A tenant's viewers: about one per three lines of its traffic, so that
    // repeat visits are common but most users are seen a few times only.
    // Counted before any cut, so that `--until` only ever leaves lines out.
    let tenant_lines = plans.len() as u64 / args.tenants.len() as u64 * args.rows_per_file;
    let plans = match args.until {
        Some(until) => plan::cut(plans, (until.unix_timestamp_nanos() / 1_000_000) as i64),
        None => plans,
    };
    let user_pool = (tenant_lines / 3).clamp(1_000, MAX_USER_POOL);
    let inventories: BTreeMap<&str, Arc<Inventory>> = args
        .tenants
        .iter()
        .map(|tenant| (tenant.as_str(), Arc::new(Inventory::new(args.seed, tenant, user_pool))))
        .collect();
    let uploader = match &args.upload {
        Some(target) => Some(Arc::new(Uploader::new(target.clone()).await)),
        None => None,
    };

    let progress = ProgressBar::new(plans.iter().map(|plan| plan.rows).sum()).with_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed}] {wide_bar} {human_pos}/{human_len} lines ({per_sec}, eta {eta})",
        )
        .expect("valid template"),
    );
    let parallelism = std::thread::available_parallelism().map_or(4, |n| n.get());
    let permits = Arc::new(Semaphore::new(parallelism));
    let mut tasks = JoinSet::new();
    for (ordinal, plan) in plans.into_iter().enumerate() {
        let inventory = Arc::clone(&inventories[plan.tenant.as_str()]);
        let (permits, progress, uploader) = (Arc::clone(&permits), progress.clone(), uploader.clone());
        let path = out.join(&plan.key);
        let bad_every = args.bad_every;
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore is never closed");
            let entry = generate_one(plan, inventory, bad_every, path, progress, uploader.as_deref(), staging).await?;
            anyhow::Ok((ordinal, entry))
        });
    }
    let mut files = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        files.push(joined.context("file generator panicked")??);
    }
    progress.finish_and_clear();
    files.sort_by_key(|(ordinal, _)| *ordinal);

    let manifest = Manifest::assemble(
        GeneratorParams {
            seed: args.seed,
            start: start.to_string(),
            days: args.days,
            tenants: args.tenants.clone(),
            formats,
            files: args.files,
            rows_per_file: args.rows_per_file,
            until: args.until.map(|until| until.format(&time::format_description::well_known::Rfc3339)).transpose()?,
            bad_every: args.bad_every,
        },
        args.upload.as_ref().map(|target| target.bucket.clone()),
        args.upload.as_ref().map(|target| target.prefix.clone()).unwrap_or_default(),
        files.into_iter().map(|(_, entry)| entry).collect(),
    );
    let manifest_path = out.join(MANIFEST_KEY);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut json = serde_json::to_vec_pretty(&manifest).context("serialising the manifest")?;
    json.push(b'\n');
    std::fs::write(&manifest_path, json).with_context(|| format!("writing {}", manifest_path.display()))?;
    if let Some(uploader) = &uploader {
        let url = uploader.put(MANIFEST_KEY, &manifest_path).await?;
        println!("uploaded {} files and {url}", manifest.files.len());
    }
    if staging {
        std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    } else {
        println!("wrote {} files and {}", manifest.files.len(), manifest_path.display());
    }
    Ok(())
}

/// Writes one file off the async runtime, uploads it if asked, and deletes
/// it again when it was only staged for the upload.
async fn generate_one(
    plan: FilePlan,
    inventory: Arc<Inventory>,
    bad_every: u64,
    path: PathBuf,
    progress: ProgressBar,
    uploader: Option<&Uploader>,
    staging: bool,
) -> anyhow::Result<(manifest::FileEntry, manifest::FileTally)> {
    let (plan, path, tally, bytes) = tokio::task::spawn_blocking(move || {
        let written = file::write_file(&plan, &inventory, bad_every, &path, &progress)
            .with_context(|| format!("writing {}", path.display()));
        written.map(|(tally, bytes)| (plan, path, tally, bytes))
    })
    .await
    .context("file writer panicked")??;
    tracing::debug!(key = %plan.key, bytes, "generated");
    if let Some(uploader) = uploader {
        let url = uploader.put(&plan.key, &path).await?;
        tracing::info!(%url, bytes, "uploaded");
        if staging {
            std::fs::remove_file(&path).with_context(|| format!("removing staged {}", path.display()))?;
        }
    }
    let entry = tally.entry(plan.key, plan.tenant, plan.format, bytes);
    Ok((entry, tally))
}
