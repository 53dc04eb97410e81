//! Findings of the ingestion audit (audit-ingest): each test states what an
//! object's records should become, and fails on main.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

struct Bytes(Vec<u8>, usize);

impl AsyncRead for Bytes {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let end = self.0.len().min(self.1 + buf.remaining());
        let at = self.1;
        buf.put_slice(&self.0[at..end].to_vec());
        self.1 = end;
        Poll::Ready(Ok(()))
    }
}

/// A gzip object padded with zero bytes after its last member (some
/// shippers and tape/block writers pad to a block size): `gzip -d` reads it
/// ("trailing zero bytes ignored"), but the multi-member decoder takes the
/// zeros for a next member's header and fails with `InvalidData`. The
/// ingester then marks the object failed and never inserts the chunk that
/// was being read: its rows are lost although every byte of data is intact.
#[tokio::test]
async fn a_gzip_object_padded_with_zeros_after_its_last_member_is_read_whole() {
    use std::io::Write as _;
    use tokio::io::AsyncReadExt as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"one\ntwo\n").unwrap();
    let mut data = gz.finish().unwrap();
    data.extend_from_slice(&[0; 512]);
    let (_, mut decoded) = adhouse_ingester::decode::decompress(Bytes(data, 0)).await.unwrap();
    let mut text = Vec::new();
    let read = decoded.read_to_end(&mut text).await.map_err(|err| (err.kind(), err.to_string()));
    assert_eq!(read.map(|_| text), Ok(b"one\ntwo\n".to_vec()));
}
