//! End-to-end freshness through the local stack: objects PUT one by one into
//! a bucket of the run's own, whose ObjectCreated notifications go to a queue
//! of the run's own, consumed by a real `adhouse-ingester run` process; for
//! each object, the time from the start of its PutObject to the moment the
//! ingester's ledger marks it done, polled every [`POLL`] (its rows are in
//! `events` by then, which is checked after the run). Over the measured
//! objects it also takes the CPU time the ingester and ClickHouse spent, which
//! says which of them a sustained load saturates.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adhouse_core::Settings;
use anyhow::{Context as _, bail, ensure};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Event as S3Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use clickhouse::{Client, Row};
use serde::Deserialize;

/// Resolution of the measurement.
const POLL: Duration = Duration::from_millis(50);
/// Longest wait for the last object after its PUT.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);
/// Polls timed together after a run for the cost of one.
const TIMED_POLLS: u32 = 20;

/// One object to PUT: its key, local file and rows it holds.
pub struct Object {
    pub key: String,
    pub path: PathBuf,
    pub rows: u64,
    /// Size as PUT.
    pub bytes: u64,
}

pub struct Params<'a> {
    pub ingester: &'a Path,
    /// Example source files; their `bucket` is rewritten to the run's bucket.
    pub sources_dir: &'a Path,
    pub work_dir: &'a Path,
    pub workers: usize,
    pub poll_wait_secs: u32,
    /// Pause between two PUTs.
    pub put_interval: Duration,
}

/// What a run measured over the objects after the first (which warms the
/// stack up and is not counted).
pub struct Measured {
    /// Each object's latency, in PUT order.
    pub latencies: Vec<Duration>,
    /// The traffic each object held, first event to last, in PUT order.
    pub spans: Vec<Duration>,
    /// The objects' size as PUT (compressed), in all.
    pub bytes: u64,
    /// From the first measured PUT until the last object was visible.
    pub wall: Duration,
    /// CPU time of the `adhouse-ingester` process in that time.
    pub ingester_cpu: Duration,
    /// CPU time ClickHouse accounted to its own threads in that time
    /// (`system.events`: inserts, the rollup views, merges, and this
    /// benchmark's polling queries).
    pub clickhouse_cpu: Duration,
    /// The polling's part of `clickhouse_cpu`: the polls made, each at the
    /// cost of one timed after the run.
    pub polling_cpu: Duration,
}

pub async fn measure(
    settings: &Settings,
    client: &Client,
    objects: &[Object],
    params: &Params<'_>,
) -> anyhow::Result<Measured> {
    let run_id = time::OffsetDateTime::now_utc().unix_timestamp();
    let bucket = format!("adhouse-bench-{run_id}");
    let (s3, queue_url) = provision(&bucket).await?;
    let sources_dir = params.work_dir.join("sources");
    rewrite_sources(params.sources_dir, &sources_dir, &bucket)?;
    let mut ingester = spawn_ingester(settings, &queue_url, &sources_dir, params)?;
    let result = put_and_watch(
        client,
        &s3,
        &bucket,
        objects,
        params.put_interval,
        &mut ingester,
    )
    .await;
    stop(&mut ingester);
    result
}

async fn provision(bucket: &str) -> anyhow::Result<(aws_sdk_s3::Client, String)> {
    let shared = aws_config::load_from_env().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&shared);
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .with_context(|| format!("creating bucket {bucket}"))?;
    let queue_url = sqs
        .create_queue()
        .queue_name(bucket)
        .send()
        .await?
        .queue_url
        .context("no queue URL")?;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .context("no queue ARN")?;
    let notification = QueueConfiguration::builder()
        .queue_arn(arn)
        .events(S3Event::S3ObjectCreated)
        .build()?;
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(notification)
                .build(),
        )
        .send()
        .await
        .context("configuring the bucket's notification")?;
    Ok((s3, queue_url))
}

