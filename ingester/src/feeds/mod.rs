//! Live-metrics feeds: one scheduler per feed polls the partner's reporting
//! API every `interval_secs`, re-reading the last `reread_hours`, and stores
//! the window's rows, its quarantined rows and the feed's status.
//!
//! Several ingester processes run every feed's scheduler, and nothing stops
//! two from polling the same feed at once: that is harmless by design.
//! Rows are versioned by the poll's start time in a ReplacingMergeTree read
//! with FINAL (`partner_metrics`), so two polls of one window leave one row
//! per period, the later fetch's; the status row is versioned likewise. The
//! price is duplicate requests to the partner, one per process and interval.
//!
//! A failed poll (timeouts, 429s and 5xx past the HTTP layer's own retries,
//! a malformed page, schema drift, ClickHouse down) stores no rows, marks
//! the feed `failing` with the error and is tried again after a backoff
//! (5 s doubling, at most the interval). A poll reads from `reread_hours`
//! before the last successful one, so the first poll after an outage (the
//! partner's, or the ingester's own) reads all it missed, up to
//! `catch_up_hours` back; periods beyond are logged and counted as missed.

use std::sync::Arc;
use std::time::Duration;

use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::partners::store::{FeedStatus, PartnerStore, PollOf};
use adhouse_connectors::partners::{Feed, Window};
use adhouse_core::Settings;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::metrics::Metrics;

/// Attempts of one request within a poll (the HTTP layer's retries).
const REQUEST_ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_secs(5);

/// What a successful poll stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    pub window: Window,
    /// Periods beyond `catch_up_hours` since the last successful poll: never read.
    pub missed: Option<Window>,
    pub rows: u64,
    /// Rows stored before that the partner no longer reports, stored as zeros.
    pub vanished: u64,
    pub quarantined: u64,
    pub requests: u32,
}

/// The feeds of `settings` (already validated), each on its own HTTP client.
pub fn feeds(settings: &Settings) -> Result<Vec<Arc<Feed>>, adhouse_core::Error> {
    let partners = &settings.partners;
    partners
        .feeds
        .iter()
        .enumerate()
        .map(|(i, feed)| {
            let timeout = Duration::from_secs(u64::from(feed.request_timeout_secs));
            let http = Http::new(timeout, REQUEST_ATTEMPTS, Pacer::default());
            Feed::new(&format!("partners.feeds[{i}]"), feed.clone(), http).map(Arc::new)
        })
        .collect()
}

pub struct Poller {
    store: PartnerStore,
    metrics: Arc<Metrics>,
}

impl Poller {
    pub fn new(store: PartnerStore, metrics: Arc<Metrics>) -> Self {
        Self { store, metrics }
    }

    /// Polls `feed` once for the window ending now and records the outcome
    /// in `partner_feed_status`, the metrics and one log line.
    pub async fn poll(&self, feed: &Feed) -> Result<PollReport, Error> {
        let s = &feed.settings;
        let started = OffsetDateTime::now_utc();
        // Unreadable (ClickHouse down), the poll reads the recent window and the failure count restarts;
        // storing fails then too.
        let previous = self.store.status(&s.tenant, &s.name).await.ok().flatten();
        let last_success = previous.as_ref().and_then(|status| status.last_success_at);
        let (window, missed) = Window::to_poll(started, last_success, (s.reread_hours, s.catch_up_hours()), s.grain);
        let poll = PollOf { tenant: &s.tenant, feed: &s.name, grain: s.grain.as_str(), fetched_at: started };
        let outcome = self.fetch_and_store(feed, poll, (window, missed)).await;
        let status = FeedStatus::after_poll(
            previous.as_ref(),
            (&s.tenant, &s.name),
            window,
            started,
            outcome.as_ref().map_or(0, |report| report.requests),
            outcome.as_ref().map(|report| (report.rows, report.quarantined)).map_err(ToString::to_string),
        );
        self.metrics.feed_poll(&s.name, &status);
        if let (Ok(_), Some(missed)) = (&outcome, missed) {
            let hours = (missed.end - missed.start).whole_hours();
            self.metrics.feed_hours_missed(&s.name, hours.unsigned_abs());
            tracing::error!(
                feed = %s.name,
                from = %missed.start,
                until = %missed.end,
                hours,
                "the feed was not polled successfully for longer than catch_up_hours: these periods were never read; \
                 raise partners.feeds[].catch_up_hours (if the partner serves that far back) and poll again"
            );
        }
        match &outcome {
            Ok(report) => tracing::info!(
                feed = %s.name,
                rows = report.rows,
                vanished = report.vanished,
                quarantined = report.quarantined,
                requests = report.requests,
                window_start = %window.start,
                "feed polled"
            ),
            Err(err) => tracing::warn!(feed = %s.name, failures = status.consecutive_failures, "feed poll failed: {err}"),
        }
        // The status is what the API shows; a failure to write it fails the poll too.
        self.store.put_status(&status).await?;
        outcome
    }

    /// Rows first (with zeros for what vanished from the window, in the same
    /// insert), then the quarantine: a crash between the two leaves the
    /// quarantine to the next poll, which meets the same bad rows again.
    async fn fetch_and_store(&self, feed: &Feed, poll: PollOf<'_>, (window, missed): (Window, Option<Window>)) -> Result<PollReport, Error> {
        let mut fetched = feed.fetch(window).await?;
        let rows = fetched.rows.len() as u64;
        let vanished = self.store.vanished(poll, window, &fetched.rows, &fetched.quarantined).await?;
        let vanished_count = vanished.len() as u64;
        fetched.rows.extend(vanished);
        self.store.put_rows(poll, &fetched.rows).await?;
        self.store.quarantine(poll, &fetched.quarantined).await?;
        Ok(PollReport { window, missed, rows, vanished: vanished_count, quarantined: fetched.quarantined.len() as u64, requests: fetched.requests })
    }

    /// Polls `feed` until `stop`: every interval from the start of the last
    /// poll, or after the backoff when it failed.
    pub async fn run(&self, feed: &Feed, stop: CancellationToken) {
        let interval = Duration::from_secs(u64::from(feed.settings.interval_secs));
        let mut backoff = FIRST_BACKOFF;
        loop {
            let started = tokio::time::Instant::now();
            let wait = match self.poll(feed).await {
                Ok(_) => {
                    backoff = FIRST_BACKOFF;
                    interval.saturating_sub(started.elapsed())
                }
                Err(_) => {
                    let wait = backoff.min(interval);
                    backoff = (backoff * 2).min(interval);
                    wait
                }
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
