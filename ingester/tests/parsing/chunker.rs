use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use adhouse_ingester::chunker::{Chunk, Chunker, EXCERPT_BYTES, MAX_RECORD_BYTES, RecordSpan};
use tokio::io::{AsyncRead, ReadBuf};

/// How the chunker reads CSV (`formats::parser`).
const CSV: Option<u8> = Some(b',');

/// Hands out `data` in pieces of `step` bytes, as a slow network would.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl AsyncRead for Trickle {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let end = self.at.saturating_add(self.step).min(self.data.len()).min(self.at + buf.remaining());
        buf.put_slice(&self.data[self.at..end]);
        self.at = end;
        Poll::Ready(Ok(()))
    }
}

async fn chunks(data: &[u8], step: usize, per_chunk: usize, quoted_fields: Option<u8>) -> Vec<(u64, Vec<u64>, Vec<u8>)> {
    let mut chunker = Chunker::new(Trickle { data: data.to_vec(), at: 0, step }, per_chunk, quoted_fields);
    let mut out = Vec::new();
    while let Some(chunk) = chunker.next_chunk().await.unwrap() {
        out.push((chunk.index, chunk.records.iter().map(|r| r.line).collect(), chunk.data.clone()));
    }
    out
}

#[tokio::test]
async fn chunk_boundaries_depend_on_the_bytes_only_not_on_how_they_arrive() {
    let mut data = Vec::new();
    for i in 0..10_007 {
        data.extend_from_slice(format!("{{\"n\":{i},\"pad\":\"{}\"}}\r\n", "x".repeat(i % 50)).as_bytes());
    }
    data.extend_from_slice(b"last line without newline");
    let reference = chunks(&data, usize::MAX, 1000, None).await;
    assert_eq!(reference.len(), 11);
    assert_eq!(reference[10].1.len(), 8, "7 lines and the unterminated last one");
    for step in [1, 7, 4096, 65_537] {
        assert_eq!(chunks(&data, step, 1000, None).await, reference, "read size {step}");
    }
}

#[tokio::test]
async fn csv_records_continue_across_quoted_newlines_and_keep_their_first_line_number() {
    let data = b"a,b\n1,\"two\nlines\"\n2,\"say \"\"hi\"\"\"\n3,x\n";
    for step in [1, 3, 1000] {
        let chunks = chunks(data, step, 2, CSV).await;
        let lines: Vec<Vec<u64>> = chunks.iter().map(|c| c.1.clone()).collect();
        assert_eq!(lines, [vec![1, 2], vec![4, 5]], "read size {step}");
        assert_eq!(chunks[0].2, b"a,b\n1,\"two\nlines\"\n");
    }
}

/// A quote opens a quoted field only at the start of a field, as the CSV
/// parser reads it: a stray one (`5"-inch`) ends its record at its line's
/// end instead of swallowing the lines after it, `""` inside a quoted field
/// is an escaped quote, and the state survives reads cut anywhere.
#[tokio::test]
async fn a_quote_opens_a_csv_field_only_at_the_start_of_a_field_whatever_the_read_size() {
    let data = concat!(
        "1,news.example/5\"-inch,x\n",
        "2,\"a \"\"quoted\"\" value\nacross lines\",y\n",
        "\"3\",ab\"c\"d,z\n",
        "4,\"\",w\r\n",
        "5,\"x\"y\n",
        "6,z\n",
    );
    for step in [1, 2, 3, 5, 1000] {
        let lines: Vec<u64> = chunks(data.as_bytes(), step, 100, CSV).await.remove(0).1;
        assert_eq!(lines, [1, 2, 4, 5, 6, 7], "read size {step}");
    }
    // A stray quote that ends a read is no field start for the next read,
    // even when the read began at one (here `x,,` | `ab"` | `"y\n` at 3).
    for step in 1..=12 {
        assert_eq!(chunks(b"x,,ab\"\"y\nz\n", step, 100, CSV).await[0].1, [1, 2], "read size {step}");
    }
    // Fields start after the delimiter the format has, not after a comma.
    let data = b"a;\"x\ny\";b\nc\n";
    assert_eq!(chunks(data, 1, 100, Some(b';')).await[0].1, [1, 3]);
    assert_eq!(chunks(data, 1, 100, CSV).await[0].1, [1, 2, 3]);
}

