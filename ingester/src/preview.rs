//! `replay --dry-run`: one object read and judged exactly as ingestion
//! would, record by record ([`fate`]), with nothing written anywhere, so that
//! a wrong time unit or mapping shows before a source is switched on.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use adhouse_core::event::{Dimension, Event};
use time::OffsetDateTime;

use crate::error::Error;
use crate::formats;
use crate::ingest::{Fate, ObjectChunks, Scratch, TimeLimits, TimeWindow, fate, rfc3339};
use crate::mapping::{ObjectContext, Source, source_for};
use crate::s3_event::ObjectCreated;
use crate::store::S3Store;

/// What a dry run found in one object.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Preview {
    /// The first rows as they would be stored: a header line, then one
    /// tab-separated line per row, the tenant and the mapped columns.
    pub rows_text: String,
    pub rows_ok: u64,
    pub rows_expired: u64,
    /// Bad rows by reason (`timestamp_out_of_range` among them).
    pub rows_bad: BTreeMap<&'static str, u64>,
}

/// `events` columns in table order, with their text in a preview.
const COLUMNS: [&str; 17] = [
    "tenant",
    "ts",
    "event_type",
    "publisher_id",
    "placement_id",
    "demand_partner",
    "campaign_id",
    "creative_id",
    "ad_format",
    "country",
    "device_type",
    "os",
    "domain",
    "user_id_hash",
    "revenue_micros",
    "cost_micros",
    "error_code",
];

fn column_text(event: &Event<'_>, column: &str) -> String {
    match column {
        "tenant" => event.tenant.to_string(),
        "ts" => rfc3339(event.ts),
        "event_type" => event.event_type.as_str().to_owned(),
        "user_id_hash" => event.user_id_hash.to_string(),
        "revenue_micros" => event.revenue_micros.to_string(),
        "cost_micros" => event.cost_micros.to_string(),
        "error_code" => event.error_code.to_string(),
        dimension => {
            let dimension = Dimension::by_name(dimension).expect("COLUMNS lists events columns");
            // The event's one accessor by dimension is its `_mut`; a preview can afford the copy.
            event.clone().dimension_mut(dimension).to_string()
        }
    }
}

/// The first object under `location` (`s3://bucket/key-or-prefix`) that a
/// source claims, previewed: its first `show` rows and the count of every
/// kind of row, judged as of `now`. Reads S3 only.
pub async fn preview(
    store: &S3Store,
    sources: &[Source],
    limits: TimeLimits,
    chunk_lines: usize,
    location: &str,
    show: usize,
    now: OffsetDateTime,
) -> Result<String, Error> {
    let (bucket, prefix) = location
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(bucket, _)| !bucket.is_empty())
        .ok_or_else(|| Error::Store { bucket: String::new(), key: location.to_owned(), message: "not an s3://bucket/key URL".into() })?;
    let objects = store.list(bucket, prefix).await?;
    let claimed = |object: &&ObjectCreated| source_for(sources, &object.bucket, &object.key).is_some();
    // The key itself if it names an object, else the first claimed one.
    let Some(object) = objects.iter().find(|o| o.key == prefix).filter(claimed).or_else(|| objects.iter().find(claimed)) else {
        return Ok(format!("no object under {location} is claimed by a configured source ({} listed)\n", objects.len()));
    };
    let (source, tenant) = source_for(sources, &object.bucket, &object.key).expect("claimed");
    let window = TimeWindow::new(now, limits);
    let found = judge_object(store, source, tenant, object, &window, chunk_lines, show).await?;
    let mut out = format!(
        "s3://{}/{} (source {}), judged as of {}; nothing was written\n\n",
        object.bucket,
        object.key,
        source.name,
        rfc3339(now)
    );
    out.push_str(&found.rows_text);
    let bad: u64 = found.rows_bad.values().sum();
    let out_of_range = found.rows_bad.get("timestamp_out_of_range").copied().unwrap_or(0);
    let _ = writeln!(out, "\nrows stored:       {}", found.rows_ok);
    let _ = writeln!(
        out,
        "rows expired:      {} (dated before {}: older than schema.events_ttl_days = {}; stored nowhere)",
        found.rows_expired,
        rfc3339(window.retained_from()),
        limits.events_ttl_days
    );
    let _ = writeln!(out, "rows out of range: {out_of_range} (timestamp_out_of_range, to ingest_errors)");
    let reasons: Vec<String> = found.rows_bad.iter().map(|(reason, n)| format!("{reason} {n}")).collect();
    let _ = writeln!(out, "rows bad:          {bad} ({})", if reasons.is_empty() { "none".to_owned() } else { reasons.join(", ") });
    Ok(out)
}

/// Every record of `object` through the parser, the mapping and `window`.
async fn judge_object(
    store: &S3Store,
    source: &Source,
    tenant: &str,
    object: &ObjectCreated,
    window: &TimeWindow,
    chunk_lines: usize,
    show: usize,
) -> Result<Preview, Error> {
    let about = |err: crate::error::StreamError| err.about(&object.bucket, &object.key);
    let unreadable = |reason| Error::Unreadable { bucket: object.bucket.clone(), key: object.key.clone(), reason };
    let Some(body) = store.get(&object.bucket, &object.key, &object.etag).await? else {
        return Err(Error::Store { bucket: object.bucket.clone(), key: object.key.clone(), message: "replaced while being read".into() });
    };
    let mut parser = formats::parser(source).map_err(unreadable)?;
    let mut chunks = ObjectChunks::open(source, body, chunk_lines, parser.quoted_fields(), 0).await.map_err(about)?;
    let columns: Vec<&str> = COLUMNS.into_iter().filter(|c| *c == "tenant" || source.mapping.columns().any(|m| m == *c)).collect();
    let file = format!("s3://{}/{}", object.bucket, object.key);
    let context = ObjectContext { tenant, source: &source.name, file: &file };
    let mut preview = Preview { rows_text: columns.join("\t") + "\n", ..Preview::default() };
    while let Some(chunk) = chunks.next_chunk().await.map_err(about)? {
        let text = chunk.text();
        let mut scratch = Scratch::new(source, context);
        for span in &chunk.records {
            match fate(source, context, window, parser.as_mut(), &mut scratch, &text, span).map_err(unreadable)? {
                Fate::Row => {
                    let event = &scratch.event;
                    if preview.rows_ok < show as u64 {
                        let line: Vec<String> = columns.iter().map(|c| column_text(event, c)).collect();
                        preview.rows_text.push_str(&(line.join("\t") + "\n"));
                    }
                    preview.rows_ok += 1;
                }
                Fate::Expired => preview.rows_expired += 1,
                Fate::Rejected(rejection, _) => *preview.rows_bad.entry(rejection.reason).or_default() += 1,
                Fate::Skip => {}
            }
        }
    }
    Ok(preview)
}
