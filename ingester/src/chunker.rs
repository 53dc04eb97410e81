//! Cuts a decompressed object into chunks of N records.
//!
//! A chunk is the unit of insertion, de-duplication and resumption, so its
//! boundaries are a pure function of the object's bytes: record K always
//! lands in chunk K / N, however the bytes arrive and whichever worker reads
//! them (see DESIGN.md). A record is a line, or for CSV a line whose newlines
//! inside double quotes continue it.

use std::ops::Range;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{StreamError, Unreadable};

/// Longest record accepted: guards memory against binary or wrongly
/// configured input that has no newlines.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
const READ_BYTES: usize = 256 << 10;

/// Records `index * N ..` of an object, copied out of the stream.
#[derive(Debug)]
pub struct Chunk {
    pub index: u64,
    pub data: Vec<u8>,
    pub records: Vec<RecordSpan>,
}

/// Where a record sits in [`Chunk::data`], and its 1-based first line.
#[derive(Debug, Clone)]
pub struct RecordSpan {
    pub line: u64,
    pub range: Range<usize>,
}

pub struct Chunker<R> {
    inner: R,
    records_per_chunk: usize,
    quoted_newlines: bool,
    buf: Vec<u8>,
    /// Start of unconsumed data in `buf`.
    pos: usize,
    eof: bool,
    next_line: u64,
    next_index: u64,
    /// Decompressed bytes read so far.
    pub bytes_read: u64,
}

impl<R: AsyncRead + Unpin> Chunker<R> {
    pub fn new(inner: R, records_per_chunk: usize, quoted_newlines: bool) -> Self {
        Self {
            inner,
            records_per_chunk: records_per_chunk.max(1),
            quoted_newlines,
            buf: Vec::with_capacity(READ_BYTES * 2),
            pos: 0,
            eof: false,
            next_line: 1,
            next_index: 0,
            bytes_read: 0,
        }
    }

    /// The next chunk, `None` after the last record.
    pub async fn next_chunk(&mut self) -> Result<Option<Chunk>, StreamError> {
        let mut chunk = Chunk { index: self.next_index, data: Vec::new(), records: Vec::new() };
        while chunk.records.len() < self.records_per_chunk {
            let Some(end) = self.record_end().await? else { break };
            let record = &self.buf[self.pos..end];
            let newline = usize::from(record.last() == Some(&b'\n'));
            let text = &record[..record.len() - newline];
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            let start = chunk.data.len();
            chunk.data.extend_from_slice(text);
            chunk.records.push(RecordSpan { line: self.next_line, range: start..chunk.data.len() });
            chunk.data.push(b'\n');
            self.next_line += memchr::memchr_iter(b'\n', record).count().max(1) as u64;
            self.pos = end;
        }
        if chunk.records.is_empty() {
            return Ok(None);
        }
        self.next_index += 1;
        Ok(Some(chunk))
    }

    /// End (exclusive, after its newline) of the record at `pos`, reading
    /// more input as needed; `None` at the end of the input.
    async fn record_end(&mut self) -> Result<Option<usize>, StreamError> {
        // Relative to `pos`, which `fill` moves to 0.
        let mut scanned = 0;
        let mut in_quotes = false;
        loop {
            let unscanned = &self.buf[self.pos + scanned..];
            let found = if self.quoted_newlines {
                scan_quoted(unscanned, &mut in_quotes)
            } else {
                memchr::memchr(b'\n', unscanned)
            };
            if let Some(offset) = found {
                return Ok(Some(self.pos + scanned + offset + 1));
            }
            scanned = self.buf.len() - self.pos;
            if self.eof {
                return Ok((scanned > 0).then_some(self.buf.len()));
            }
            if scanned > MAX_RECORD_BYTES {
                let line = self.next_line;
                let reason = format!("line {line} is longer than {MAX_RECORD_BYTES} bytes; is the format or compression right?");
                return Err(Unreadable(reason).into());
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> Result<(), StreamError> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        // Reads into spare capacity: nothing is zeroed, however small the reads.
        self.buf.reserve(READ_BYTES);
        let n = self
            .inner
            .read_buf(&mut self.buf)
            .await
            .map_err(|source| StreamError::from_io(self.next_line, source))?;
        self.bytes_read += n as u64;
        self.eof = n == 0;
        Ok(())
    }
}

/// Offset of the first newline outside double quotes, tracking quote state
/// across calls (`""` toggles twice, which leaves the state right).
fn scan_quoted(bytes: &[u8], in_quotes: &mut bool) -> Option<usize> {
    for offset in memchr::memchr2_iter(b'"', b'\n', bytes) {
        match bytes[offset] {
            b'"' => *in_quotes = !*in_quotes,
            _ if !*in_quotes => return Some(offset),
            _ => {}
        }
    }
    None
}
