use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use adhouse_ingester::chunker::{Chunk, Chunker, EXCERPT_BYTES, MAX_RECORD_BYTES, RecordSpan};
use tokio::io::{AsyncRead, ReadBuf};

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

async fn chunks(data: &[u8], step: usize, per_chunk: usize, quoted: bool) -> Vec<(u64, Vec<u64>, Vec<u8>)> {
    let mut chunker = Chunker::new(Trickle { data: data.to_vec(), at: 0, step }, per_chunk, quoted);
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
    let reference = chunks(&data, usize::MAX, 1000, false).await;
    assert_eq!(reference.len(), 11);
    assert_eq!(reference[10].1.len(), 8, "7 lines and the unterminated last one");
    for step in [1, 7, 4096, 65_537] {
        assert_eq!(chunks(&data, step, 1000, false).await, reference, "read size {step}");
    }
}

#[tokio::test]
async fn csv_records_continue_across_quoted_newlines_and_keep_their_first_line_number() {
    let data = b"a,b\n1,\"two\nlines\"\n2,\"say \"\"hi\"\"\"\n3,x\n";
    for step in [1, 3, 1000] {
        let chunks = chunks(data, step, 2, true).await;
        let lines: Vec<Vec<u64>> = chunks.iter().map(|c| c.1.clone()).collect();
        assert_eq!(lines, [vec![1, 2], vec![4, 5]], "read size {step}");
        assert_eq!(chunks[0].2, b"a,b\n1,\"two\nlines\"\n");
    }
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
        let chunks = chunks(data.as_bytes(), 4096, 64, false).await;
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
async fn spans(data: &[u8], step: usize, quoted: bool) -> Vec<Span> {
    let mut chunker = Chunker::new(Trickle { data: data.to_vec(), at: 0, step }, 2, quoted);
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
            assert_eq!(spans(&data, step, false).await, expected, "read size {step}");
        }
    }
}

#[tokio::test]
async fn an_over_long_csv_record_ends_at_the_first_newline_outside_quotes() {
    let long = [b"1,\"".as_slice(), &vec![b'x'; MAX_RECORD_BYTES], b"\nstill quoted\",z\n2,y\n"].concat();
    let size = Some(long.len() as u64 - "\n2,y\n".len() as u64);
    assert_eq!(spans(&long, 1 << 16, true).await, vec![(1, size, EXCERPT_BYTES), (3, None, 3)]);
}
