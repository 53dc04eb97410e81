//! Prometheus metrics of the ingester. Each notable event increments one
//! counter here and logs one line where it happens.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use adhouse_connectors::http::{CallObserver, Remote};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
pub struct FeedLabel {
    pub feed: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedOutcomeLabel {
    pub feed: String,
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

pub struct Metrics {
    pub messages_received: Counter,
    pub messages_deleted: Counter,
    pub messages_failed: Counter,
    /// Objects by outcome: done, already_done, owned_elsewhere, no_source, superseded, failed, released, error.
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
    /// Stored daily rows a refetch no longer returned, replaced by zeros.
    pub platform_rows_zeroed: Family<PlatformLabel, Counter>,
    /// Platform API calls by platform and outcome (ok, retry, split, relink, fatal).
    pub platform_calls: Family<JobLabel, Counter>,
    /// Seconds not calling a platform, by reason (pacing from usage headers, retry backoff).
    pub platform_wait_seconds: Family<WaitLabel, Counter<f64, AtomicU64>>,
    /// Partner feed polls by feed and outcome (ok, failing).
    pub feed_polls: Family<FeedOutcomeLabel, Counter>,
    /// Partner rows stored, and rows quarantined, per feed.
    pub feed_rows: Family<FeedLabel, Counter>,
    pub feed_rows_quarantined: Family<FeedLabel, Counter>,
    /// Unix time of each feed's last successful poll (the data's "as of").
    pub feed_last_success: Family<FeedLabel, Gauge>,
    /// Polls failed in a row; 0 while the feed is healthy.
    pub feed_consecutive_failures: Family<FeedLabel, Gauge>,
    /// Hours an outage longer than `catch_up_hours` left unread.
    pub feed_hours_missed: Family<FeedLabel, Counter>,
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
            platform_rows_zeroed: Family::default(),
            platform_calls: Family::default(),
            platform_wait_seconds: Family::default(),
            feed_polls: Family::default(),
            feed_rows: Family::default(),
            feed_rows_quarantined: Family::default(),
            feed_last_success: Family::default(),
            feed_consecutive_failures: Family::default(),
            feed_hours_missed: Family::default(),
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
        r.register(
            "platform_rows_zeroed",
            "Stored daily platform rows a refetch of their day no longer returned, replaced by zeros",
            metrics.platform_rows_zeroed.clone(),
        );
        r.register("platform_calls", "Platform API calls, by platform and outcome", metrics.platform_calls.clone());
        r.register(
            "platform_wait_seconds",
            "Seconds spent not calling a platform: pacing (its usage headers) or retry (backoff after a failure)",
            metrics.platform_wait_seconds.clone(),
        );
        r.register("feed_polls", "Partner feed polls, by feed and outcome", metrics.feed_polls.clone());
        r.register("feed_rows", "Partner rows stored (each poll re-writes its window)", metrics.feed_rows.clone());
        r.register("feed_rows_quarantined", "Partner rows set aside in partner_quarantine", metrics.feed_rows_quarantined.clone());
        r.register("feed_last_success_timestamp_seconds", "Unix time of each feed's last successful poll", metrics.feed_last_success.clone());
        r.register("feed_consecutive_failures", "Polls of each feed failed in a row", metrics.feed_consecutive_failures.clone());
        r.register("feed_hours_missed", "Hours of each feed never read: an outage longer than its catch_up_hours", metrics.feed_hours_missed.clone());
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

    pub fn platform_rows_zeroed(&self, platform: &'static str, rows: u64) {
        self.platform_rows_zeroed.get_or_create(&PlatformLabel { platform }).inc_by(rows);
    }

    /// One poll of `feed`, as its status records it.
    pub fn feed_poll(&self, feed: &str, status: &adhouse_connectors::partners::store::FeedStatus) {
        let label = FeedLabel { feed: feed.to_owned() };
        self.feed_polls.get_or_create(&FeedOutcomeLabel { feed: feed.to_owned(), outcome: status.status.as_str() }).inc();
        self.feed_rows.get_or_create(&label).inc_by(status.rows_stored);
        self.feed_rows_quarantined.get_or_create(&label).inc_by(status.rows_quarantined);
        if let Some(at) = status.last_success_at {
            self.feed_last_success.get_or_create(&label).set(at.unix_timestamp());
        }
        self.feed_consecutive_failures.get_or_create(&label).set(i64::from(status.consecutive_failures));
    }

    pub fn feed_hours_missed(&self, feed: &str, hours: u64) {
        self.feed_hours_missed.get_or_create(&FeedLabel { feed: feed.to_owned() }).inc_by(hours);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

/// Ad-platform calls; feeds report their polls through their own metrics.
impl CallObserver for Metrics {
    fn call(&self, remote: &Remote, outcome: &'static str) {
        if let Remote::Platform(platform) = remote {
            self.platform_calls.get_or_create(&JobLabel { platform: platform.as_str(), outcome }).inc();
        }
    }

    fn waited(&self, remote: &Remote, reason: &'static str, wait: Duration) {
        if let Remote::Platform(platform) = remote {
            self.platform_wait_seconds.get_or_create(&WaitLabel { platform: platform.as_str(), reason }).inc_by(wait.as_secs_f64());
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use adhouse_connectors::partners::Window;
    use adhouse_connectors::partners::store::FeedStatus;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_feed_poll_is_counted_with_its_rows_freshness_and_failures() {
        let metrics = Metrics::new();
        let at = datetime!(2026-12-01 12:00 UTC);
        let window = Window { start: datetime!(2026-12-01 10:00 UTC), end: datetime!(2026-12-01 13:00 UTC) };
        let ok = FeedStatus::after_poll(None, ("acme", "f"), window, at, 3, Ok((96, 2)));
        metrics.feed_poll("f", &ok);
        metrics.feed_poll("f", &FeedStatus::after_poll(Some(&ok), ("acme", "f"), window, at, 0, Err("HTTP 503".into())));
        let text = metrics.encode();
        for line in [
            r#"adhouse_ingester_feed_polls_total{feed="f",outcome="ok"} 1"#,
            r#"adhouse_ingester_feed_polls_total{feed="f",outcome="failing"} 1"#,
            r#"adhouse_ingester_feed_rows_total{feed="f"} 96"#,
            r#"adhouse_ingester_feed_rows_quarantined_total{feed="f"} 2"#,
            r#"adhouse_ingester_feed_last_success_timestamp_seconds{feed="f"} 1796126400"#,
            r#"adhouse_ingester_feed_consecutive_failures{feed="f"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }
}
