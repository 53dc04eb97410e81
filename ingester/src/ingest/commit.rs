//! Committing one chunk: its rows into `events` and its rejected records
//! into `ingest_errors`, each insert under a token derived from the chunk,
//! so that every attempt at a chunk, by any worker, is stored once.

use std::borrow::Cow;

use adhouse_core::event::Event;
use clickhouse::{Client, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::events_insert::EventsInsert;
use super::window::{TimeWindow, Verdict};
use crate::chunker::{Chunk, ChunkText, EXCERPT_BYTES, MAX_RECORD_BYTES, RecordSpan};
use crate::error::{StreamError, Unreadable};
use crate::formats::{ParseError, Parsed, RecordParser};
use crate::mapping::{ObjectContext, Rejection, Source};
use crate::s3_event::ObjectCreated;

/// Most days (partitions of `events`, and of the minute rollup) one insert
/// block may touch. A real server rejects a block over
/// `max_partitions_per_insert_block` (default 100) with code 252, and that
/// limit is the server's to set, not ours to raise.
pub const MAX_DAYS_PER_INSERT: usize = 90;

#[derive(Debug, Row, Serialize)]
struct IngestErrorRow<'a> {
    bucket: &'a str,
    key: &'a str,
    etag: &'a str,
    line: u64,
    reason: &'a str,
    detail: &'a str,
    excerpt: &'a str,
    /// The object's `as_of`: the same on every attempt, so that a retry's
    /// block falls in the partition of the first one, whose token ClickHouse
    /// knows (a retry in the next month was stored again).
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    at: OffsetDateTime,
}

/// Rows stored and records rejected by one chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    pub rows_ok: u64,
    pub rows_bad: u64,
    pub rows_expired: u64,
}

/// Parses, maps and inserts `chunk`. A crash anywhere in here leaves either
/// nothing or the whole block stored under `token`; the retry re-sends the
/// same rows under the same token, and ClickHouse drops the copy. `window`
/// is the object's, the same for every attempt, so the rows are too.
#[expect(clippy::too_many_arguments, reason = "each is one fact about the chunk; a struct would only rename them")]
pub async fn commit_chunk(
    client: &Client,
    object: &ObjectCreated,
    source: &Source,
    context: ObjectContext<'_>,
    window: &TimeWindow,
    parser: &mut dyn RecordParser,
    chunk: &Chunk,
    token: &str,
) -> Result<Committed, StreamError> {
    let mut insert = EventsInsert::new(client, token);
    let ChunkRows { rows, rejected, expired, later_days } = write_rows(source, context, window, parser, chunk, &mut insert).await?;
    insert.end().await?;
    insert_later_days(client, token, later_days).await?;
    if !rejected.is_empty() {
        let insert = client.insert::<IngestErrorRow<'static>>("ingest_errors").await?;
        let mut insert = adhouse_core::clickhouse::deduplicated(insert, &format!("{token}/errors"));
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
                    at: window.as_of(),
                })
                .await?;
        }
        insert.end().await?;
    }
    Ok(Committed { rows_ok: rows, rows_bad: rejected.len() as u64, rows_expired: expired })
}

/// The rows of a chunk beyond its first [`MAX_DAYS_PER_INSERT`] days, in
/// blocks of at most that many days each, block `n` under `<token>/days<n>`.
/// Which rows go in which block is a function of the chunk's content (days
/// in order of first appearance, then sorted), so a retry re-sends the same
/// blocks under the same tokens.
async fn insert_later_days(client: &Client, token: &str, mut rows: Vec<Event<'_>>) -> clickhouse::error::Result<()> {
    rows.sort_by_key(|event| event.ts.date());
    let mut rest = rows.as_slice();
    let mut block = 1;
    while let Some(first) = rest.first() {
        let mut days = 0;
        let mut last_day = None;
        let end = rest
            .iter()
            .position(|event| {
                let day = event.ts.date();
                if last_day != Some(day) {
                    last_day = Some(day);
                    days += 1;
                }
                days > MAX_DAYS_PER_INSERT
            })
            .unwrap_or(rest.len());
        debug_assert!(end > 0 && first.ts.date() == rest[0].ts.date());
        let mut insert = EventsInsert::new(client, &format!("{token}/days{block}"));
        for event in &rest[..end] {
            insert.write(event).await?;
        }
        insert.end().await?;
        rest = &rest[end..];
        block += 1;
    }
    Ok(())
}

/// What [`write_rows`] made of a chunk.
#[derive(Debug)]
pub struct ChunkRows<'c> {
    /// Rows written to the insert.
    pub rows: u64,
    /// Records rejected: line, reason, the record's text.
    pub rejected: Vec<(u64, Rejection, &'c str)>,
    /// Rows older than the raw retention: counted, stored nowhere.
    pub expired: u64,
    /// Rows on days beyond the first [`MAX_DAYS_PER_INSERT`] the chunk
    /// holds, not written to `insert` (a log that spans months).
    pub later_days: Vec<Event<'c>>,
}

