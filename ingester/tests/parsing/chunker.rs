use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use adhouse_ingester::chunker::Chunker;
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
        out.push((chunk.index, chunk.records.iter().map(|r| r.line).collect(), chunk.data));
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

#[tokio::test]
async fn a_line_longer_than_the_limit_fails_instead_of_growing_memory() {
    let data = vec![b'x'; adhouse_ingester::chunker::MAX_RECORD_BYTES + 10];
    let mut chunker = Chunker::new(Trickle { data, at: 0, step: 1 << 16 }, 10, false);
    let err = chunker.next_chunk().await.unwrap_err();
    assert!(err.to_string().contains("line 1 is longer than"), "{err}");
}
