//! A private slice of the local stack per test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use adhouse_core::Settings;
use adhouse_core::schema::Migrator;
use adhouse_core::settings::SourceSettings;
use adhouse_ingester::ingest::Ingestor;
use adhouse_ingester::ledger::{FileStatus, Ledger};
use adhouse_tools::samples::GenArgs;
use adhouse_tools::samples::manifest::Manifest;
use clap::Parser as _;
use adhouse_ingester::mapping::Source;
use adhouse_ingester::metrics::Metrics;
use adhouse_ingester::s3_event::ObjectCreated;
use adhouse_ingester::store::S3Store;
use adhouse_ingester::consumer::{Consumer, ConsumerSettings};
use adhouse_ingester::objects::ObjectHandler;
use adhouse_ingester::queue::{Queue, SqsQueue};
use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use clickhouse::Client;
use tokio_util::sync::CancellationToken;

pub struct TestStack {
    pub name: String,
    pub settings: Settings,
    pub clickhouse: Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub bucket: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub dir: PathBuf,
}

impl TestStack {
    /// A migrated database, a bucket whose ObjectCreated events go to a
    /// queue with a dead-letter queue after 5 receives, and example sources
    /// pointed at the bucket.
    pub async fn new(test: &str) -> Self {
        Self::with_clickhouse(test, &local_clickhouse()).await
    }

    /// [`TestStack::new`] on the ClickHouse server at `url`.
    pub async fn with_clickhouse(test: &str, url: &str) -> Self {
        Self::configured(test, url, |_| {}).await
    }

    /// [`TestStack::new`] with settings changed by `configure` before the
    /// database is migrated (retention, say).
    pub async fn configured(test: &str, url: &str, configure: impl FnOnce(&mut Settings)) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!("t-{}-{}-{}", test.replace('_', "-"), std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut settings = Settings::load(None).expect("settings");
        configure(&mut settings);
        settings.clickhouse.url = url.to_owned();
        settings.clickhouse.database = name.replace('-', "_");
        Migrator::new(&settings).apply().await.unwrap_or_else(|err| {
            panic!("migrating {} failed ({err}); start the stack: make dev-up && source .dev/env", settings.clickhouse.url)
        });
        let aws = aws_config::load_from_env().await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
        let sqs = aws_sdk_sqs::Client::new(&aws);

        let bucket = name.clone();
        s3.create_bucket().bucket(&bucket).send().await.expect("bucket created");
        let dlq_url = sqs.create_queue().queue_name(format!("{name}-dlq")).send().await.unwrap().queue_url.unwrap();
        let dlq_arn = queue_arn(&sqs, &dlq_url).await;
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .attributes(
                QueueAttributeName::RedrivePolicy,
                format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}"#),
            )
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue = QueueConfiguration::builder()
            .queue_arn(queue_arn(&sqs, &queue_url).await)
            .events(Event::S3ObjectCreated)
            .build()
            .unwrap();
        s3.put_bucket_notification_configuration()
            .bucket(&bucket)
            .notification_configuration(NotificationConfiguration::builder().queue_configurations(queue).build())
            .send()
            .await
            .expect("notification configured");

