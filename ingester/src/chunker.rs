//! Cuts a decompressed object into chunks of N records.
//!
//! A chunk is the unit of insertion, de-duplication and resumption, so its
//! boundaries are a pure function of the object's bytes: record K always
//! lands in chunk K / N, however the bytes arrive and whichever worker reads
//! them (see DESIGN.md). A record is a line, or for CSV a line whose newlines
//! inside a quoted field continue it.

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::StreamError;

/// Longest record kept: a longer one (binary or wrongly configured input,
/// a runaway line) is skipped to its end without being buffered, and only
/// its first [`EXCERPT_BYTES`] reach the chunk, to be reported.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// How much of a bad record is kept for `ingest_errors`.
pub const EXCERPT_BYTES: usize = 1024;
const READ_BYTES: usize = 256 << 10;

/// Buffers of dropped chunks, which the next chunks (of any object) fill
/// again: a fresh buffer of a chunk's size (tens of MB) is faulted in and
/// zeroed by the kernel page by page as it is first written, the largest
/// kernel share of the ingesting thread. At most [`SPARE_CHUNKS`] wait here,
/// in the whole process (DESIGN.md, "Memory").
static SPARE: Mutex<Vec<(Vec<u8>, Vec<RecordSpan>)>> = Mutex::new(Vec::new());
/// One object's worth: as many chunks as one object holds at a time.
const SPARE_CHUNKS: usize = 3;

/// Records `index * N ..` of an object, copied out of the stream.
#[derive(Debug)]
pub struct Chunk {
    pub index: u64,
    pub data: Vec<u8>,
    pub records: Vec<RecordSpan>,
}

impl Chunk {
    /// An empty chunk with room for `bytes` and `records`, in a spare
    /// buffer when there is one.
    pub fn with_capacity(index: u64, bytes: usize, records: usize) -> Self {
        let spare = SPARE.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let (mut data, mut spans) = spare.unwrap_or_default();
        data.reserve(bytes);
        spans.reserve(records);
        Self { index, data, records: spans }
    }

    /// The chunk's records as text, its UTF-8 checked once for all of them.
    pub fn text(&self) -> ChunkText<'_> {
        ChunkText { data: &self.data, whole: std::str::from_utf8(&self.data).ok() }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if self.data.capacity() == 0 {
            return;
        }
        let mut spare = SPARE.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.len() < SPARE_CHUNKS {
            let (mut data, mut records) = (std::mem::take(&mut self.data), std::mem::take(&mut self.records));
            data.clear();
            records.clear();
            spare.push((data, records));
        }
    }
}

/// A chunk's bytes with their UTF-8 validity known: the check runs once per
/// chunk, not once per record (a call per record was 2 % of the ingester's
/// time). Only a chunk that holds invalid bytes is checked record by record,
/// so that each bad record is still rejected on its own line.
pub struct ChunkText<'c> {
    data: &'c [u8],
    /// The whole chunk, when it is valid UTF-8.
    whole: Option<&'c str>,
}

impl<'c> ChunkText<'c> {
    /// The record at `range`, `None` if it is not valid UTF-8. A range of a
    /// valid chunk is whole records, so on character boundaries; `get`
    /// falls back to the check all the same rather than trust it.
    pub fn record(&self, range: Range<usize>) -> Option<&'c str> {
        match self.whole.and_then(|text| text.get(range.clone())) {
            Some(record) => Some(record),
            None => std::str::from_utf8(self.bytes(range)).ok(),
        }
    }

    /// The bytes at `range`, whatever they hold.
    pub fn bytes(&self, range: Range<usize>) -> &'c [u8] {
        &self.data[range]
    }
}

/// Where a record sits in [`Chunk::data`], and its 1-based first line.
#[derive(Debug, Clone)]
pub struct RecordSpan {
    pub line: u64,
    pub range: Range<usize>,
    /// `Some(bytes)` for a record over [`MAX_RECORD_BYTES`]: `range` holds
    /// only its first [`EXCERPT_BYTES`].
    pub oversized: Option<u64>,
}

/// Where the record at `pos` ends.
enum RecordEnd {
    /// In the buffer, just after its newline (or at the end of the input).
    At(usize),
    /// Too long: skipped up to and after its end, `pos` moved past it.
    Skipped { excerpt: Vec<u8>, bytes: u64, newlines: u64 },
}

pub struct Chunker<R> {
    inner: R,
    records_per_chunk: usize,
    /// CSV's delimiter: newlines inside quoted fields continue a record.
    quoted_fields: Option<u8>,
    buf: Vec<u8>,
    /// Start of unconsumed data in `buf`.
    pos: usize,
    eof: bool,
    next_line: u64,
    next_index: u64,
    /// Bytes and records of the last chunk, to size the next one.
    last_chunk: (usize, usize),
    /// Decompressed bytes read so far.
    pub bytes_read: u64,
}

