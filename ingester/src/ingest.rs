//! Ingestion of one S3 object version, exactly once (DESIGN.md):
//! claim it in the ledger, stream it, and commit it chunk by chunk.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use adhouse_core::event::Event;
use clickhouse::insert::Insert;
use clickhouse::{Client, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use adhouse_core::settings::Format;

use crate::chunker::{Chunk, Chunker};
use crate::decode::{Decoded, decompress};
use crate::formats::parquet::RowGroupChunks;
use crate::formats::{self, FileError, ParseError, Parsed, RecordParser};
use crate::ledger::{FileStatus, Ledger, LedgerEntry};
use crate::mapping::{ObjectContext, Rejection, Source};
use crate::metrics::{Metrics, SourceLabel};
use crate::s3_event::ObjectCreated;
use crate::store::{Body, S3Store};

/// How an object ended; every outcome but `Retry` lets its message go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// All rows committed now.
    Done { rows_ok: u64, rows_bad: u64 },
    /// Committed earlier (a duplicate or redelivered message).
    AlreadyDone,
    /// No configured source claims the key (e.g. a manifest next to logs).
    NoSource,
    /// The object was replaced since the event; its successor has an event of its own.
    Superseded,
    /// Another live worker owns it; the message should come back later.
    OwnedElsewhere,
    /// Shutting down: progress is saved, the next owner resumes.
    Released,
    /// The object is unreadable as a whole; the reason is in the ledger.
    /// Leaving the message lets SQS retry it and finally dead-letter it.
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

/// A failure that may pass (ClickHouse or S3 unreachable, ...): the object
/// is retried through message redelivery.
#[derive(Debug, thiserror::Error)]
pub enum TransientError {
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error("S3 s3://{bucket}/{key}: {message}")]
    Store { bucket: String, key: String, message: String },
}

#[derive(Debug, Row, Serialize)]
struct IngestErrorRow<'a> {
    bucket: &'a str,
    key: &'a str,
    etag: &'a str,
    line: u64,
    reason: &'a str,
    detail: &'a str,
    excerpt: &'a str,
}

const EXCERPT_BYTES: usize = 1024;

pub struct Ingestor {
    client: Client,
    ledger: Ledger,
    store: S3Store,
    sources: Arc<Vec<Source>>,
    metrics: Arc<Metrics>,
    worker_id: String,
    chunk_lines: usize,
    takeover_after: time::Duration,
    /// Objects this process is ingesting now: the ledger cannot tell two
    /// tasks of one worker apart.
    in_flight: Mutex<HashSet<ObjectId>>,
}

impl Ingestor {
    pub fn new(
        client: Client,
        store: S3Store,
        sources: Arc<Vec<Source>>,
        metrics: Arc<Metrics>,
        worker_id: String,
        settings: &adhouse_core::settings::IngestSettings,
    ) -> Self {
        Self {
            ledger: Ledger::new(client.clone()),
            client,
            store,
            sources,
            metrics,
            worker_id,
            chunk_lines: settings.chunk_lines as usize,
            takeover_after: time::Duration::seconds(i64::from(settings.takeover_after_secs)),
            in_flight: Mutex::default(),
        }
    }

