//! `bench-ingest` (`make bench-ingest`): the ingester's parse-and-encode
//! throughput per format against ClickHouse's own parser on the same files,
//! and end-to-end freshness through the local stack. Prints a table and
//! writes it to `--report`. Not a test: nothing here asserts a time.
//!
//! Needs the local stack (`make dev-up`, `.dev/env` exported) and a release
//! build of `adhouse-ingester`. Works in its own database (`adhouse_bench_ingest`,
//! dropped and migrated at start), bucket and queue; leaves the stack's
//! `adhouse` database, bucket and queue alone.

mod freshness;
mod ours;
mod sink;
mod theirs;

use std::fmt::Write as _;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use adhouse_core::Settings;
use adhouse_core::schema::Migrator;
use adhouse_core::settings::SourceSettings;
use adhouse_tools::samples::formats::ExampleSource;
use adhouse_tools::samples::manifest::{FileEntry, MANIFEST_KEY, Manifest};
use adhouse_tools::samples::{self, GenArgs};
use adhouse_ingester::mapping::Source;
use anyhow::{Context as _, ensure};
use clap::Parser;

const DATABASE: &str = "adhouse_bench_ingest";
const TENANT: &str = "acme";
/// The throughput files are fixed, so that runs on different days compare.
const START: time::Date = time::macros::date!(2026 - 05 - 10);

#[derive(Debug, Parser)]
#[command(about = "Ingestion benchmark: throughput against ClickHouse's parser, and freshness")]
struct Args {
    /// Rows of the generated file per format.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Timed passes per side and file; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Only freshness: no throughput table (a sustained-load run at a chosen
    /// `--object-rows` and `--put-interval-ms`).
    #[arg(long)]
    freshness_only: bool,
    /// Objects whose freshness is measured (after one warm-up object); 0 skips it.
    #[arg(long, default_value_t = 52)]
    objects: usize,
    /// Rows per freshness object.
    #[arg(long, default_value_t = 2_000)]
    object_rows: u64,
    /// Pause between two freshness PUTs, in milliseconds.
    #[arg(long, default_value_t = 200)]
    put_interval_ms: u64,
    /// Seconds of traffic a freshness object holds, on average over the day
    /// (the generator's day curve stretches its night): 60 is a shipper that
    /// rotates each server's log every minute. The rollups fold the events
    /// of one insert that share a minute, an hour or a day, so this decides
    /// how much ClickHouse writes per event; 86400 spreads each object's
    /// rows over a whole day, where almost nothing folds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    object_span_secs: u32,
    /// `ingest.workers` of the ingester under test.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// `ingest.poll_wait_secs` of the ingester under test.
    #[arg(long, default_value_t = 1)]
    poll_wait_secs: u32,
    #[arg(long, default_value = "target/release/adhouse-ingester")]
    ingester: PathBuf,
    #[arg(long, default_value = "ingester/examples/sources")]
    sources: PathBuf,
    /// Python with the `chdb` package (the dev stack's venv), for ClickHouse's side.
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,
    /// Generated files and scratch; kept between runs (files are regenerated
    /// only when `--rows` changes).
    #[arg(long, default_value = "target/bench-ingest")]
    work_dir: PathBuf,
    #[arg(long, default_value = "target/bench-ingest.txt")]
    report: PathBuf,
}

/// One row of the throughput table.
struct Row {
    format: ExampleSource,
    compression: &'static str,
    bytes: u64,
    rows: u64,
    ours: ours::Pass,
    /// The same on a runtime of two workers: wall time only.
    two_cores: ours::Pass,
    theirs: theirs::Pass,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut settings = Settings::load(None)?;
    settings.clickhouse.database = DATABASE.to_owned();
    let client = fresh_database(&settings).await?;
    let sources = load_sources(&args.sources)?;

    let files = match args.freshness_only {
        true => Vec::new(),
        false => generate(&args.work_dir.join("data"), START, 1, None, args.rows, 1).await?,
    };
    let upstream = settings
        .clickhouse
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    ensure!(
        !upstream.contains('/') && !upstream.starts_with("https"),
        "the sink relays to a plain http://host:port ClickHouse URL"
    );
    let sink_url = sink::start(upstream)?;
    let sink = client.clone().with_url(&sink_url);
    let mut engine = theirs::Engine::start(&args.python, &events_columns(&client).await?)?;
    let chunk_lines = settings.ingest.chunk_lines as usize;