impl<R: AsyncRead + Unpin> Chunker<R> {
    pub fn new(inner: R, records_per_chunk: usize, quoted_fields: Option<u8>) -> Self {
        Self {
            inner,
            records_per_chunk: records_per_chunk.max(1),
            quoted_fields,
            buf: Vec::with_capacity(READ_BYTES * 2),
            pos: 0,
            eof: false,
            next_line: 1,
            next_index: 0,
            last_chunk: (0, 0),
            bytes_read: 0,
        }
    }

    /// The next chunk, `None` after the last record.
    pub async fn next_chunk(&mut self) -> Result<Option<Chunk>, StreamError> {
        // Sized like the previous chunk: a chunk grown from empty copies
        // its bytes over again and faults in fresh pages at each doubling.
        let mut chunk = Chunk::with_capacity(self.next_index, self.last_chunk.0, self.last_chunk.1);
        if self.next_index == 0 {
            self.skip_byte_order_mark().await?;
        }
        while chunk.records.len() < self.records_per_chunk {
            let start = chunk.data.len();
            let (oversized, newlines) = match self.record_end().await? {
                None => break,
                Some(RecordEnd::At(end)) => {
                    let record = &self.buf[self.pos..end];
                    let newline = usize::from(record.last() == Some(&b'\n'));
                    let text = &record[..record.len() - newline];
                    chunk.data.extend_from_slice(text.strip_suffix(b"\r").unwrap_or(text));
                    // Unquoted, a record's one newline is its last byte:
                    // counting them was a call per record (2 % of the instructions).
                    let newlines = match self.quoted_fields {
                        Some(_) => memchr::memchr_iter(b'\n', record).count() as u64,
                        None => 1,
                    };
                    self.pos = end;
                    (None, newlines)
                }
                Some(RecordEnd::Skipped { excerpt, bytes, newlines }) => {
                    chunk.data.extend_from_slice(&excerpt);
                    (Some(bytes), newlines)
                }
            };
            chunk.records.push(RecordSpan { line: self.next_line, range: start..chunk.data.len(), oversized });
            chunk.data.push(b'\n');
            self.next_line += newlines.max(1);
        }
        if chunk.records.is_empty() {
            return Ok(None);
        }
        self.last_chunk = (chunk.data.len(), chunk.records.len());
        self.next_index += 1;
        Ok(Some(chunk))
    }

    /// Drops a UTF-8 byte order mark at the start of the object (Excel's
    /// "CSV UTF-8", other Windows tools): it would stick to the first header
    /// name, directive or value. It is no line, so line numbers stay.
    async fn skip_byte_order_mark(&mut self) -> Result<(), StreamError> {
        const BOM: &[u8] = b"\xef\xbb\xbf";
        while self.buf.len() - self.pos < BOM.len() && !self.eof {
            self.fill().await?;
        }
        if self.buf[self.pos..].starts_with(BOM) {
            self.pos += BOM.len();
        }
        Ok(())
    }

    /// End of the record at `pos`, reading more input as needed; `None` at
    /// the end of the input.
    async fn record_end(&mut self) -> Result<Option<RecordEnd>, StreamError> {
        // Relative to `pos`, which `fill` moves to 0.
        let mut scanned = 0;
        let mut quotes = Quotes::RECORD_START;
        loop {
            let found = self.scan(scanned, &mut quotes).map(|offset| self.pos + scanned + offset + 1);
            scanned = self.buf.len() - self.pos;
            let end = match found {
                Some(end) => end,
                None if self.eof && scanned > 0 => self.buf.len(),
                None if self.eof => return Ok(None),
                None => 0,
            };
            if end > 0 {
                return Ok(Some(self.bounded(end)));
            }
            if scanned > MAX_RECORD_BYTES {
                return self.skip_record(quotes).await.map(Some);
            }
            self.fill().await?;
        }
    }

    /// The record at `pos..end`, or its excerpt if it is over the limit
    /// (whether it arrived in one read or many, the same record is cut).
    fn bounded(&mut self, end: usize) -> RecordEnd {
        let newline = usize::from(self.buf[end - 1] == b'\n');
        let bytes = end - self.pos - newline;
        if bytes <= MAX_RECORD_BYTES {
            return RecordEnd::At(end);
        }
        let excerpt = self.buf[self.pos..self.pos + EXCERPT_BYTES].to_vec();
        let newlines = memchr::memchr_iter(b'\n', &self.buf[self.pos..end]).count() as u64;
        self.pos = end;
        RecordEnd::Skipped { excerpt, bytes: bytes as u64, newlines }
    }

