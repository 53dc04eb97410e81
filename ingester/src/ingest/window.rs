//! Which timestamps an object's rows may carry, judged against one fixed
//! moment per object (its `as_of`, the first claim's time, kept in the
//! ledger), so that every attempt at a chunk keeps, counts and rejects the
//! same rows (DESIGN.md, "Rows outside the retention").

use adhouse_core::Settings;
use adhouse_core::schema::ttl::{self, TableTtl};
use adhouse_core::settings::SchemaSettings;
use time::{Duration, OffsetDateTime};

use crate::mapping::Rejection;

/// The settings a [`TimeWindow`] is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimits {
    /// `schema.events_ttl_days`: `events` drops rows older than this at once,
    /// and `events_1m` with it, while the hour and day rollups would keep them.
    pub events_ttl_days: u32,
    /// `ingest.timestamp_max_age_days`: older is a mistake, not data.
    pub max_age_days: u32,
    /// `ingest.timestamp_max_ahead_secs`: later than this ahead is a mistake.
    pub max_ahead_secs: u32,
}

impl TimeLimits {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            events_ttl_days: settings.schema.events_ttl_days,
            max_age_days: settings.ingest.timestamp_max_age_days,
            max_ahead_secs: settings.ingest.timestamp_max_ahead_secs,
        }
    }

    /// `self` with `events_ttl_days` no longer than the TTL `events` really
    /// has: a row counted as stored must be in `events`, and a setting
    /// raised without a migration does not reach the table.
    pub async fn within_table_ttl(self, client: &clickhouse::Client, schema: &SchemaSettings) -> clickhouse::error::Result<Self> {
        let mut limits = self;
        let ttl = ttl::read(client, schema, &["events"]).await?.remove("events");
        match ttl {
            Some(TableTtl::Days(days)) if days < limits.events_ttl_days => {
                tracing::warn!(
                    setting = limits.events_ttl_days,
                    table_ttl_days = days,
                    "events keeps {days} days, schema.events_ttl_days says {}: rows older than {days} days are counted \
                     as expired, not stored (migrations render a TTL once; to apply the setting, add a migration \
                     `ALTER TABLE events MODIFY TTL toDateTime(ts) + toIntervalDay({})`)",
                    limits.events_ttl_days,
                    limits.events_ttl_days
                );
                limits.events_ttl_days = days;
            }
            Some(TableTtl::Unknown) => tracing::warn!(
                setting = limits.events_ttl_days,
                "events has a TTL of a shape adhouse does not read: rows are judged by schema.events_ttl_days alone"
            ),
            _ => {}
        }
        Ok(limits)
    }

    /// Each setting `now` gives another value than `self`, as `key then → now`.
    pub fn changes(&self, now: &Self) -> Vec<String> {
        [
            ("schema.events_ttl_days", self.events_ttl_days, now.events_ttl_days),
            ("ingest.timestamp_max_age_days", self.max_age_days, now.max_age_days),
            ("ingest.timestamp_max_ahead_secs", self.max_ahead_secs, now.max_ahead_secs),
        ]
        .into_iter()
        .filter(|(_, then, now)| then != now)
        .map(|(key, then, now)| format!("{key} {then} → {now}"))
        .collect()
    }
}

/// The timestamps one object's rows are judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// The moment it is judged from: the object's first claim.
    as_of: OffsetDateTime,
    /// Earlier is implausible: a bad row.
    earliest: OffsetDateTime,
    /// Earlier (and plausible) is past the raw retention: counted, not stored.
    retained_from: OffsetDateTime,
    /// Later is implausible: a bad row.
    latest: OffsetDateTime,
}

/// What a row's timestamp makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Older than the raw retention: stored nowhere, counted in `rows_expired`.
    Expired,
    /// Implausibly old or ahead: an `ingest_errors` row.
    OutOfRange(Rejection),
}

impl TimeWindow {
    /// The window of an object whose rows are judged as of `as_of`.
    pub fn new(as_of: OffsetDateTime, limits: TimeLimits) -> Self {
        let earliest = as_of - Duration::days(i64::from(limits.max_age_days));
        Self {
            as_of,
            earliest,
            retained_from: (as_of - Duration::days(i64::from(limits.events_ttl_days))).max(earliest),
            latest: as_of + Duration::seconds(i64::from(limits.max_ahead_secs)),
        }
    }

    /// Every timestamp kept (the benchmark's and the parsers' tests).
    pub fn unbounded() -> Self {
        let (earliest, latest) = (OffsetDateTime::UNIX_EPOCH - Duration::days(1 << 20), OffsetDateTime::UNIX_EPOCH + Duration::days(1 << 20));
        Self { as_of: OffsetDateTime::UNIX_EPOCH, earliest, retained_from: earliest, latest }
    }

    pub fn as_of(&self) -> OffsetDateTime {
        self.as_of
    }

    /// The first instant whose rows are stored.
    pub fn retained_from(&self) -> OffsetDateTime {
        self.retained_from
    }

    pub fn judge(&self, ts: OffsetDateTime) -> Verdict {
        if ts < self.earliest || ts > self.latest {
            let detail = format!(
                "timestamp {} is outside {} .. {}; is the time unit or format right?",
                rfc3339(ts),
                rfc3339(self.earliest),
                rfc3339(self.latest)
            );
            Verdict::OutOfRange(Rejection::new("timestamp_out_of_range", detail))
        } else if ts < self.retained_from {
            Verdict::Expired
        } else {
            Verdict::Keep
        }
    }
}

/// `2025-01-31T12:00:00.000Z`, for messages.
pub fn rfc3339(ts: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    ts.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_else(|_| ts.to_string())
}
