//! Ingestion of one S3 object version, exactly once (DESIGN.md): claim it in
//! the ledger (`claim`), cut it into chunks (`chunks`), and commit it chunk
//! by chunk (`commit`, its rows through `events_insert`), the next chunk
//! read while one is committed (`read_ahead`).

mod chunks;
mod claim;
mod commit;
mod events_insert;
mod in_flight;
mod read_ahead;
mod window;

use std::sync::Arc;
use std::time::Instant;

use adhouse_core::settings::SchemaSettings;
use clickhouse::Client;
use time::OffsetDateTime;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

pub use self::chunks::ObjectChunks;
pub use self::commit::{ChunkRows, Fate, Scratch, dedup_token, fate, token_stem, write_rows};
pub use self::events_insert::EventsInsert;
pub use self::read_ahead::ReadAhead;
pub use self::window::{TimeLimits, TimeWindow, Verdict, rfc3339};
use self::claim::{Claim, Pins, claim};
use self::commit::{commit_chunk, observe};
use self::in_flight::InFlightSet;
use crate::error::{Error, ErrorKind, StreamError};
use crate::formats;
use crate::ledger::{FileStatus, Ledger, LedgerEntry};
use crate::mapping::{ObjectContext, Source, source_for};
use crate::metrics::{Metrics, SourceLabel};
use crate::s3_event::ObjectCreated;
use crate::store::{Body, S3Store};

/// How an object ended; every outcome but an error lets its message go,
/// except `OwnedElsewhere` and `Released`, whose objects are unfinished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// All rows committed now; `rows_expired` were older than the raw
    /// retention and stored nowhere.
    Done { rows_ok: u64, rows_bad: u64, rows_expired: u64 },
    /// Committed earlier (a duplicate or redelivered message).
    AlreadyDone,
    /// No configured source claims the key (e.g. a manifest next to logs).
    NoSource,
    /// The object was replaced or deleted since the event (its successor has
    /// an event of its own); its ledger entry says `superseded`.
    Superseded,
    /// Another live worker owns it; the message should come back later.
    OwnedElsewhere,
    /// Stopped between chunks (shutdown, or the message was lost): progress
    /// is saved, the next owner resumes.
    Released,
    /// The object is unreadable as a whole; the reason is in the ledger.
    Failed(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Done { .. } => "done",
            Self::AlreadyDone => "already_done",
            Self::NoSource => "no_source",
            Self::Superseded => "superseded",
            Self::OwnedElsewhere => "owned_elsewhere",
            Self::Released => "released",
            Self::Failed(_) => "failed",
        }
    }

    /// Whether the message announcing the object may be deleted.
    pub fn acknowledges(&self) -> bool {
        matches!(self, Self::Done { .. } | Self::AlreadyDone | Self::NoSource | Self::Superseded)
    }
}

pub struct Ingestor {
    client: Client,
    ledger: Ledger,
    store: S3Store,
    sources: Arc<Vec<Source>>,
    metrics: Arc<Metrics>,
    worker_id: String,
    /// What the settings give a new object; a resumed one keeps its own.
    configured: Pins,
    schema: SchemaSettings,
    /// `configured` within the TTL `events` really has ([`Ingestor::pins`]).
    pins: OnceCell<Pins>,
    takeover_after: time::Duration,
    in_flight: InFlightSet,
}

impl Ingestor {
    pub fn new(
        client: Client,
        store: S3Store,
        sources: Arc<Vec<Source>>,
        metrics: Arc<Metrics>,
        worker_id: String,
        settings: &adhouse_core::Settings,
    ) -> Self {
        let limits = TimeLimits::from_settings(settings);
        let schema = settings.schema.clone();
        let settings = &settings.ingest;
        Self {
            ledger: Ledger::new(client.clone()),
            client,
            store,
            sources,
            metrics,
            worker_id,
            configured: Pins { chunk_lines: settings.chunk_lines as u32, limits },
            schema,
            pins: OnceCell::new(),
            takeover_after: time::Duration::seconds(i64::from(settings.takeover_after_secs)),
            in_flight: InFlightSet::default(),
        }
    }

