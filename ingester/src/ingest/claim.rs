//! Taking ownership of an object version in the ledger.

use time::OffsetDateTime;

use super::commit::token_stem;
use super::window::TimeLimits;
use crate::ledger::{FileStatus, Ledger, LedgerEntry};
use crate::mapping::Source;
use crate::s3_event::ObjectCreated;

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// This worker owns the object now; the entry says where to resume.
    Owned(Box<LedgerEntry>),
    AlreadyDone,
    /// Another live worker owns it.
    OwnedElsewhere,
}

/// What the settings in force give a new object to keep for life, and a
/// resumed one to be compared with.
#[derive(Debug, Clone, Copy)]
pub struct Pins {
    pub chunk_lines: u32,
    pub limits: TimeLimits,
}

/// Takes ownership of `object` for `worker_id`, resuming from its next chunk
/// in the chunk size the object was first claimed with, under the tokens of
/// that first claim, judging its rows as of it and by its time limits. None
/// is ever changed afterwards, even when nothing seems committed: a worker
/// may have died between an insert and its ledger update.
/// A `failed` or `superseded` object is claimed again: the read that follows
/// decides (a version restored with the same ETag resumes where it stopped).
/// Declines when it is done, or when another worker updated it within
/// `takeover_after` (a live owner). The ledger is advisory for ownership: a
/// race on the claim lets two workers in, which the chunk tokens make
/// harmless (DESIGN.md).
pub async fn claim(
    ledger: &Ledger,
    object: &ObjectCreated,
    source: &Source,
    key_tenant: &str,
    worker_id: &str,
    takeover_after: time::Duration,
    pins: Pins,
) -> clickhouse::error::Result<Claim> {
    let now = OffsetDateTime::now_utc();
    let previous = ledger.get(&object.bucket, &object.key, &object.etag).await?;
    let mut entry = match previous {
        Some(entry) if entry.status == FileStatus::Done => return Ok(Claim::AlreadyDone),
        Some(entry)
            if entry.status == FileStatus::Processing
                && !entry.owner.is_empty()
                && entry.owner != worker_id
                && now - entry.updated_at < takeover_after =>
        {
            return Ok(Claim::OwnedElsewhere);
        }
        Some(entry) => {
            if entry.owner != worker_id && !entry.owner.is_empty() {
                tracing::warn!(key = %object.key, stale_owner = %entry.owner, next_chunk = entry.next_chunk, "taking over a stale object");
            }
            entry
        }
        None => LedgerEntry {
            token_stem: token_stem(object, source, pins.chunk_lines),
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            etag: object.etag.clone(),
            size_bytes: object.size,
            source: source.name.clone(),
            tenant: key_tenant.to_owned(),
            status: FileStatus::Processing,
            owner: String::new(),
            next_chunk: 0,
            chunk_lines: pins.chunk_lines,
            rows_ok: 0,
            rows_bad: 0,
            rows_expired: 0,
            attempts: 0,
            error: String::new(),
            event_time: object.event_time,
            as_of: now,
            events_ttl_days: pins.limits.events_ttl_days,
            timestamp_max_age_days: pins.limits.max_age_days,
            timestamp_max_ahead_secs: pins.limits.max_ahead_secs,
            started_at: now,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        },
    };
    let current = token_stem(object, source, entry.chunk_lines);
    if entry.token_stem.is_empty() {
        // Claimed before stems were recorded: the settings in force are the
        // best guess there is, and what earlier versions assumed.
        entry.token_stem = current;
    } else if entry.token_stem != current {
        tracing::warn!(
            key = %object.key,
            source = %source.name,
            next_chunk = entry.next_chunk,
            "the source's name or mapping_version changed since this object was first claimed: it resumes under its \
             first claim's tokens, so that a chunk sent before the change is not stored twice, and reads the chunks \
             left with the mapping now configured"
        );
    }
    let limits = entry.time_limits(pins.limits);
    if limits != pins.limits {
        tracing::warn!(
            key = %object.key,
            changed = %limits.changes(&pins.limits).join(", "),
            next_chunk = entry.next_chunk,
            "time limits changed since this object was first claimed: all of it is judged by its first claim's, so \
             that a chunk sent before the change keeps, expires and rejects the same rows on every attempt"
        );
    }
    entry.pin_time_limits(limits);
    entry.status = FileStatus::Processing;
    entry.owner = worker_id.to_owned();
    entry.attempts += 1;
    entry.error.clear();
    entry.started_at = now;
    ledger.put(&mut entry).await?;
    Ok(Claim::Owned(Box::new(entry)))
}