/// Copies the example sources with their bucket replaced.
fn rewrite_sources(from: &Path, to: &Path, bucket: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let old = "bucket = \"adhouse-logs\"";
        if !text.contains(old) {
            bail!("{}: expected {old}", path.display());
        }
        std::fs::write(
            to.join(path.file_name().context("file name")?),
            text.replace(old, &format!("bucket = \"{bucket}\"")),
        )?;
    }
    Ok(())
}

fn spawn_ingester(
    settings: &Settings,
    queue_url: &str,
    sources_dir: &Path,
    params: &Params<'_>,
) -> anyhow::Result<Child> {
    let log = std::fs::File::create(params.work_dir.join("ingester.log"))?;
    Command::new(params.ingester)
        .arg("run")
        .env(
            "ADHOUSE__CLICKHOUSE__DATABASE",
            &settings.clickhouse.database,
        )
        .env("ADHOUSE__INGEST__QUEUE_URL", queue_url)
        .env("ADHOUSE__INGEST__SOURCES_DIR", sources_dir)
        .env("ADHOUSE__INGEST__WORKERS", params.workers.to_string())
        .env(
            "ADHOUSE__INGEST__POLL_WAIT_SECS",
            params.poll_wait_secs.to_string(),
        )
        .env("ADHOUSE__INGEST__METRICS_ADDR", "127.0.0.1:0")
        .env("ADHOUSE__LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", params.ingester.display()))
}

/// SIGTERM, as a deployment would stop it, then wait for the exit.
fn stop(ingester: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &ingester.id().to_string()])
        .status();
    let _ = ingester.wait();
}

/// CPU time of a process of ours (`/proc/<pid>/stat`: user and system
/// time in clock ticks, which Linux fixes at 100 a second for user space).
fn process_cpu(process: &Child) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", process.id()))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("unexpected /proc/<pid>/stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |index: usize| -> anyhow::Result<u64> {
        Ok(fields.get(index).context("short /proc/<pid>/stat")?.parse()?)
    };
    // utime and stime are the 14th and 15th fields, the 12th and 13th after the name.
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

async fn clickhouse_cpu(client: &Client) -> anyhow::Result<Duration> {
    let micros: u64 = client
        .query("SELECT sum(value) FROM system.events WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')")
        .fetch_one()
        .await
        .context("reading ClickHouse's CPU counters")?;
    Ok(Duration::from_micros(micros))
}

#[derive(Debug, Row, Deserialize)]
struct FileRows {
    file: String,
    rows: u64,
    /// From its first event's `ts` to its last, in milliseconds.
    span_ms: i64,
}

/// Which of `keys` the ingester's ledger marks done. It does so after the
/// object's last chunk is in `events`, so its rows are visible by then. A
/// count over `events` would tell the same later and costs ClickHouse more
/// with every object: at 100,000 rows a second it took up to half of one of
/// the two cores the run measures.
async fn poll(client: &Client, bucket: &str, keys: &[&str]) -> anyhow::Result<Vec<String>> {
    Ok(client
        .query("SELECT key FROM ingest_files FINAL WHERE bucket = ? AND key IN ? AND status = 'done'")
        .bind(bucket)
        .bind(keys)
        .fetch_all::<String>()
        .await?)
}

/// ClickHouse's CPU for one poll of `key`, averaged over [`TIMED_POLLS`].
async fn poll_cpu(client: &Client, bucket: &str, key: &str) -> anyhow::Result<Duration> {
    let from = clickhouse_cpu(client).await?;
    for _ in 0..TIMED_POLLS {
        poll(client, bucket, &[key]).await?;
    }
    Ok(clickhouse_cpu(client).await?.saturating_sub(from) / TIMED_POLLS)
}

