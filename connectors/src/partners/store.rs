//! Partner rows, feed health and the quarantine in ClickHouse
//! (schema/0010_partner_metrics.sql). Every table keeps versions; reads take
//! the latest (`FINAL`).

use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};
use time::OffsetDateTime;

use super::{KeyOf, PartnerRow, Quarantined, Window};
use crate::error::Result;

/// `partner_feed_status.status`; discriminants are the schema's Enum8 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_repr, Deserialize_repr)]
#[repr(i8)]
pub enum FeedState {
    Ok = 1,
    Failing = 2,
}

impl FeedState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failing => "failing",
        }
    }
}

/// A feed's health as stored after every poll.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct FeedStatus {
    pub tenant: String,
    pub feed: String,
    pub status: FeedState,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub last_attempt_at: OffsetDateTime,
    #[serde(with = "clickhouse::serde::time::datetime64::millis::option")]
    pub last_success_at: Option<OffsetDateTime>,
    pub last_error: String,
    pub consecutive_failures: u32,
    #[serde(with = "clickhouse::serde::time::datetime")]
    pub window_start: OffsetDateTime,
    #[serde(with = "clickhouse::serde::time::datetime")]
    pub window_end: OffsetDateTime,
    pub rows_stored: u64,
    pub rows_quarantined: u64,
    pub requests: u32,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub updated_at: OffsetDateTime,
}

#[derive(Row, Serialize)]
struct MetricRecord<'a> {
    tenant: &'a str,
    feed: &'a str,
    partner: &'a str,
    grain: &'a str,
    #[serde(with = "clickhouse::serde::time::datetime")]
    period_start: OffsetDateTime,
    publisher_id: &'a str,
    placement_id: &'a str,
    country: &'a str,
    currency: &'a str,
    impressions: u64,
    revenue_micros: i64,
    extra: Vec<(&'a str, i64)>,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    fetched_at: OffsetDateTime,
}

#[derive(Row, Serialize)]
struct QuarantineRecord<'a> {
    tenant: &'a str,
    feed: &'a str,
    reason: &'a str,
    detail: &'a str,
    excerpt: &'a str,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    fetched_at: OffsetDateTime,
}

/// Who a batch of rows is from: the poll's feed and its fetch time (the version).
#[derive(Debug, Clone, Copy)]
pub struct PollOf<'a> {
    pub tenant: &'a str,
    pub feed: &'a str,
    pub grain: &'a str,
    pub fetched_at: OffsetDateTime,
}

#[derive(Clone)]
pub struct PartnerStore {
    client: Client,
}