    let mut rows = Vec::new();
    for (entry, path) in &files {
        let source = sources
            .iter()
            .find(|s| s.name == entry.source)
            .context("no source for a generated file")?;
        let plain = decompressed_copy(path, &args.work_dir.join("plain"), entry.format)?;
        for (compression, path) in [
            ("none", plain.as_path()),
            (compression_name(path), path.as_path()),
        ] {
            eprintln!("timing {} ({compression}) ...", entry.format.source());
            let (mut ours_passes, mut two_core_passes, mut theirs_passes) =
                (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..args.repeat.max(1) {
                ours_passes
                    .push(ours::ingest_file(&sink, source, TENANT, path, chunk_lines).await?);
                two_core_passes.push(ours::ingest_file_on_two_cores(
                    || adhouse_core::clickhouse::client(&settings.clickhouse).with_url(&sink_url),
                    source,
                    TENANT,
                    path,
                    chunk_lines,
                )?);
                theirs_passes.push(engine.insert_file(entry.format, TENANT, path)?);
            }
            let ours = median_by(ours_passes, |p| p.wall);
            let two_cores = median_by(two_core_passes, |p| p.wall);
            let theirs = median_by(theirs_passes, |p| p.elapsed);
            ensure!(
                ours.rows == entry.good_rows
                    && two_cores.rows == entry.good_rows
                    && theirs.rows == entry.good_rows,
                "{}: rows differ: ingester {} (two cores {}), ClickHouse {}, manifest {}",
                path.display(),
                ours.rows,
                two_cores.rows,
                theirs.rows,
                entry.good_rows
            );
            rows.push(Row {
                format: entry.format,
                compression,
                bytes: ours.bytes,
                rows: ours.rows,
                ours,
                two_cores,
                theirs,
            });
        }
    }

    let freshness = if args.objects == 0 {
        None
    } else {
        eprintln!("freshness: {} objects ...", args.objects);
        let per_format = (args.objects + 1).div_ceil(ExampleSource::ALL.len()) as u32;
        // Today: older events would fall to the `events` TTL before they are counted.
        let today = time::OffsetDateTime::now_utc().date();
        // The day in files of the span; only the first few are written: the
        // cut leaves room for the night's stretch (up to twice the mean span)
        // and the partial file it makes is left out.
        let files_per_day = (86_400 / args.object_span_secs).max(per_format);
        let cut_after_secs = i64::from(args.object_span_secs) * i64::from(per_format) * 3;
        let until = (cut_after_secs < 86_400)
            .then(|| today.midnight().assume_utc() + time::Duration::seconds(cut_after_secs));
        let generated = generate(
            &args.work_dir.join("fresh"),
            today,
            files_per_day,
            until,
            args.object_rows,
            7,
        )
        .await?;
        let whole: Vec<_> = generated
            .into_iter()
            .filter(|(entry, _)| entry.good_rows == args.object_rows)
            .collect();
        let objects = interleave(whole, args.objects + 1);
        ensure!(objects.len() == args.objects + 1, "the generator wrote too few whole objects");
        let params = freshness::Params {
            ingester: &args.ingester,
            sources_dir: &args.sources,
            work_dir: &args.work_dir,
            workers: args.workers,
            poll_wait_secs: args.poll_wait_secs,
            put_interval: Duration::from_millis(args.put_interval_ms),
        };
        Some(freshness::measure(&settings, &client, &objects, &params).await?)
    };

    let version: String = client.query("SELECT version()").fetch_one().await?;
    let report = render(&args, &version, &rows, freshness.as_ref());
    print!("{report}");
    std::fs::write(&args.report, &report)
        .with_context(|| format!("writing {}", args.report.display()))?;
    println!("(written to {})", args.report.display());
    Ok(())
}

/// `name type [DEFAULT expr], ...` of `events`, for a `Null` twin.
async fn events_columns(client: &clickhouse::Client) -> anyhow::Result<String> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Column {
        name: String,
        r#type: String,
        default_expression: String,
    }
    let columns = client
        .query("SELECT name, type, default_expression FROM system.columns WHERE database = currentDatabase() AND table = 'events' ORDER BY position")
        .fetch_all::<Column>()
        .await?;
    let columns: Vec<String> = columns
        .into_iter()
        .map(|c| match c.default_expression.as_str() {
            "" => format!("{} {}", c.name, c.r#type),
            default => format!("{} {} DEFAULT {default}", c.name, c.r#type),
        })
        .collect();
    Ok(columns.join(", "))
}

/// Drops and migrates the bench database; returns a client scoped to it.
async fn fresh_database(settings: &Settings) -> anyhow::Result<clickhouse::Client> {
    let server = adhouse_core::clickhouse::server_client(&settings.clickhouse);
    server
        .query(&format!("DROP DATABASE IF EXISTS {DATABASE} SYNC"))
        .execute()
        .await?;
    Migrator::new(settings)
        .apply()
        .await
        .context("migrating the bench database")?;
    Ok(adhouse_core::clickhouse::client(&settings.clickhouse))
}

fn load_sources(dir: &Path) -> anyhow::Result<Vec<Source>> {
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            let settings = SourceSettings::from_file(&path)?;
            sources.push(Source::compile(&settings).map_err(anyhow::Error::msg)?);
        }
    }
    Ok(sources)
}