    /// What a new object pins: the settings, with the TTL `events` really
    /// has (`TimeLimits::within_table_ttl`), read at the first claim rather
    /// than at start-up, when ClickHouse may be down, and then kept.
    async fn pins(&self) -> clickhouse::error::Result<Pins> {
        let read = || async {
            let limits = self.configured.limits.within_table_ttl(&self.client, &self.schema).await?;
            Ok::<_, clickhouse::error::Error>(Pins { limits, ..self.configured })
        };
        self.pins.get_or_try_init(read).await.copied()
    }

    /// Ingests one object version. Between chunks, `cancel` releases it.
    /// An `Err` is always [`ErrorKind::Retryable`]: an unreadable object is
    /// the outcome `Failed`, recorded in the ledger.
    pub async fn ingest(&self, object: &ObjectCreated, cancel: &CancellationToken) -> Result<Outcome, Error> {
        let outcome = match self.in_flight.enter(object) {
            Some(_guard) => self.claim_and_stream(object, cancel).await,
            None => Ok(Outcome::OwnedElsewhere),
        };
        match &outcome {
            Ok(outcome) => {
                self.metrics.object(outcome.label());
                tracing::info!(bucket = %object.bucket, key = %object.key, outcome = outcome.label(), "object handled");
            }
            Err(err) => {
                self.metrics.object("error");
                tracing::warn!(bucket = %object.bucket, key = %object.key, "object will be retried: {err}");
            }
        }
        outcome
    }

    async fn claim_and_stream(&self, object: &ObjectCreated, cancel: &CancellationToken) -> Result<Outcome, Error> {
        let Some((source, key_tenant)) = source_for(&self.sources, &object.bucket, &object.key) else {
            return Ok(Outcome::NoSource);
        };
        let pins = self.pins().await?;
        let mut entry = match claim(&self.ledger, object, source, key_tenant, &self.worker_id, self.takeover_after, pins).await? {
            Claim::Owned(entry) => *entry,
            Claim::AlreadyDone => return Ok(Outcome::AlreadyDone),
            Claim::OwnedElsewhere => return Ok(Outcome::OwnedElsewhere),
        };
        let Some(body) = self.store.get(&object.bucket, &object.key, &object.etag).await? else {
            return self.supersede(object, &mut entry).await;
        };
        let file = format!("s3://{}/{}", object.bucket, object.key);
        let context = ObjectContext { tenant: key_tenant, source: &source.name, file: &file };
        let streamed = self.stream(object, source, context, body, &mut entry, cancel).await;
        match streamed.map_err(|err| err.about(&object.bucket, &object.key)) {
            Ok(Streamed::Complete) => {
                entry.status = FileStatus::Done;
                self.ledger.put(&mut entry).await?;
                let lag = OffsetDateTime::now_utc() - object.event_time;
                self.metrics.freshness_seconds.observe(lag.as_seconds_f64().max(0.0));
                if entry.rows_expired > 0 {
                    self.warn_expired(&file, &entry);
                }
                Ok(Outcome::Done { rows_ok: entry.rows_ok, rows_bad: entry.rows_bad, rows_expired: entry.rows_expired })
            }
            Ok(Streamed::Cancelled) => {
                entry.owner.clear();
                self.ledger.put(&mut entry).await?;
                Ok(Outcome::Released)
            }
            Err(Error::Unreadable { reason, .. }) => {
                entry.status = FileStatus::Failed;
                entry.error = reason.0.clone();
                self.ledger.put(&mut entry).await?;
                tracing::error!(%file, next_chunk = entry.next_chunk, "object failed: {reason}");
                Ok(Outcome::Failed(reason.0))
            }
            Err(err) => {
                debug_assert_eq!(err.kind(), ErrorKind::Retryable);
                Err(err)
            }
        }
    }