    /// Ingests one object version. Between chunks, `cancel` releases it.
    pub async fn ingest(&self, object: &ObjectCreated, cancel: &CancellationToken) -> Result<Outcome, TransientError> {
        let outcome = match InFlight::enter(&self.in_flight, object) {
            Some(_guard) => self.ingest_inner(object, cancel).await,
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

    async fn ingest_inner(&self, object: &ObjectCreated, cancel: &CancellationToken) -> Result<Outcome, TransientError> {
        let Some((source, key_tenant)) = self.source_of(object) else {
            return Ok(Outcome::NoSource);
        };
        let mut entry = match self.claim(object, source, key_tenant).await? {
            Ok(entry) => entry,
            Err(declined) => return Ok(declined),
        };
        let body = match self.store.get(&object.bucket, &object.key, &object.etag).await {
            Ok(Some(body)) => body,
            Ok(None) => return Ok(Outcome::Superseded),
            Err(message) => {
                return Err(TransientError::Store { bucket: object.bucket.clone(), key: object.key.clone(), message });
            }
        };
        let file = format!("s3://{}/{}", object.bucket, object.key);
        let context = ObjectContext { tenant: key_tenant, source: &source.name, file: &file };
        match self.stream(object, source, context, body, &mut entry, cancel).await? {
            Ok(true) => {
                entry.status = FileStatus::Done;
                self.ledger.put(&mut entry).await?;
                let lag = OffsetDateTime::now_utc() - object.event_time;
                self.metrics.freshness_seconds.observe(lag.as_seconds_f64().max(0.0));
                Ok(Outcome::Done { rows_ok: entry.rows_ok, rows_bad: entry.rows_bad })
            }
            Ok(false) => {
                entry.owner.clear();
                self.ledger.put(&mut entry).await?;
                Ok(Outcome::Released)
            }
            Err(reason) => {
                entry.status = FileStatus::Failed;
                entry.error.clone_from(&reason);
                self.ledger.put(&mut entry).await?;
                tracing::error!(%file, next_chunk = entry.next_chunk, "object failed: {reason}");
                Ok(Outcome::Failed(reason))
            }
        }
    }

    fn source_of<'o>(&self, object: &'o ObjectCreated) -> Option<(&Source, &'o str)> {
        self.sources.iter().find_map(|source| {
            let tenant = (source.bucket == object.bucket).then(|| source.pattern.matches(&object.key)).flatten()?;
            Some((source, tenant))
        })
    }

    /// Takes ownership of the object in the ledger, resuming from its next
    /// chunk. Declines with `AlreadyDone`, or `OwnedElsewhere` when a worker
    /// updated it within `takeover_after`.
    async fn claim(
        &self,
        object: &ObjectCreated,
        source: &Source,
        key_tenant: &str,
    ) -> Result<Result<LedgerEntry, Outcome>, TransientError> {
        let now = OffsetDateTime::now_utc();
        let previous = self.ledger.get(&object.bucket, &object.key, &object.etag).await?;
        let mut entry = match previous {
            Some(entry) if entry.status == FileStatus::Done => return Ok(Err(Outcome::AlreadyDone)),
            Some(entry)
                if entry.status == FileStatus::Processing
                    && !entry.owner.is_empty()
                    && entry.owner != self.worker_id
                    && now - entry.updated_at < self.takeover_after =>
            {
                return Ok(Err(Outcome::OwnedElsewhere));
            }
            Some(entry) => {
                if entry.owner != self.worker_id && !entry.owner.is_empty() {
                    tracing::warn!(key = %object.key, stale_owner = %entry.owner, next_chunk = entry.next_chunk, "taking over a stale object");
                }
                entry
            }
            None => LedgerEntry {
                bucket: object.bucket.clone(),
                key: object.key.clone(),
                etag: object.etag.clone(),
                size_bytes: object.size,
                source: source.name.clone(),
                tenant: key_tenant.to_owned(),
                status: FileStatus::Processing,
                owner: String::new(),
                next_chunk: 0,
                rows_ok: 0,
                rows_bad: 0,
                attempts: 0,
                error: String::new(),
                event_time: object.event_time,
                started_at: now,
                updated_at: OffsetDateTime::UNIX_EPOCH,
            },
        };
        entry.status = FileStatus::Processing;
        entry.owner.clone_from(&self.worker_id);
        entry.attempts += 1;
        entry.error.clear();
        entry.started_at = now;
        self.ledger.put(&mut entry).await?;
        Ok(Ok(entry))
    }

    /// Streams the object through the chunker, committing each chunk from
    /// `entry.next_chunk` on. `Ok(Ok(true))`: the object is complete;
    /// `Ok(Ok(false))`: cancelled between chunks; `Ok(Err(reason))`: the
    /// object is unreadable (its committed chunks stay, exactly once).
    async fn stream(
        &self,
        object: &ObjectCreated,
        source: &Source,
        context: ObjectContext<'_>,
        body: Body,
        entry: &mut LedgerEntry,
        cancel: &CancellationToken,
    ) -> Result<Result<bool, String>, TransientError> {
        let mut parser = match formats::parser(source) {
            Ok(parser) => parser,
            Err(FileError(reason)) => return Ok(Err(reason)),
        };
        let open = ObjectChunks::open(source, body, self.chunk_lines, parser.quoted_newlines(), entry.next_chunk);
        let mut chunks = match open.await {
            Ok(chunks) => chunks,
            Err(reason) => return Ok(Err(reason)),
        };
        let label = SourceLabel { source: source.name.clone() };
        let mut bytes_seen = 0;
        loop {
            if cancel.is_cancelled() {
                return Ok(Ok(false));
            }
            let chunk = match chunks.next_chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Ok(Ok(true)),
                Err(reason) => return Ok(Err(reason)),
            };
            self.metrics.bytes.get_or_create(&label).inc_by(chunks.bytes_read() - bytes_seen);
            bytes_seen = chunks.bytes_read();
            if chunk.index < u64::from(entry.next_chunk) {
                // Committed before a takeover or retry: only headers matter.
                if let Err(FileError(reason)) = observe(parser.as_mut(), &chunk) {
                    return Ok(Err(reason));
                }
                continue;
            }
            let token = dedup_token(object, source, chunk.index);
            let committed = match self.commit_chunk(object, source, context, parser.as_mut(), &chunk, &token).await? {
                Ok(committed) => committed,
                Err(FileError(reason)) => return Ok(Err(reason)),
            };
            entry.next_chunk = chunk.index as u32 + 1;
            entry.rows_ok += committed.0;
            entry.rows_bad += committed.1;
            self.metrics.rows_ok.get_or_create(&label).inc_by(committed.0);
            self.metrics.rows_bad.get_or_create(&label).inc_by(committed.1);
            // A crash before this write re-sends the chunk, which ClickHouse
            // drops as a duplicate of its token.
            self.ledger.put(entry).await?;
        }
    }