/// Generates (unless `out` already holds the same) one day of `TENANT`'s
/// logs in every format; returns the manifest's files with their local paths.
async fn generate(
    out: &Path,
    start: time::Date,
    files: u32,
    until: Option<time::OffsetDateTime>,
    rows: u64,
    seed: u64,
) -> anyhow::Result<Vec<(FileEntry, PathBuf)>> {
    let args = GenArgs {
        out: Some(out.to_owned()),
        upload: None,
        tenants: vec![TENANT.to_owned()],
        start: Some(start),
        days: 1,
        until,
        files,
        rows_per_file: rows,
        seed,
        formats: ExampleSource::ALL.to_vec(),
        bad_every: 0,
    };
    let manifest_path = out.join(MANIFEST_KEY);
    let until_text = until
        .map(|until| until.format(&time::format_description::well_known::Rfc3339))
        .transpose()?;
    let same = |m: &Manifest| {
        (
            m.generator.rows_per_file,
            m.generator.files,
            m.generator.seed,
            &m.generator.start,
            &m.generator.until,
        ) == (rows, files, seed, &start.to_string(), &until_text)
    };
    let manifest = match Manifest::load(&manifest_path).ok().filter(same) {
        Some(manifest) => manifest,
        None => {
            if out.exists() {
                std::fs::remove_dir_all(out)?;
            }
            eprintln!(
                "generating {} x {rows} rows per format into {} ...",
                files,
                out.display()
            );
            samples::run(args).await?;
            Manifest::load(&manifest_path)?
        }
    };
    Ok(manifest
        .files
        .into_iter()
        .map(|file| {
            let path = out.join(&file.key);
            (file, path)
        })
        .collect())
}

/// The uncompressed twin of a generated file (made once).
fn decompressed_copy(path: &Path, dir: &Path, format: ExampleSource) -> anyhow::Result<PathBuf> {
    let copy = dir.join(match format {
        ExampleSource::Jsonl => "vast.jsonl",
        ExampleSource::Csv => "ssp.csv",
        ExampleSource::Tsv => "exchange.tsv",
        ExampleSource::W3c => "pixel.log",
    });
    let fresh = copy
        .metadata()
        .and_then(|c| Ok(c.modified()? >= path.metadata()?.modified()?))
        .unwrap_or(false);
    if !fresh {
        std::fs::create_dir_all(dir)?;
        let file = io::BufReader::new(std::fs::File::open(path)?);
        let mut reader: Box<dyn Read> = match compression_name(path) {
            "gzip" => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
            _ => Box::new(zstd::Decoder::with_buffer(file)?),
        };
        io::copy(
            &mut reader,
            &mut io::BufWriter::new(std::fs::File::create(&copy)?),
        )?;
    }
    Ok(copy)
}

fn compression_name(path: &Path) -> &'static str {
    if path.extension().is_some_and(|ext| ext == "zst") {
        "zstd"
    } else {
        "gzip"
    }
}

/// The first `count` files, alternating formats, as freshness objects.
fn interleave(files: Vec<(FileEntry, PathBuf)>, count: usize) -> Vec<freshness::Object> {
    let mut objects: Vec<(usize, freshness::Object)> = Vec::new();
    let mut seen = std::collections::HashMap::<ExampleSource, usize>::new();
    for (entry, path) in files {
        let nth = seen.entry(entry.format).or_default();
        objects.push((
            *nth,
            freshness::Object {
                key: entry.key,
                path,
                rows: entry.good_rows,
                bytes: entry.bytes,
            },
        ));
        *nth += 1;
    }
    objects.sort_by_key(|(nth, _)| *nth);
    objects
        .into_iter()
        .map(|(_, object)| object)
        .take(count)
        .collect()
}

