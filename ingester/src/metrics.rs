//! Prometheus metrics of the ingester. Each notable event increments one
//! counter here and logs one line where it happens.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use adhouse_connectors::PlatformId;
use adhouse_connectors::http::CallObserver;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabel {
    pub platform: &'static str,
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlatformLabel {
    pub platform: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WaitLabel {
    pub platform: &'static str,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

pub struct Metrics {
    pub messages_received: Counter,
    pub messages_deleted: Counter,
    pub messages_failed: Counter,
    /// Objects by outcome: done, already_done, owned_elsewhere, no_source, failed, released, error.
    pub objects: Family<OutcomeLabel, Counter>,
    pub rows_ok: Family<SourceLabel, Counter>,
    pub rows_bad: Family<SourceLabel, Counter>,
    /// Rows older than the raw retention, stored nowhere.
    pub rows_expired: Family<SourceLabel, Counter>,
    /// Decompressed bytes parsed.
    pub bytes: Family<SourceLabel, Counter>,
    pub insert_seconds: Histogram,
    /// Time from the S3 event to the object's rows being committed.
    pub freshness_seconds: Histogram,
    /// Platform sync jobs by platform and outcome (done, skipped, needs_relink, stopped, error).
    pub sync_jobs: Family<JobLabel, Counter>,
    /// Daily rows fetched from each platform and stored.
    pub platform_rows: Family<PlatformLabel, Counter>,
    /// Platform API calls by platform and outcome (ok, retry, split, relink, fatal).
    pub platform_calls: Family<JobLabel, Counter>,
    /// Seconds not calling a platform, by reason (pacing from usage headers, retry backoff).
    pub platform_wait_seconds: Family<WaitLabel, Counter<f64, AtomicU64>>,
    registry: Registry,
}

impl Metrics {
    pub fn new() -> Self {
        let mut metrics = Self {
            messages_received: Counter::default(),
            messages_deleted: Counter::default(),
            messages_failed: Counter::default(),
            objects: Family::default(),
            rows_ok: Family::default(),
            rows_bad: Family::default(),
            rows_expired: Family::default(),
            bytes: Family::default(),
            insert_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            freshness_seconds: Histogram::new(exponential_buckets(0.1, 2.0, 14)),
            sync_jobs: Family::default(),
            platform_rows: Family::default(),
            platform_calls: Family::default(),
            platform_wait_seconds: Family::default(),
            registry: Registry::with_prefix("adhouse_ingester"),
        };
        let r = &mut metrics.registry;
        r.register("sqs_messages_received", "SQS messages received", metrics.messages_received.clone());
        r.register("sqs_messages_deleted", "SQS messages deleted after their objects were committed", metrics.messages_deleted.clone());
        r.register("sqs_messages_failed", "SQS messages left for redelivery after a failure", metrics.messages_failed.clone());
        r.register("objects", "S3 objects handled, by outcome", metrics.objects.clone());
        r.register("rows_ok", "Rows inserted into events", metrics.rows_ok.clone());
        r.register("rows_bad", "Malformed input records sent to ingest_errors", metrics.rows_bad.clone());
        r.register(
            "rows_expired",
            "Rows older than schema.events_ttl_days, stored neither in events nor in any rollup",
            metrics.rows_expired.clone(),
        );
        r.register("bytes", "Decompressed bytes parsed", metrics.bytes.clone());
        r.register("insert_seconds", "Latency of one chunk insert into ClickHouse", metrics.insert_seconds.clone());
        r.register("freshness_seconds", "S3 event time to rows committed", metrics.freshness_seconds.clone());
        r.register("sync_jobs", "Platform sync jobs handled, by platform and outcome", metrics.sync_jobs.clone());
        r.register("platform_rows", "Daily platform rows fetched and stored", metrics.platform_rows.clone());
        r.register("platform_calls", "Platform API calls, by platform and outcome", metrics.platform_calls.clone());
        r.register(
            "platform_wait_seconds",
            "Seconds spent not calling a platform: pacing (its usage headers) or retry (backoff after a failure)",
            metrics.platform_wait_seconds.clone(),
        );
        metrics
    }

    pub fn object(&self, outcome: &'static str) {
        self.objects.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn sync_job(&self, platform: &'static str, outcome: &'static str) {
        self.sync_jobs.get_or_create(&JobLabel { platform, outcome }).inc();
    }

    pub fn platform_rows(&self, platform: &'static str, rows: u64) {
        self.platform_rows.get_or_create(&PlatformLabel { platform }).inc_by(rows);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

impl CallObserver for Metrics {
    fn call(&self, platform: PlatformId, outcome: &'static str) {
        self.platform_calls.get_or_create(&JobLabel { platform: platform.as_str(), outcome }).inc();
    }

    fn waited(&self, platform: PlatformId, reason: &'static str, wait: Duration) {
        self.platform_wait_seconds.get_or_create(&WaitLabel { platform: platform.as_str(), reason }).inc_by(wait.as_secs_f64());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