    /// Parses a chunk and inserts its rows and its rejected records, each
    /// insert under a token derived from the chunk. Returns (ok, bad).
    async fn commit_chunk(
        &self,
        object: &ObjectCreated,
        source: &Source,
        context: ObjectContext<'_>,
        parser: &mut dyn RecordParser,
        chunk: &Chunk,
        token: &str,
    ) -> Result<Result<(u64, u64), FileError>, TransientError> {
        let started = Instant::now();
        let mut insert = events_insert(&self.client, token).await?;
        let ChunkRows { rows, rejected } = match write_rows(source, context, parser, chunk, &mut insert).await? {
            Ok(written) => written,
            Err(err) => return Ok(Err(err)),
        };
        insert.end().await?;
        self.metrics.insert_seconds.observe(started.elapsed().as_secs_f64());
        if !rejected.is_empty() {
            let mut insert = self
                .client
                .insert::<IngestErrorRow<'static>>("ingest_errors")
                .await?
                .with_setting("insert_deduplication_token", format!("{token}/errors"));
            for (line, rejection, record) in &rejected {
                insert
                    .write(&IngestErrorRow {
                        bucket: &object.bucket,
                        key: &object.key,
                        etag: &object.etag,
                        line: *line,
                        reason: rejection.reason,
                        detail: &rejection.detail,
                        excerpt: excerpt(record),
                    })
                    .await?;
            }
            insert.end().await?;
        }
        Ok(Ok((rows, rejected.len() as u64)))
    }
}

/// How an object is cut into chunks (both ways a pure function of its
/// content): text formats by lines as the body streams in, Parquet by row
/// groups of a spooled copy, since its footer comes last.
enum ObjectChunks {
    Lines(Chunker<Decoded>),
    RowGroups(RowGroupChunks),
}