impl PartnerStore {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Stores one window's rows as the newest version of their periods.
    /// A failure stores nothing the next poll would not write again.
    pub async fn put_rows(&self, poll: PollOf<'_>, rows: &[PartnerRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = self.client.insert::<MetricRecord<'static>>("partner_metrics").await?;
        for row in rows {
            insert
                .write(&MetricRecord {
                    tenant: poll.tenant,
                    feed: poll.feed,
                    partner: &row.partner,
                    grain: poll.grain,
                    period_start: row.period_start,
                    publisher_id: &row.publisher_id,
                    placement_id: &row.placement_id,
                    country: &row.country,
                    currency: &row.currency,
                    impressions: row.impressions,
                    revenue_micros: row.revenue_micros,
                    extra: row.extra.iter().map(|(name, value)| (name.as_str(), *value)).collect(),
                    fetched_at: poll.fetched_at,
                })
                .await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// Sets `rows` aside with their reasons.
    pub async fn quarantine(&self, poll: PollOf<'_>, rows: &[Quarantined]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = self.client.insert::<QuarantineRecord<'static>>("partner_quarantine").await?;
        for row in rows {
            insert
                .write(&QuarantineRecord {
                    tenant: poll.tenant,
                    feed: poll.feed,
                    reason: row.reason,
                    detail: &row.detail,
                    excerpt: &row.excerpt,
                    fetched_at: poll.fetched_at,
                })
                .await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// Rows of `window` the partner no longer reports: keys stored with a
    /// non-zero value for the feed there that `fetched` lacks, as rows of
    /// zeros in their old currency. Stored with the fetch, they replace the
    /// stale values, so a re-read window replaces per period, not only per key.
    /// A row sent but unreadable (`quarantined`) is not gone: its key keeps
    /// its numbers, and when a row's key itself is unreadable it may be any
    /// key, so nothing is zeroed until a poll reads every key.
    pub async fn vanished(&self, poll: PollOf<'_>, window: Window, fetched: &[PartnerRow], quarantined: &[Quarantined]) -> Result<Vec<PartnerRow>> {
        if quarantined.iter().any(|row| row.key.is_none()) {
            return Ok(Vec::new());
        }
        #[derive(Row, Deserialize)]
        struct Key {
            partner: String,
            #[serde(with = "clickhouse::serde::time::datetime")]
            period_start: OffsetDateTime,
            publisher_id: String,
            placement_id: String,
            country: String,
            currency: String,
        }
        let sql = "SELECT partner, period_start, publisher_id, placement_id, country, currency FROM partner_metrics FINAL \
                   WHERE tenant = {tenant:String} AND feed = {feed:String} \
                   AND period_start >= toDateTime({start:Int64}, 'UTC') AND period_start < toDateTime({end:Int64}, 'UTC') \
                   AND (impressions != 0 OR revenue_micros != 0 OR notEmpty(extra))";
        let stored: Vec<Key> = self
            .client
            .query(sql)
            .param("tenant", poll.tenant)
            .param("feed", poll.feed)
            .param("start", window.start.unix_timestamp())
            .param("end", window.end.unix_timestamp())
            .fetch_all()
            .await?;
        let present: std::collections::BTreeSet<_> =
            fetched.iter().map(PartnerRow::key).chain(quarantined.iter().filter_map(|row| row.key.as_deref().map(KeyOf::key))).collect();
        Ok(stored
            .into_iter()
            .filter(|key| !present.contains(&(&*key.partner, key.period_start, &*key.publisher_id, &*key.placement_id, &*key.country)))
            .map(|key| PartnerRow {
                partner: key.partner,
                period_start: key.period_start,
                publisher_id: key.publisher_id,
                placement_id: key.placement_id,
                country: key.country,
                currency: key.currency,
                impressions: 0,
                revenue_micros: 0,
                extra: Vec::new(),
            })
            .collect())
    }

    pub async fn put_status(&self, status: &FeedStatus) -> Result<()> {
        let mut insert = self.client.insert::<FeedStatus>("partner_feed_status").await?;
        insert.write(status).await?;
        insert.end().await?;
        Ok(())
    }

    /// The latest status of `feed`, if it was ever polled.
    pub async fn status(&self, tenant: &str, feed: &str) -> Result<Option<FeedStatus>> {
        let sql = "SELECT ?fields FROM partner_feed_status FINAL WHERE tenant = {tenant:String} AND feed = {feed:String}";
        Ok(self.client.query(sql).param("tenant", tenant).param("feed", feed).fetch_optional().await?)
    }

    /// Every feed of `tenant`, by name.
    pub async fn statuses(&self, tenant: &str) -> Result<Vec<FeedStatus>> {
        let sql = "SELECT ?fields FROM partner_feed_status FINAL WHERE tenant = {tenant:String} ORDER BY feed";
        Ok(self.client.query(sql).param("tenant", tenant).fetch_all().await?)
    }
}

impl FeedStatus {
    /// The status after a poll of `window` that started at `attempt_at`:
    /// `outcome` is (rows stored, rows quarantined) or the error; `previous`
    /// carries the last success and the failure count forward.
    pub fn after_poll(
        previous: Option<&FeedStatus>,
        (tenant, feed): (&str, &str),
        window: Window,
        attempt_at: OffsetDateTime,
        requests: u32,
        outcome: std::result::Result<(u64, u64), String>,
    ) -> Self {
        let last_success_at = previous.and_then(|status| status.last_success_at);
        let (status, last_success_at, last_error, consecutive_failures, rows_stored, rows_quarantined) = match outcome {
            Ok((stored, quarantined)) => (FeedState::Ok, Some(attempt_at), String::new(), 0, stored, quarantined),
            Err(error) => {
                let failures = previous.map_or(0, |status| status.consecutive_failures) + 1;
                (FeedState::Failing, last_success_at, error, failures, 0, 0)
            }
        };
        Self {
            tenant: tenant.to_owned(),
            feed: feed.to_owned(),
            status,
            last_attempt_at: attempt_at,
            last_success_at,
            last_error,
            consecutive_failures,
            window_start: window.start,
            window_end: window.end,
            rows_stored,
            rows_quarantined,
            requests,
            updated_at: OffsetDateTime::now_utc(),
        }
    }
}