/// That `events` holds exactly each object's rows, once the ledger says
/// done; returns the span of traffic each object held, in `objects` order.
async fn check_rows(client: &Client, bucket: &str, objects: &[Object]) -> anyhow::Result<Vec<Duration>> {
    let files: Vec<String> = objects.iter().map(|object| format!("s3://{bucket}/{}", object.key)).collect();
    let counted: HashMap<String, (u64, i64)> = client
        .query(
            "SELECT toString(file) AS file, count() AS rows, \
             toUnixTimestamp64Milli(max(ts)) - toUnixTimestamp64Milli(min(ts)) AS span_ms \
             FROM events WHERE file IN ? GROUP BY file",
        )
        .bind(&files)
        .fetch_all::<FileRows>()
        .await?
        .into_iter()
        .map(|FileRows { file, rows, span_ms }| (file, (rows, span_ms)))
        .collect();
    let mut spans = Vec::new();
    for (file, object) in files.iter().zip(objects) {
        let (rows, span_ms) = counted.get(file).copied().unwrap_or((0, 0));
        ensure!(rows == object.rows, "{file}: the ledger says done, but events holds {rows} of its {} rows", object.rows);
        spans.push(Duration::from_millis(span_ms.max(0) as u64));
    }
    Ok(spans)
}

async fn put_and_watch(
    client: &Client,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    objects: &[Object],
    interval: Duration,
    ingester: &mut Child,
) -> anyhow::Result<Measured> {
    let mut put_at: HashMap<&str, Instant> = HashMap::new();
    let mut visible: HashMap<String, Duration> = HashMap::new();
    // (time, ingester CPU, ClickHouse CPU) when the first measured object goes.
    let mut measured_from = None;
    let mut polls: u32 = 0;
    let mut next = 0;
    let mut next_put = Instant::now();
    let mut last_put = Instant::now();
    while visible.len() < objects.len() {
        if let Some(status) = ingester.try_wait()? {
            bail!("adhouse-ingester exited ({status}); see ingester.log");
        }
        // The warm-up object goes alone; the others at the set pace.
        let warmed_up = visible.contains_key(&objects[0].key);
        if next < objects.len() && (next == 0 || warmed_up) && Instant::now() >= next_put {
            if next == 1 {
                measured_from = Some((Instant::now(), process_cpu(ingester)?, clickhouse_cpu(client).await?));
            }
            let object = &objects[next];
            let body = ByteStream::from(std::fs::read(&object.path)?);
            let started = Instant::now();
            s3.put_object()
                .bucket(bucket)
                .key(&object.key)
                .body(body)
                .send()
                .await?;
            put_at.insert(&object.key, started);
            (next, next_put, last_put) = (next + 1, started + interval, started);
        }
        let pending: Vec<&str> = put_at.keys().copied().filter(|key| !visible.contains_key(*key)).collect();
        let done = match pending.is_empty() {
            true => Vec::new(),
            false => {
                polls += u32::from(measured_from.is_some());
                poll(client, bucket, &pending).await?
            }
        };
        let now = Instant::now();
        for key in done {
            if let Some(started) = put_at.get(key.as_str()) {
                let latency = now - *started;
                visible.entry(key).or_insert(latency);
            }
        }
        if next == objects.len() && last_put.elapsed() > GIVE_UP_AFTER {
            bail!(
                "{} of {} objects still not done {GIVE_UP_AFTER:?} after the last PUT",
                objects.len() - visible.len(),
                objects.len()
            );
        }
        tokio::time::sleep(POLL).await;
    }
    let (started, ingester_from, clickhouse_from) = measured_from.context("no object after the warm-up one")?;
    let (wall, ingester_cpu) = (started.elapsed(), process_cpu(ingester)?.saturating_sub(ingester_from));
    let clickhouse_cpu = clickhouse_cpu(client).await?.saturating_sub(clickhouse_from);
    let spans = check_rows(client, bucket, objects).await?;
    Ok(Measured {
        latencies: objects[1..].iter().map(|object| visible[&object.key]).collect(),
        spans: spans[1..].to_vec(),
        bytes: objects[1..].iter().map(|object| object.bytes).sum(),
        wall,
        ingester_cpu,
        clickhouse_cpu,
        polling_cpu: poll_cpu(client, bucket, &objects[objects.len() - 1].key).await? * polls,
    })
}