fn median_by<T, K: Ord>(mut passes: Vec<T>, key: impl Fn(&T) -> K) -> T {
    passes.sort_by_key(|p| key(p));
    passes.swap_remove(passes.len() / 2)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn render(args: &Args, version: &str, rows: &[Row], freshness: Option<&freshness::Measured>) -> String {
    let now = time::OffsetDateTime::now_utc();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "adhouse bench-ingest, {} UTC, {cores} cores ({cpu}), ClickHouse {version} (chDB)",
        now.date()
    );
    let _ = writeln!(
        out,
        "\nThroughput, one thread per side, {} rows per file, median of {} passes. MB = 10^6 decompressed bytes.\n\
         ingester:   file -> decompress -> chunker (read one chunk ahead) -> parser -> mapping -> EventsInsert\n\
         \x20           (RowBinary; LZ4 on a task of its own) -> HTTP to a discarding sink; on one thread: time = wall,\n\
         \x20           cpu = this thread's CPU time; 2-core = wall time on a runtime of two workers (one object)\n\
         ClickHouse: INSERT INTO <Null table> SELECT <same mapping> FROM file(<same file>), max_threads = 1, in a\n\
         \x20           chDB process of its own; time = engine elapsed, cpu = that process's CPU time\n\
         ratio = ingester rows/s / ClickHouse rows/s; per cpu-second is the per-core figure on a shared machine.",
        args.rows, args.repeat
    );
    let _ = writeln!(
        out,
        "\n{:<6} {:<5} {:>6} | {:>9} {:>6} {:>9} {:>9} | {:>9} {:>6} {:>9} | {:>5} {:>5}",
        "", "", "", "ingester", "", "", "", "ClickHouse", "", "", "ratio", ""
    );
    let _ = writeln!(
        out,
        "{:<6} {:<5} {:>6} | {:>9} {:>6} {:>9} {:>9} | {:>9} {:>6} {:>9} | {:>5} {:>5}",
        "format",
        "comp",
        "MB",
        "rows/s",
        "MB/s",
        "rows/cpus",
        "2-core/s",
        "rows/s",
        "MB/s",
        "rows/cpus",
        "wall",
        "cpu"
    );
    let _ = writeln!(out, "{}", "-".repeat(102));
    for row in rows {
        let mb = row.bytes as f64 / 1e6;
        let n = row.rows as f64;
        let (ours_s, ours_cpu) = (row.ours.wall.as_secs_f64(), seconds(row.ours.cpu));
        let (theirs_s, theirs_cpu) = (row.theirs.elapsed.as_secs_f64(), seconds(row.theirs.cpu));
        let _ = writeln!(
            out,
            "{:<6} {:<5} {:>6.1} | {:>9} {:>6.1} {:>9} {:>9} | {:>9} {:>6.1} {:>9} | {:>5.2} {:>5.2}",
            format_name(row.format),
            row.compression,
            mb,
            thousands(n / ours_s),
            mb / ours_s,
            thousands(n / ours_cpu),
            thousands(n / row.two_cores.wall.as_secs_f64()),
            thousands(n / theirs_s),
            mb / theirs_s,
            thousands(n / theirs_cpu),
            theirs_s / ours_s,
            theirs_cpu / ours_cpu,
        );
    }
    let mut sorted = freshness.map(|f| f.latencies.clone()).unwrap_or_default();
    sorted.sort();
    if !sorted.is_empty() {
        let _ = writeln!(
            out,
            "\nFreshness, S3 PUT -> the ledger marks the object done, all its rows in events \
             (ledger polled every 50 ms, rows checked after the run):\n\
             {} objects of {} rows (formats alternating, after 1 warm-up object), one PUT every {} ms,\n\
             `adhouse-ingester run` with {} workers, SQS poll wait {} s; offered load {} rows/s.",
            sorted.len(),
            args.object_rows,
            args.put_interval_ms,
            args.workers,
            args.poll_wait_secs,
            thousands(args.object_rows as f64 * 1000.0 / args.put_interval_ms.max(1) as f64)
        );
        let _ = writeln!(
            out,
            "p50 {:.2} s   p95 {:.2} s   min {:.2} s   max {:.2} s",
            percentile(&sorted, 50.0).as_secs_f64(),
            percentile(&sorted, 95.0).as_secs_f64(),
            sorted[0].as_secs_f64(),
            sorted[sorted.len() - 1].as_secs_f64()
        );
    }
    if let Some(measured) = freshness {
        let wall = seconds(measured.wall);
        let mut spans = measured.spans.clone();
        spans.sort();
        let _ = writeln!(
            out,
            "Each object held {:.0}-{:.0} s of traffic (median {:.0} s; --object-span-secs {}); \
             {:.1} MB of objects as stored a second.",
            spans[0].as_secs_f64(),
            spans[spans.len() - 1].as_secs_f64(),
            percentile(&spans, 50.0).as_secs_f64(),
            args.object_span_secs,
            measured.bytes as f64 / 1e6 / wall,
        );
        let per_thousand_rows = 1000.0 / (args.object_rows * measured.latencies.len() as u64).max(1) as f64;
        let _ = writeln!(
            out,
            "CPU in those {wall:.1} s: adhouse-ingester {:.1} s ({:.2} cores, {:.2} ms per 1,000 rows), \
             ClickHouse {:.1} s ({:.2} cores; its system.events), of which this benchmark's polling {:.1} s; \
             ClickHouse without the polling {:.2} ms per 1,000 rows",
            measured.ingester_cpu.as_secs_f64(),
            measured.ingester_cpu.as_secs_f64() / wall,
            measured.ingester_cpu.as_secs_f64() * 1000.0 * per_thousand_rows,
            measured.clickhouse_cpu.as_secs_f64(),
            measured.clickhouse_cpu.as_secs_f64() / wall,
            measured.polling_cpu.as_secs_f64(),
            measured.clickhouse_cpu.saturating_sub(measured.polling_cpu).as_secs_f64() * 1000.0 * per_thousand_rows,
        );
    }
    let _ = writeln!(out, "\nGoals (issues 3 and 15):");
    if !rows.is_empty() {
        let json: Vec<String> = rows
            .iter()
            .filter(|r| r.format == ExampleSource::Jsonl)
            .map(|r| {
                let per_core = r.rows as f64 / seconds(r.ours.cpu);
                format!(
                    "{} {} ({})",
                    r.compression,
                    thousands(per_core),
                    met(per_core >= 1e6)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  >= 1 M JSON rows/s per core (rows per CPU-second): {}",
            json.join(", ")
        );
        let ratios: Vec<String> = rows
            .iter()
            .map(|r| {
                let ratio = seconds(r.theirs.cpu) / seconds(r.ours.cpu);
                format!("{} {} {ratio:.2}", format_name(r.format), r.compression)
            })
            .collect();
        let lowest = rows
            .iter()
            .map(|r| seconds(r.theirs.cpu) / seconds(r.ours.cpu))
            .fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            out,
            "  ratio >= 1.0 against ClickHouse's parser, per CPU-second: {} -> {}",
            ratios.join(", "),
            met(lowest >= 1.0)
        );
    }
    if !sorted.is_empty() {
        let p95 = percentile(&sorted, 95.0);
        let _ = writeln!(
            out,
            "  p95 freshness < 1 s (issue 15; its example load is 5 MB of gzip a second), at {} rows/s offered: {:.2} s -> {}",
            thousands(args.object_rows as f64 * 1000.0 / args.put_interval_ms.max(1) as f64),
            p95.as_secs_f64(),
            met(p95 < Duration::from_secs(1))
        );
    }
    out
}

/// Seconds, never zero (a division follows).
fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64().max(1e-9)
}

fn format_name(format: ExampleSource) -> &'static str {
    match format {
        ExampleSource::Jsonl => "JSONL",
        ExampleSource::Csv => "CSV",
        ExampleSource::Tsv => "TSV",
        ExampleSource::W3c => "W3C",
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<Duration> = (1..=20).map(Duration::from_secs).collect();
        assert_eq!(percentile(&sorted, 50.0), Duration::from_secs(10));
        assert_eq!(percentile(&sorted, 95.0), Duration::from_secs(19));
        assert_eq!(percentile(&sorted[..1], 95.0), Duration::from_secs(1));
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }
}