impl ObjectChunks {
    /// Row groups start at `next_chunk`, skipping committed ones unread;
    /// lines start at the beginning, since the parser must see every header.
    async fn open(
        source: &Source,
        body: Body,
        chunk_lines: usize,
        quoted_newlines: bool,
        next_chunk: u32,
    ) -> Result<Self, String> {
        if source.format == Format::Parquet {
            let fields = source.mapping.fields.clone();
            return RowGroupChunks::open(body, fields, chunk_lines, u64::from(next_chunk)).await.map(Self::RowGroups);
        }
        match decompress(body).await {
            Ok((_, decoded)) => Ok(Self::Lines(Chunker::new(decoded, chunk_lines, quoted_newlines))),
            Err(err) => Err(format!("cannot read the object: {err}")),
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<Chunk>, String> {
        match self {
            Self::Lines(chunker) => chunker.next_chunk().await.map_err(|err| err.to_string()),
            Self::RowGroups(row_groups) => row_groups.next_chunk().await,
        }
    }

    /// Bytes read so far: decompressed text, or the whole Parquet object.
    fn bytes_read(&self) -> u64 {
        match self {
            Self::Lines(chunker) => chunker.bytes_read,
            Self::RowGroups(row_groups) => row_groups.bytes_read,
        }
    }
}

/// What [`write_rows`] made of a chunk.
#[derive(Debug)]
pub struct ChunkRows<'c> {
    /// Rows written to the insert.
    pub rows: u64,
    /// Records rejected: line, reason, the record's text.
    pub rejected: Vec<(u64, Rejection, &'c str)>,
}

/// Parses the records of `chunk`, maps them and writes each row to `insert`,
/// which the caller starts and ends. This is the ingester's hot path; the
/// benchmark (`src/bin/bench-ingest/`) times exactly this function.
/// `Ok(Err(_))`: a record makes the whole object unreadable.
pub async fn write_rows<'c>(
    source: &Source,
    context: ObjectContext<'_>,
    parser: &mut dyn RecordParser,
    chunk: &'c Chunk,
    insert: &mut clickhouse::insert::Insert<Event<'static>>,
) -> Result<Result<ChunkRows<'c>, FileError>, clickhouse::error::Error> {
    let mut rejected: Vec<(u64, Rejection, &str)> = Vec::new();
    let mut values = Vec::new();
    let mut rows = 0;
    for span in &chunk.records {
        let Ok(record) = std::str::from_utf8(&chunk.data[span.range.clone()]) else {
            rejected.push((span.line, Rejection::new("bad_encoding", "the line is not valid UTF-8"), ""));
            continue;
        };
        match parser.parse(record, &mut values) {
            Ok(Parsed::Skip) => {}
            Ok(Parsed::Record) => match source.mapping.apply(&values, context, span.line) {
                Ok(event) => {
                    insert.write(&event).await?;
                    rows += 1;
                }
                Err(rejection) => rejected.push((span.line, rejection, record)),
            },
            Err(ParseError::Line(rejection)) => rejected.push((span.line, rejection, record)),
            Err(ParseError::File(err)) => return Ok(Err(err)),
        }
    }
    Ok(Ok(ChunkRows { rows, rejected }))
}

/// The insert of one chunk into `events`, de-duplicated under `token`.
/// Rows are sent as plain RowBinary, without the client's per-row check
/// against the table schema (a quarter of the ingester's CPU time): the
/// tests insert `Event` with that check on, so a layout that drifted from
/// the schema fails there, not in production.
pub async fn events_insert(client: &Client, token: &str) -> clickhouse::error::Result<Insert<Event<'static>>> {
    let insert = client.clone().with_validation(false).insert::<Event<'static>>("events").await?;
    Ok(adhouse_core::clickhouse::deduplicated(insert, token))
}

type ObjectId = (String, String, String);

/// Membership of an object in [`Ingestor::in_flight`] for as long as it lives.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<ObjectId>>,
    id: ObjectId,
}

impl<'a> InFlight<'a> {
    fn enter(set: &'a Mutex<HashSet<ObjectId>>, object: &ObjectCreated) -> Option<Self> {
        let id = (object.bucket.clone(), object.key.clone(), object.etag.clone());
        let entered = set.lock().expect("never poisoned").insert(id.clone());
        entered.then(|| Self { set, id })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set.lock().expect("never poisoned").remove(&self.id);
    }
}

/// Feeds a committed chunk's records to the parser for their headers.
fn observe(parser: &mut dyn RecordParser, chunk: &Chunk) -> Result<(), FileError> {
    for span in &chunk.records {
        if let Ok(record) = std::str::from_utf8(&chunk.data[span.range.clone()]) {
            parser.observe(record)?;
        }
    }
    Ok(())
}

/// The de-duplication token of a chunk: a function of the object version,
/// the source and its mapping version, and the chunk index, so that every
/// attempt at the same chunk, by any worker, carries the same token.
pub fn dedup_token(object: &ObjectCreated, source: &Source, chunk: u64) -> String {
    let mut hasher = Sha256::new();
    for part in [&object.bucket, &object.key, &object.etag, &source.name] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(source.mapping_version.to_le_bytes());
    let digest = hasher.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("adhouse:{hex}:{chunk}")
}

/// At most [`EXCERPT_BYTES`] of a record, cut at a character boundary.
fn excerpt(record: &str) -> &str {
    let mut end = record.len().min(EXCERPT_BYTES);
    while !record.is_char_boundary(end) {
        end -= 1;
    }
    &record[..end]
}