/// One byte order mark at the start of an object is dropped, however it
/// arrives; it is not a line. Anywhere else it is data.
#[tokio::test]
async fn a_leading_byte_order_mark_is_dropped_whatever_the_read_size() {
    let data = "\u{feff}a\n\u{feff}b\n".as_bytes();
    for step in [1, 2, 1000] {
        let chunks = chunks(data, step, 100, None).await;
        assert_eq!((chunks[0].1.as_slice(), chunks[0].2.as_slice()), ([1, 2].as_slice(), "a\n\u{feff}b\n".as_bytes()), "read size {step}");
    }
    assert_eq!(chunks(&data[..2], 1, 100, None).await[0].2, b"\xef\xbb\n", "a partial mark is data");
}

/// Chunks read into the spare buffers of dropped chunks, which held other
/// records, hold exactly their own records under their own line numbers.
#[tokio::test]
async fn chunks_in_spare_buffers_hold_only_their_records() {
    let data: String = (0..1000).map(|n| format!("record {n}\r\n")).collect();
    for _ in 0..3 {
        let mut junk = Chunk::with_capacity(0, 0, 0);
        junk.data.extend_from_slice(&[b'x'; 1 << 16]);
        junk.records.push(RecordSpan { line: 7, range: 0..1, oversized: None });
        drop(junk);
        let chunks = chunks(data.as_bytes(), 4096, 64, None).await;
        assert_eq!(chunks.len(), 16);
        for (index, (_, lines, bytes)) in chunks.iter().enumerate() {
            let numbers = index * 64..(index * 64 + 64).min(1000);
            assert_eq!(*lines, numbers.clone().map(|n| n as u64 + 1).collect::<Vec<_>>());
            assert_eq!(String::from_utf8_lossy(bytes), numbers.map(|n| format!("record {n}\n")).collect::<String>());
        }
    }
}

/// A record's first line, its size if over-long, and the bytes kept of it.
type Span = (u64, Option<u64>, usize);

/// The records of `data`, read `step` bytes at a time.
async fn spans(data: &[u8], step: usize, quoted_fields: Option<u8>) -> Vec<Span> {
    let mut chunker = Chunker::new(Trickle { data: data.to_vec(), at: 0, step }, 2, quoted_fields);
    let mut out = Vec::new();
    while let Some(chunk) = chunker.next_chunk().await.unwrap() {
        out.extend(chunk.records.iter().map(|r| (r.line, r.oversized, r.range.len())));
    }
    out
}

#[tokio::test]
async fn an_over_long_line_is_skipped_to_its_end_at_the_start_middle_and_end_of_an_object() {
    let long = vec![b'x'; MAX_RECORD_BYTES + 10];
    let size = Some(long.len() as u64);
    let join = |parts: &[&[u8]]| parts.concat();
    let cases: [(Vec<u8>, Vec<Span>); 3] = [
        (join(&[&long, b"\na\nb\n"]), vec![(1, size, EXCERPT_BYTES), (2, None, 1), (3, None, 1)]),
        (join(&[b"a\n", &long, b"\nb\n"]), vec![(1, None, 1), (2, size, EXCERPT_BYTES), (3, None, 1)]),
        (join(&[b"a\nb\n", &long]), vec![(1, None, 1), (2, None, 1), (3, size, EXCERPT_BYTES)]),
    ];
    for (data, expected) in cases {
        for step in [1 << 10, 1 << 16, 1 << 21] {
            assert_eq!(spans(&data, step, None).await, expected, "read size {step}");
        }
    }
}

#[tokio::test]
async fn an_over_long_csv_record_ends_at_the_first_newline_outside_quotes() {
    let long = [b"1,\"".as_slice(), &vec![b'x'; MAX_RECORD_BYTES], b"\nstill quoted\",z\n2,y\n"].concat();
    let size = Some(long.len() as u64 - "\n2,y\n".len() as u64);
    assert_eq!(spans(&long, 1 << 16, CSV).await, vec![(1, size, EXCERPT_BYTES), (3, None, 3)]);
}