/// Parses the records of `chunk`, maps them and writes each row to `insert`,
/// which the caller starts and ends. This is the ingester's hot path; the
/// benchmark (`tools/src/bin/bench-ingest/`) times exactly this function.
pub async fn write_rows<'c>(
    source: &'c Source,
    context: ObjectContext<'c>,
    window: &TimeWindow,
    parser: &mut dyn RecordParser,
    chunk: &'c Chunk,
    insert: &mut EventsInsert,
) -> Result<ChunkRows<'c>, StreamError> {
    let mut rejected: Vec<(u64, Rejection, &str)> = Vec::new();
    let mut later_days = Vec::new();
    // The days written to `insert`, in order of first appearance; nearly
    // always one or two, so a scan beats a set.
    let mut days: Vec<time::Date> = Vec::new();
    let (mut rows, mut expired) = (0, 0);
    let text = chunk.text();
    let mut scratch = Scratch::new(source, context);
    for span in &chunk.records {
        match fate(source, context, window, parser, &mut scratch, &text, span)? {
            Fate::Row => {
                let event = &scratch.event;
                let day = event.ts.date();
                rows += 1;
                if days.last() == Some(&day) || days.contains(&day) {
                    insert.write(event).await?;
                } else if days.len() < MAX_DAYS_PER_INSERT {
                    days.push(day);
                    insert.write(event).await?;
                } else {
                    later_days.push(event.clone());
                }
            }
            Fate::Expired => expired += 1,
            Fate::Rejected(rejection, record) => rejected.push((span.line, rejection, record)),
            Fate::Skip => {}
        }
    }
    Ok(ChunkRows { rows, rejected, expired, later_days })
}

/// What [`fate`] reuses from record to record: the values of the mapping's
/// slots, and the row (a [`Mapping::blank`](crate::mapping::Mapping::blank) one, mapped in place).
pub struct Scratch<'c> {
    values: Vec<Option<Cow<'c, str>>>,
    /// The last record's row, after [`Fate::Row`].
    pub event: Event<'c>,
}

impl<'c> Scratch<'c> {
    pub fn new(source: &Source, context: ObjectContext<'c>) -> Self {
        Self { values: Vec::new(), event: source.mapping.blank(context) }
    }
}

/// What one record of a chunk becomes.
#[derive(Debug)]
pub enum Fate<'c> {
    /// A row of `events` (and so of every rollup), in [`Scratch::event`].
    Row,
    /// A row older than the raw retention, stored nowhere.
    Expired,
    /// An `ingest_errors` row: why, and the record's text.
    Rejected(Rejection, &'c str),
    /// A header, comment or blank line.
    Skip,
}

/// Parses and maps the record at `span` and judges its timestamp by
/// `window`: the one decision per record that both the insert
/// ([`write_rows`]) and the preview (`replay --dry-run`) make. `text` is
/// the chunk's.
pub fn fate<'c>(
    source: &'c Source,
    context: ObjectContext<'c>,
    window: &TimeWindow,
    parser: &mut dyn RecordParser,
    scratch: &mut Scratch<'c>,
    text: &ChunkText<'c>,
    span: &RecordSpan,
) -> Result<Fate<'c>, Unreadable> {
    if let Some(size) = span.oversized {
        let detail = format!("the line is {size} bytes, over the {MAX_RECORD_BYTES}-byte limit; is the format or compression right?");
        return Ok(Fate::Rejected(Rejection::new("line_too_long", detail), utf8_prefix(text.bytes(span.range.clone()))));
    }
    let Some(record) = text.record(span.range.clone()) else {
        return Ok(Fate::Rejected(Rejection::new("bad_encoding", "the line is not valid UTF-8"), ""));
    };
    let Scratch { values, event } = scratch;
    let mapped = match parser.parse(record, values) {
        Ok(Parsed::Skip) => return Ok(Fate::Skip),
        Ok(Parsed::Record) => source.mapping.apply_to(values, context, span.line, event),
        Err(ParseError::Line(rejection)) => Err(rejection),
        Err(ParseError::File(err)) => return Err(err),
    };
    Ok(match mapped {
        Ok(()) => match window.judge(event.ts) {
            Verdict::Keep => Fate::Row,
            Verdict::Expired => Fate::Expired,
            Verdict::OutOfRange(rejection) => Fate::Rejected(rejection, record),
        },
        Err(rejection) => Fate::Rejected(rejection, record),
    })
}

/// Feeds a committed chunk's records to the parser for their headers.
pub fn observe(parser: &mut dyn RecordParser, chunk: &Chunk) -> Result<(), Unreadable> {
    let text = chunk.text();
    for span in &chunk.records {
        if let Some(record) = text.record(span.range.clone()) {
            parser.observe(record)?;
        }
    }
    Ok(())
}

/// The stem of an object's chunk tokens: a function of the object version,
/// the source and its mapping version and the object's chunk size, so that
/// a chunk of other boundaries, or an object re-ingested on purpose under a
/// new mapping, never shares a token. Fixed in the ledger at the first claim
/// (every attempt, by any worker, sends the same tokens, even when the
/// settings changed between a crash and its resume). A `chunk_lines` of 0
/// (an object claimed before chunk sizes were recorded) keeps the tokens it
/// was committed under.
pub fn token_stem(object: &ObjectCreated, source: &Source, chunk_lines: u32) -> String {
    let mut hasher = Sha256::new();
    for part in [&object.bucket, &object.key, &object.etag, &source.name] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(source.mapping_version.to_le_bytes());
    if chunk_lines != 0 {
        hasher.update(chunk_lines.to_le_bytes());
    }
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The de-duplication token of chunk `chunk` of the object whose ledger
/// entry holds `stem`.
pub fn dedup_token(stem: &str, chunk: u64) -> String {
    format!("adhouse:{stem}:{chunk}")
}

/// The longest valid UTF-8 prefix of an excerpt (its cut may split a character).
fn utf8_prefix(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => std::str::from_utf8(&bytes[..err.valid_up_to()]).expect("valid up to there"),
    }
}

/// At most [`EXCERPT_BYTES`] of a record, cut at a character boundary.
fn excerpt(record: &str) -> &str {
    let mut end = record.len().min(EXCERPT_BYTES);
    while !record.is_char_boundary(end) {
        end -= 1;
    }
    &record[..end]
}
