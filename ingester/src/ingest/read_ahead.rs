//! One object on two cores: the next chunk of a text object is read (the
//! S3 body, decompression, cutting into records) by a task of its own while
//! the current one is parsed, mapped and inserted. The task waits while one
//! chunk is ready and unclaimed, so an object holds at most three chunks
//! (being read, ready, being inserted). Chunk boundaries are the chunker's,
//! unchanged: reading ahead moves work, not bytes.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::chunker::{Chunk, Chunker};
use crate::decode::Decoded;
use crate::error::StreamError;

/// A chunk, or the end of the object, and the bytes read up to it.
type Ready = (Result<Option<Chunk>, StreamError>, u64);

/// The chunks of one object, read one ahead; the reading stops when this is dropped.
pub struct ReadAhead {
    ready: mpsc::Receiver<Ready>,
    reader: JoinHandle<()>,
    bytes_read: u64,
}

impl ReadAhead {
    /// Starts reading `chunker` on a task of the current runtime.
    pub fn spawn(mut chunker: Chunker<Decoded>) -> Self {
        let (sender, ready) = mpsc::channel(1);
        let reader = tokio::spawn(async move {
            loop {
                let next = chunker.next_chunk().await;
                let last = !matches!(next, Ok(Some(_)));
                if sender.send((next, chunker.bytes_read)).await.is_err() || last {
                    return;
                }
            }
        });
        Self { ready, reader, bytes_read: 0 }
    }

    /// The next chunk, `None` after the last one, as [`Chunker::next_chunk`].
    pub async fn next_chunk(&mut self) -> Result<Option<Chunk>, StreamError> {
        // A channel closed before the end was sent means the task panicked
        // or was aborted: an error, never the end of the object, which
        // would mark it done without its last chunks.
        let (next, bytes_read) = self.ready.recv().await.ok_or_else(|| StreamError::Io {
            line: 0,
            source: std::io::Error::other("the task reading the object stopped"),
        })?;
        self.bytes_read = bytes_read;
        next
    }

    /// Decompressed bytes read up to the last chunk returned.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
