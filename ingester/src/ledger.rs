//! The `ingest_files` ledger: one row per state change of an S3 object
//! version, the latest winning (ReplacingMergeTree on `updated_at`).
//!
//! The ledger is advisory for ownership (ClickHouse has no transactions)
//! and authoritative for completion: rows are exact because every chunk
//! insert carries a de-duplication token, whoever sends it (DESIGN.md).

use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};
use time::OffsetDateTime;

use crate::ingest::TimeLimits;

/// `ingest_files.status`; discriminants are the schema's Enum8 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_repr, Deserialize_repr)]
#[repr(i8)]
pub enum FileStatus {
    Processing = 1,
    Done = 2,
    Failed = 3,
    /// S3 no longer has this version (overwritten or deleted): final as far
    /// as the ledger knows, its rows counted so far stay in `events`.
    Superseded = 4,
}

#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub size_bytes: u64,
    pub source: String,
    pub tenant: String,
    pub status: FileStatus,
    /// Worker id of the owner; empty when released.
    pub owner: String,
    pub next_chunk: u32,
    /// Records per chunk, fixed when the object was first claimed; 0 for an
    /// entry from before that was recorded (see [`LedgerEntry::chunking`]).
    pub chunk_lines: u32,
    /// What every chunk token of the object is made of, fixed at its first
    /// claim ([`crate::ingest::token_stem`]); empty for an entry from before
    /// it was recorded, until its next claim pins one.
    pub token_stem: String,
    pub rows_ok: u64,
    pub rows_bad: u64,
    /// Rows older than the raw retention as of `as_of`: stored nowhere.
    pub rows_expired: u64,
    pub attempts: u32,
    pub error: String,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub event_time: OffsetDateTime,
    /// The moment this object's rows are judged against (retention, plausible
    /// timestamps): its first claim, never changed afterwards, so that every
    /// attempt at a chunk makes the same rows. Entries from before migration
    /// 0007 read their `event_time` here.
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub as_of: OffsetDateTime,
    /// The [`TimeLimits`] rows are judged by, fixed at the first claim like
    /// `as_of`; 0 (in all three) for an entry from before migration 0018,
    /// until its next claim pins them (see [`LedgerEntry::time_limits`]).
    pub events_ttl_days: u32,
    pub timestamp_max_age_days: u32,
    pub timestamp_max_ahead_secs: u32,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub started_at: OffsetDateTime,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub updated_at: OffsetDateTime,
}

impl LedgerEntry {
    /// Records per chunk for this object. An entry without a recorded size
    /// predates migration 0005: it was chunked with the setting in force,
    /// which is the best guess there is and what earlier versions assumed.
    pub fn chunking(&self, configured: u32) -> u32 {
        if self.chunk_lines == 0 { configured } else { self.chunk_lines }
    }

    /// The limits this object's rows are judged by. An entry without
    /// recorded ones predates migration 0018 (`schema.events_ttl_days` is at
    /// least 1): the settings in force are the best guess there is, and
    /// what earlier versions assumed.
    pub fn time_limits(&self, configured: TimeLimits) -> TimeLimits {
        if self.events_ttl_days == 0 {
            return configured;
        }
        TimeLimits {
            events_ttl_days: self.events_ttl_days,
            max_age_days: self.timestamp_max_age_days,
            max_ahead_secs: self.timestamp_max_ahead_secs,
        }
    }

    /// Records `limits` as the ones this object's rows are judged by.
    pub fn pin_time_limits(&mut self, limits: TimeLimits) {
        self.events_ttl_days = limits.events_ttl_days;
        self.timestamp_max_age_days = limits.max_age_days;
        self.timestamp_max_ahead_secs = limits.max_ahead_secs;
    }
}

#[derive(Clone)]
pub struct Ledger {
    client: Client,
}

impl Ledger {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The latest entry of an object version, if it was ever seen.
    pub async fn get(&self, bucket: &str, key: &str, etag: &str) -> clickhouse::error::Result<Option<LedgerEntry>> {
        self.client
            .query("SELECT ?fields FROM ingest_files FINAL WHERE bucket = {bucket:String} AND key = {key:String} AND etag = {etag:String}")
            .param("bucket", bucket)
            .param("key", key)
            .param("etag", etag)
            .fetch_optional()
            .await
    }

    /// Records `entry` as the object's current state, stamped now. Each write
    /// is a new row; `updated_at` orders them.
    pub async fn put(&self, entry: &mut LedgerEntry) -> clickhouse::error::Result<()> {
        // Strictly increasing even when two writes fall in one millisecond.
        let now = OffsetDateTime::now_utc();
        entry.updated_at = now.max(entry.updated_at + time::Duration::milliseconds(1));
        let mut insert = self.client.insert::<LedgerEntry>("ingest_files").await?;
        insert.write(entry).await?;
        insert.end().await
    }
}
