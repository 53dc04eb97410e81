//! The insert of `events` rows: each row encoded straight into a RowBinary
//! block buffer, and every full block compressed (the client's LZ4 framing)
//! and sent by a task of its own, so that on a multi-thread runtime the
//! compression runs beside the parsing instead of after it.
//!
//! Not the client's `Insert<Event>`: its serde path, a serializer call per
//! field into a `BytesMut` whose `put_*` calls are not inlined here, was a
//! tenth of the ingester's CPU time. A `Vec`'s are: a field is a capacity
//! check and a copy. The layout is `Event`'s, field for field; a pipeline
//! test compares what this insert stores with what `Insert<Event>` stores
//! with the client's schema check on (`tests/pipeline/events_insert.rs`),
//! so a layout that drifts fails there.

use adhouse_core::event::Event;
use bytes::Bytes;
use clickhouse::Client;
use clickhouse::error::{Error, Result};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The columns in the order [`encode`] writes them (`ingested_at` is the
/// server's default).
const COLUMNS: &str = "tenant, ts, event_type, publisher_id, placement_id, demand_partner, campaign_id, \
     creative_id, ad_format, country, device_type, os, domain, user_id_hash, revenue_micros, cost_micros, \
     error_code, source, file, line";

/// Bytes of rows per compressed block sent: the client's own block size.
const BLOCK_BYTES: usize = 256 * 1024;
/// A block and room for the row that fills it, so that no row reallocates.
const BUFFER_BYTES: usize = BLOCK_BYTES + 16 * 1024;

/// One de-duplicated insert into `events`. [`EventsInsert::end`] commits
/// it; dropped unfinished (an error while writing), it is aborted and the
/// server stores none of its rows.
pub struct EventsInsert {
    /// Rows not yet sent; allocated once per block, never grown.
    buffer: Vec<u8>,
    /// Started with the first block: an insert without rows sends no
    /// request, as the client's does not.
    sender: Option<Sender>,
    client: Client,
    token: String,
}

/// The task that compresses and sends the blocks; `None` tells it to end
/// the insert. A channel closed without it (the insert dropped) makes the
/// task drop its request unfinished, which aborts it: the end is never
/// inferred.
struct Sender {
    blocks: mpsc::Sender<Option<Bytes>>,
    task: JoinHandle<Result<()>>,
}

impl EventsInsert {
    /// An insert into `events` of `client`'s database under the
    /// de-duplication `token`.
    pub fn new(client: &Client, token: &str) -> Self {
        Self { buffer: Vec::with_capacity(BUFFER_BYTES), sender: None, client: client.clone(), token: token.to_owned() }
    }

    /// Adds `event`; hands the buffer to the sending task once it holds a block
    /// (`Bytes` takes the `Vec` over without a copy).
    pub async fn write(&mut self, event: &Event<'_>) -> Result<()> {
        encode(event, &mut self.buffer);
        if self.buffer.len() >= BLOCK_BYTES {
            let block = std::mem::replace(&mut self.buffer, Vec::with_capacity(BUFFER_BYTES));
            self.send(Some(block.into())).await?;
        }
        Ok(())
    }

    /// Sends the last block and waits for the server to accept the insert.
    pub async fn end(mut self) -> Result<()> {
        if !self.buffer.is_empty() {
            let block = std::mem::take(&mut self.buffer);
            self.send(Some(block.into())).await?;
        }
        let Some(sender) = self.sender.take() else {
            return Ok(());
        };
        // A failed send leaves the task's own error to the join.
        let _ = sender.blocks.send(None).await;
        joined(sender.task.await)
    }

    async fn send(&mut self, block: Option<Bytes>) -> Result<()> {
        let sender = match &mut self.sender {
            Some(sender) => sender,
            None => self.sender.insert(Sender::start(&self.client, &self.token)),
        };
        if sender.blocks.send(block).await.is_ok() {
            return Ok(());
        }
        // The task stopped on an error of the request, which it returns.
        let sender = self.sender.take().expect("set above");
        joined(sender.task.await).and(Err(Error::Network("the insert stopped".into())))
    }
}

impl Sender {
    /// One block waits while one is compressed and sent: the encoder runs
    /// at most a block ahead of the network.
    fn start(client: &Client, token: &str) -> Self {
        let mut insert = client.insert_formatted_with(format!("INSERT INTO events({COLUMNS}) FORMAT RowBinary"));
        for (name, value) in adhouse_core::clickhouse::deduplication_settings(token) {
            insert = insert.with_setting(name, value);
        }
        // Each rollup's view groups by its table's whole sorting key, so its
        // block holds one row per key and the merge ClickHouse runs on insert
        // finds nothing to fold; skipping it cut ClickHouse's CPU per insert by over
        // a third (ingester/DESIGN.md, "ClickHouse's share").
        insert = insert.with_setting("optimize_on_insert", "0");
        let (blocks, mut received) = mpsc::channel::<Option<Bytes>>(1);
        let task = tokio::spawn(async move {
            while let Some(block) = received.recv().await {
                match block {
                    Some(block) => insert.send(block).await?,
                    None => return insert.end().await,
                }
            }
            Err(Error::Custom("the insert was dropped unfinished".into()))
        });
        Self { blocks, task }
    }
}

fn joined(result: std::result::Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    match result {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => Err(Error::Custom(format!("the insert's task stopped: {err}"))),
    }
}

/// Appends `event` in RowBinary with the layout of [`COLUMNS`].
fn encode(event: &Event<'_>, out: &mut Vec<u8>) {
    string(out, &event.tenant);
    out.extend_from_slice(&unix_millis(event.ts).to_le_bytes());
    out.push(event.event_type as i8 as u8);
    for dimension in [
        &event.publisher_id,
        &event.placement_id,
        &event.demand_partner,
        &event.campaign_id,
        &event.creative_id,
        &event.ad_format,
        &event.country,
        &event.device_type,
        &event.os,
        &event.domain,
    ] {
        string(out, dimension);
    }
    out.extend_from_slice(&event.user_id_hash.to_le_bytes());
    out.extend_from_slice(&event.revenue_micros.to_le_bytes());
    out.extend_from_slice(&event.cost_micros.to_le_bytes());
    out.extend_from_slice(&event.error_code.to_le_bytes());
    string(out, &event.source);
    string(out, &event.file);
    out.extend_from_slice(&event.line.to_le_bytes());
}

/// `DateTime64(3)`: milliseconds since the epoch, truncated toward zero as
/// the client's serde helper does (`unix_timestamp_nanos() / 1_000_000`),
/// without its `i128` division.
fn unix_millis(ts: OffsetDateTime) -> i64 {
    let (seconds, nanos) = (ts.unix_timestamp(), ts.nanosecond());
    let floor = seconds * 1000 + i64::from(nanos / 1_000_000);
    // Before the epoch, truncation rounds up what the floor rounded down.
    if seconds < 0 && nanos % 1_000_000 != 0 { floor + 1 } else { floor }
}

/// A `String`: its length as unsigned LEB128, then its bytes.
fn string(out: &mut Vec<u8>, text: &str) {
    let mut len = text.len() as u64;
    while len >= 0x80 {
        out.push(len as u8 | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_truncate_to_milliseconds_as_the_client_does() {
        let epoch = OffsetDateTime::UNIX_EPOCH;
        for nanos in [0i64, 1, 999_999, 1_000_000, 1_999_999, -1, -999_999, -1_000_000, -1_000_001, -1_500_000_000, 1_778_416_496_789_123_456] {
            let ts = epoch + time::Duration::nanoseconds(nanos);
            assert_eq!(unix_millis(ts), (ts.unix_timestamp_nanos() / 1_000_000) as i64, "{nanos}");
        }
    }
}
