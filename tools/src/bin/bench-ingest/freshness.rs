//! End-to-end freshness through the local stack: objects PUT one by one into
//! a bucket of the run's own, whose ObjectCreated notifications go to a queue
//! of the run's own, consumed by a real `adhouse-ingester run` process; for
//! each object, the time from the start of its PutObject to the moment all of
//! its rows are counted in `events`, polled every [`POLL`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adhouse_core::Settings;
use anyhow::{Context as _, bail};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Event as S3Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use clickhouse::{Client, Row};
use serde::Deserialize;

/// Resolution of the measurement.
const POLL: Duration = Duration::from_millis(50);
/// Longest wait for the last object after its PUT.
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// One object to PUT: its key, local file and rows it holds.
pub struct Object {
    pub key: String,
    pub path: PathBuf,
    pub rows: u64,
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

/// Latency of each object after the first (which warms the stack up and
/// is not counted), in PUT order.
pub async fn measure(
    settings: &Settings,
    client: &Client,
    objects: &[Object],
    params: &Params<'_>,
) -> anyhow::Result<Vec<Duration>> {
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

#[derive(Debug, Row, Deserialize)]
struct FileRows {
    file: String,
    rows: u64,
}

async fn put_and_watch(
    client: &Client,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    objects: &[Object],
    interval: Duration,
    ingester: &mut Child,
) -> anyhow::Result<Vec<Duration>> {
    let file_of = |object: &Object| format!("s3://{bucket}/{}", object.key);
    let mut put_at: HashMap<String, (Instant, u64)> = HashMap::new();
    let mut visible: HashMap<String, Duration> = HashMap::new();
    let mut next = 0;
    let mut next_put = Instant::now();
    let mut last_put = Instant::now();
    while visible.len() < objects.len() {
        if let Some(status) = ingester.try_wait()? {
            bail!("adhouse-ingester exited ({status}); see ingester.log");
        }
        // The warm-up object goes alone; the others at the set pace.
        let warmed_up = visible.contains_key(&file_of(&objects[0]));
        if next < objects.len() && (next == 0 || warmed_up) && Instant::now() >= next_put {
            let object = &objects[next];
            let body = ByteStream::from(std::fs::read(&object.path)?);
            let started = Instant::now();
            s3.put_object()
                .bucket(bucket)
                .key(&object.key)
                .body(body)
                .send()
                .await?;
            put_at.insert(file_of(object), (started, object.rows));
            (next, next_put, last_put) = (next + 1, started + interval, started);
        }
        let counts = client
            .query("SELECT toString(file) AS file, count() AS rows FROM events GROUP BY file")
            .fetch_all::<FileRows>()
            .await?;
        let now = Instant::now();
        for FileRows { file, rows } in counts {
            if let Some((started, expected)) = put_at.get(&file)
                && rows >= *expected
            {
                visible.entry(file).or_insert_with(|| now - *started);
            }
        }
        if next == objects.len() && last_put.elapsed() > GIVE_UP_AFTER {
            bail!(
                "{} of {} objects still not visible {GIVE_UP_AFTER:?} after the last PUT",
                objects.len() - visible.len(),
                objects.len()
            );
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(objects[1..]
        .iter()
        .map(|object| visible[&file_of(object)])
        .collect())
}