    /// Ends the entry of a version S3 no longer has, released, in a state
    /// that says so: left `processing`, it would look in progress for ever.
    /// What it committed stays in `events`, and its counts say how much.
    async fn supersede(&self, object: &ObjectCreated, entry: &mut LedgerEntry) -> Result<Outcome, Error> {
        entry.status = FileStatus::Superseded;
        entry.owner.clear();
        entry.error = format!(
            "s3://{}/{} no longer has ETag {}: it was overwritten or deleted after {} of its chunks were committed",
            object.bucket, object.key, object.etag, entry.next_chunk
        );
        self.ledger.put(entry).await?;
        if entry.next_chunk > 0 {
            tracing::warn!(rows_ok = entry.rows_ok, rows_bad = entry.rows_bad, "{}; those rows stay in events", entry.error);
        }
        Ok(Outcome::Superseded)
    }

    /// The one line per object that says rows were left out, which
    /// retention left them out, and what to do about it.
    fn warn_expired(&self, file: &str, entry: &LedgerEntry) {
        let limits = entry.time_limits(self.configured.limits);
        let retained_from = TimeWindow::new(entry.as_of, limits).retained_from();
        tracing::warn!(
            %file,
            rows_expired = entry.rows_expired,
            rows_ok = entry.rows_ok,
            "{} rows dated before {} are older than schema.events_ttl_days ({} days before the object was first \
             claimed) and were stored neither in events nor in any rollup. If the dates are wrong (a time unit or \
             format), fix the source's mapping, bump its mapping_version and re-ingest; to load old logs (a \
             backfill), raise schema.events_ttl_days and the events TTL with a migration first. \
             `adhouse-ingester replay --dry-run s3://...` shows what an object would store.",
            entry.rows_expired,
            rfc3339(retained_from),
            limits.events_ttl_days,
        );
    }

    /// Streams the object through the chunker, committing each chunk from
    /// `entry.next_chunk` on. On an error the committed chunks stay, exactly
    /// once, and `entry` says where a retry resumes.
    async fn stream(
        &self,
        object: &ObjectCreated,
        source: &Source,
        context: ObjectContext<'_>,
        body: Body,
        entry: &mut LedgerEntry,
        cancel: &CancellationToken,
    ) -> Result<Streamed, StreamError> {
        let mut parser = formats::parser(source)?;
        let chunk_lines = entry.chunking(self.configured.chunk_lines);
        let mut chunks =
            ObjectChunks::open(source, body, chunk_lines as usize, parser.quoted_fields(), entry.next_chunk).await?;
        let label = SourceLabel { source: source.name.clone() };
        // The claim pinned the limits in the entry.
        let window = TimeWindow::new(entry.as_of, entry.time_limits(self.configured.limits));
        let mut bytes_seen = 0;
        loop {
            if cancel.is_cancelled() {
                return Ok(Streamed::Cancelled);
            }
            let Some(chunk) = chunks.next_chunk().await? else {
                return Ok(Streamed::Complete);
            };
            self.metrics.bytes.get_or_create(&label).inc_by(chunks.bytes_read() - bytes_seen);
            bytes_seen = chunks.bytes_read();
            if chunk.index < u64::from(entry.next_chunk) {
                // Committed before a takeover or retry: only headers matter.
                observe(parser.as_mut(), &chunk)?;
                continue;
            }
            let token = dedup_token(&entry.token_stem, chunk.index);
            let started = Instant::now();
            let committed =
                commit_chunk(&self.client, object, source, context, &window, parser.as_mut(), &chunk, &token).await?;
            self.metrics.insert_seconds.observe(started.elapsed().as_secs_f64());
            entry.next_chunk = chunk.index as u32 + 1;
            entry.rows_ok += committed.rows_ok;
            entry.rows_bad += committed.rows_bad;
            entry.rows_expired += committed.rows_expired;
            // A crash before this write re-sends the chunk, which ClickHouse
            // drops as a duplicate of its token.
            self.ledger.put(entry).await?;
            // Counted once recorded: a failed ledger write is retried from
            // the ledger, which re-sends (and would re-count) the chunk.
            self.metrics.rows_ok.get_or_create(&label).inc_by(committed.rows_ok);
            self.metrics.rows_bad.get_or_create(&label).inc_by(committed.rows_bad);
            self.metrics.rows_expired.get_or_create(&label).inc_by(committed.rows_expired);
        }
    }
}

/// How far [`Ingestor::stream`] got.
enum Streamed {
    Complete,
    Cancelled,
}