    /// Offset, from `pos + from`, of the newline that ends the record.
    fn scan(&self, from: usize, quotes: &mut Quotes) -> Option<usize> {
        let unscanned = &self.buf[self.pos + from..];
        match self.quoted_fields {
            Some(delimiter) => scan_quoted(unscanned, delimiter, quotes),
            None => memchr::memchr(b'\n', unscanned),
        }
    }

    /// Drops the over-long record at `pos`, all of whose buffered bytes are
    /// scanned already (`quotes` is the state after them), reading on to
    /// its end in constant memory.
    async fn skip_record(&mut self, mut quotes: Quotes) -> Result<RecordEnd, StreamError> {
        let excerpt = self.buf[self.pos..self.pos + EXCERPT_BYTES].to_vec();
        let (mut bytes, mut newlines) = (0, 0);
        let (mut end, mut found) = (self.buf.len(), false);
        loop {
            bytes += (end - self.pos) as u64;
            newlines += memchr::memchr_iter(b'\n', &self.buf[self.pos..end]).count() as u64;
            self.pos = end;
            if found || self.eof {
                // The size of the line, its newline not counted.
                let bytes = bytes - u64::from(found);
                return Ok(RecordEnd::Skipped { excerpt, bytes, newlines });
            }
            self.fill().await?;
            match self.scan(0, &mut quotes) {
                Some(offset) => (end, found) = (self.pos + offset + 1, true),
                None => end = self.buf.len(),
            }
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

/// Where a CSV record's scan stands between reads.
#[derive(Clone, Copy)]
enum Quotes {
    /// Outside a quoted field; `field_start`: the next byte starts a field.
    Unquoted { field_start: bool },
    Quoted,
    /// Just after a quote inside a quoted field: it closes the field unless
    /// the next byte is a quote too (`""`, an escaped quote).
    QuoteInQuoted,
}

impl Quotes {
    const RECORD_START: Self = Self::Unquoted { field_start: true };
}

/// Offset of the first newline outside a quoted field, the fields read as
/// `formats::delimited` reads them: a quote opens a field only at its start
/// (`a"b` is taken literally), so a stray quote cannot swallow the lines
/// after it. `quotes` carries the state across calls, so that a record ends
/// at the same byte however the input arrives.
fn scan_quoted(bytes: &[u8], delimiter: u8, quotes: &mut Quotes) -> Option<usize> {
    let mut at = 0;
    loop {
        match *quotes {
            Quotes::Unquoted { field_start } => {
                let Some(found) = memchr::memchr2(b'"', b'\n', &bytes[at..]).map(|i| at + i) else {
                    // Whatever was read here last (a stray quote too) says
                    // whether the next read starts a field.
                    if let Some(&last) = bytes.last() {
                        *quotes = Quotes::Unquoted { field_start: last == delimiter };
                    }
                    return None;
                };
                if bytes[found] == b'\n' {
                    return Some(found);
                }
                // The byte before is in this buffer, except at its start.
                let field_start = if found == 0 { field_start } else { bytes[found - 1] == delimiter };
                if field_start {
                    *quotes = Quotes::Quoted;
                }
                at = found + 1;
            }
            Quotes::Quoted => {
                at += memchr::memchr(b'"', &bytes[at..])? + 1;
                *quotes = Quotes::QuoteInQuoted;
            }
            Quotes::QuoteInQuoted => match bytes.get(at)? {
                b'"' => (at, *quotes) = (at + 1, Quotes::Quoted),
                _ => *quotes = Quotes::Unquoted { field_start: false },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(records: &[&[u8]]) -> Chunk {
        let mut chunk = Chunk { index: 0, data: Vec::new(), records: Vec::new() };
        for (line, record) in records.iter().enumerate() {
            let start = chunk.data.len();
            chunk.data.extend_from_slice(record);
            chunk.records.push(RecordSpan { line: line as u64 + 1, range: start..chunk.data.len(), oversized: None });
            chunk.data.push(b'\n');
        }
        chunk
    }

    /// Checked once per chunk, each record reads as its own check would
    /// have it, in valid chunks and in chunks with a bad record among good ones.
    #[test]
    fn chunk_text_agrees_with_a_check_per_record() {
        let good: [&[u8]; 4] = [b"plain", "caf\u{e9} \u{1f600}".as_bytes(), b"", b"{\"a\":1}"];
        let bad: [&[u8]; 6] = [b"plain", b"\xff", "\u{e9}".as_bytes(), &[0xc3], &[0xe2, 0x82], b"tail"];
        for records in [&good[..], &bad[..]] {
            let chunk = chunk(records);
            let text = chunk.text();
            for span in &chunk.records {
                let own = std::str::from_utf8(&chunk.data[span.range.clone()]).ok();
                assert_eq!(text.record(span.range.clone()), own, "line {}", span.line);
            }
        }
    }
}