        settings.ingest.queue_url = queue_url.clone();
        settings.ingest.poll_wait_secs = 1;
        settings.ingest.visibility_timeout_secs = 30;
        settings.ingest.chunk_lines = 500;
        settings.ingest.sources = example_sources(&bucket);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        let clickhouse = adhouse_core::clickhouse::client(&settings.clickhouse);
        Self { name, settings, clickhouse, s3, sqs, bucket, queue_url, dlq_url, dir }
    }

    /// Generates sample logs with `gen_args` (`adhouse-gen`'s arguments) and
    /// uploads them to the bucket.
    pub async fn upload_generated(&self, gen_args: &[&str]) -> Manifest {
        #[derive(clap::Parser)]
        struct Gen {
            #[command(flatten)]
            args: GenArgs,
        }
        let out = self.dir.to_str().expect("UTF-8 path");
        let upload = format!("s3://{}/", self.bucket);
        let argv = ["adhouse-gen", "--out", out, "--upload", &upload].into_iter().chain(gen_args.iter().copied());
        adhouse_tools::samples::run(Gen::parse_from(argv).args).await.expect("gen writes and uploads the files");
        Manifest::load(&self.dir.join("manifest.json")).expect("manifest")
    }

    /// Uploads `body` under `key` and returns it as announced.
    pub async fn put(&self, key: &str, body: Vec<u8>) -> ObjectCreated {
        let size = body.len() as u64;
        let put = self.s3.put_object().bucket(&self.bucket).key(key).body(body.into()).send().await.unwrap();
        ObjectCreated {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            etag: put.e_tag().unwrap().trim_matches('"').to_owned(),
            size,
            event_time: time::OffsetDateTime::now_utc(),
        }
    }

    /// The ingester binary, configured for this stack through the environment.
    pub fn ingester_command(&self) -> Command {
        let sources_dir = self.dir.join("sources");
        std::fs::create_dir_all(&sources_dir).unwrap();
        for entry in std::fs::read_dir(examples_dir()).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap().replace("\"adhouse-logs\"", &format!("{:?}", self.bucket));
            std::fs::write(sources_dir.join(path.file_name().unwrap()), text).unwrap();
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_adhouse-ingester"));
        command
            .env("ADHOUSE__CLICKHOUSE__URL", &self.settings.clickhouse.url)
            .env("ADHOUSE__CLICKHOUSE__DATABASE", &self.settings.clickhouse.database)
            .env("ADHOUSE__INGEST__QUEUE_URL", &self.queue_url)
            .env("ADHOUSE__INGEST__SOURCES_DIR", &sources_dir)
            .env("ADHOUSE__INGEST__CHUNK_LINES", self.settings.ingest.chunk_lines.to_string());
        command
    }

    pub fn ingestor(&self, worker_id: &str) -> Ingestor {
        self.ingestor_with(worker_id, Arc::new(Metrics::new()))
    }

    pub fn ingestor_with(&self, worker_id: &str, metrics: Arc<Metrics>) -> Ingestor {
        let sources = self.settings.ingest.sources.iter().map(|s| Source::compile(s).unwrap()).collect();
        Ingestor::new(
            self.clickhouse.clone(),
            S3Store::new(self.s3.clone()),
            Arc::new(sources),
            metrics,
            worker_id.to_owned(),
            &self.settings,
        )
    }

    /// Runs the SQS loop until `done` holds (checked every 200 ms), then
    /// stops it. Panics after `limit`, so that a broken pipeline fails
    /// instead of hanging.
    pub async fn run_worker_until<F, Fut>(&self, limit: Duration, done: F) -> Arc<Metrics>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.run_consumer_until(Arc::new(self.sqs_queue()), limit, done).await
    }

    /// The test's SQS queue, as `run` reads it.
    pub fn sqs_queue(&self) -> SqsQueue {
        let ingest = &self.settings.ingest;
        SqsQueue::new(self.sqs.clone(), self.queue_url.clone(), ingest.poll_wait_secs, ingest.visibility_timeout_secs)
    }

    /// [`TestStack::run_worker_until`] on `queue`.
    pub async fn run_consumer_until<Q, F, Fut>(&self, queue: Arc<Q>, limit: Duration, done: F) -> Arc<Metrics>
    where
        Q: Queue,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let metrics = Arc::new(Metrics::new());
        let ingestor = Arc::new(self.ingestor_with("sqs-worker", metrics.clone()));
        let worker = Consumer::new(queue, Arc::new(self.object_handler(ingestor)), metrics.clone(), self.consumer_settings());
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(worker.run(shutdown.clone()));
        self.wait_until(limit, done).await;
        shutdown.cancel();
        running.await.unwrap().expect("the consumer ends without a fatal error");
        metrics
    }

    /// The consumer's settings from this stack's, with two workers.
    pub fn consumer_settings(&self) -> ConsumerSettings {
        let ingest = &self.settings.ingest;
        ConsumerSettings { workers: 2, heartbeat: Duration::from_secs(u64::from(ingest.heartbeat_secs)) }
    }

    /// The log queue's handler with this stack's retry settings.
    pub fn object_handler(&self, ingestor: Arc<Ingestor>) -> ObjectHandler {
        let ingest = &self.settings.ingest;
        let retry_for = Duration::from_secs(u64::from(ingest.retry_for_secs));
        ObjectHandler::new(ingestor, retry_for, Duration::from_secs(u64::from(ingest.visibility_timeout_secs)))
    }

    /// Returns once `done` holds (checked every 200 ms); panics after
    /// `limit`, so that a broken pipeline fails instead of hanging.
    pub async fn wait_until<F, Fut>(&self, limit: Duration, mut done: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        while !done().await {
            assert!(started.elapsed() < limit, "{}: condition not reached within {limit:?}", self.name);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn count(&self, sql: &str) -> u64 {
        self.clickhouse.query(sql).fetch_one().await.unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    pub async fn tsv(&self, sql: &str) -> String {
        let bytes = self.clickhouse.query(sql).fetch_bytes("TabSeparated").unwrap().collect().await;
        String::from_utf8(bytes.unwrap_or_else(|err| panic!("{sql}: {err}")).to_vec()).unwrap()
    }

    /// Objects the ledger says are done.
    pub async fn done_objects(&self) -> u64 {
        self.count("SELECT count() FROM ingest_files FINAL WHERE status = 'done'").await
    }

    pub async fn messages_in(&self, queue_url: &str) -> u64 {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        let attributes = attributes.attributes.unwrap_or_default();
        [QueueAttributeName::ApproximateNumberOfMessages, QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
            .iter()
            .map(|name| attributes.get(name).map_or(0, |n| n.parse::<u64>().unwrap()))
            .sum()
    }
}

/// The local stack's ClickHouse (`CLICKHOUSE_URL` of `.dev/env`).
pub fn local_clickhouse() -> String {
    std::env::var("CLICKHOUSE_URL").unwrap_or_else(|_| Settings::load(None).expect("settings").clickhouse.url)
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let attributes = sqs.get_queue_attributes().queue_url(url).attribute_names(QueueAttributeName::QueueArn).send().await.unwrap();
    attributes.attributes.unwrap()[&QueueAttributeName::QueueArn].clone()
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sources")
}

/// The shipped example sources, reading from `bucket`.
fn example_sources(bucket: &str) -> Vec<SourceSettings> {
    let mut paths: Vec<_> = std::fs::read_dir(examples_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let mut source = SourceSettings::from_file(path).unwrap();
            source.bucket = bucket.to_owned();
            source
        })
        .collect()
}

/// Puts `object`'s ledger entry back as its worker would have left it had
/// it been killed after the inserts of chunk `chunk`, before their ledger
/// update: `processing`, released, the chunks before `chunk` counted as
/// `events` and `ingest_errors` hold them (for an object without expired
/// rows).
pub async fn killed_after_inserting_chunk(stack: &TestStack, object: &ObjectCreated, chunk: u32) {
    let ledger = Ledger::new(stack.clickhouse.clone());
    let mut entry = ledger.get(&object.bucket, &object.key, &object.etag).await.unwrap().unwrap();
    let lines = u64::from(chunk) * u64::from(entry.chunk_lines);
    let (ok, bad) = (
        stack.count(&format!("SELECT count() FROM events WHERE line <= {lines}")).await,
        stack.count(&format!("SELECT count() FROM ingest_errors WHERE line <= {lines}")).await,
    );
    (entry.status, entry.next_chunk, entry.rows_ok, entry.rows_bad, entry.rows_expired) =
        (FileStatus::Processing, chunk, ok, bad, 0);
    entry.owner.clear();
    ledger.put(&mut entry).await.unwrap();
}

/// One generated JSONL file of `rows` lines in the bucket, and its good rows.
pub async fn one_object(stack: &TestStack, rows: &str) -> (ObjectCreated, u64) {
    let (object, good, _) = one_object_with_bad_lines(stack, rows, "0").await;
    (object, good)
}

/// [`one_object`] with every `bad_every`-th line malformed; also returns
/// the number of bad lines.
pub async fn one_object_with_bad_lines(stack: &TestStack, rows: &str, bad_every: &str) -> (ObjectCreated, u64, u64) {
    let manifest = stack.upload_generated(&[
        "--start", &yesterday(), "--formats", "jsonl", "--tenants", "acme", "--files", "1", "--rows-per-file", rows,
        "--bad-every", bad_every,
    ]).await;
    let file = &manifest.files[0];
    let key = manifest.object_key(file);
    let head = stack.s3.head_object().bucket(&stack.bucket).key(&key).send().await.unwrap();
    let object = ObjectCreated {
        bucket: stack.bucket.clone(),
        key,
        etag: head.e_tag().unwrap().trim_matches('"').to_owned(),
        size: head.content_length().unwrap() as u64,
        event_time: time::OffsetDateTime::now_utc(),
    };
    (object, file.good_rows, file.bad_lines.len() as u64)
}

/// `--start` for generated logs: yesterday (UTC), inside every retention.
pub fn yesterday() -> String {
    let day = time::OffsetDateTime::now_utc().date().previous_day().unwrap();
    format!("{day}")
}
