//! The ingester's side: one local file through the production path —
//! content-sniffed decompression → [`Chunker`], read one chunk ahead
//! ([`ReadAhead`]) → the source's parser → mapping → [`EventsInsert`]
//! (RowBinary, LZ4 framing and HTTP upload on a task of its own) via
//! [`write_rows`], one de-duplicated insert per chunk — into the discarding
//! [`sink`](crate::sink). Timed twice: on the current thread only, for CPU
//! time per row ([`ingest_file`]), and on a runtime of two workers, as the
//! ingester runs, for the wall time of one object on both cores
//! ([`ingest_file_on_two_cores`]).
//!
//! Not included: S3 GetObject, the ledger's reads and writes, metrics, and
//! everything ClickHouse does with the rows once they arrive.

use std::io::{self, Read};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use adhouse_ingester::chunker::Chunker;
use adhouse_ingester::decode::decompress;
use adhouse_ingester::formats;
use adhouse_ingester::ingest::{EventsInsert, ReadAhead, TimeWindow, write_rows};
use adhouse_ingester::mapping::{ObjectContext, Source};
use anyhow::{Context as _, anyhow, bail};
use clickhouse::Client;
use tokio::io::{AsyncRead, ReadBuf};

/// One timed pass over a file.
#[derive(Debug, Clone, Copy)]
pub struct Pass {
    pub rows: u64,
    /// Decompressed bytes.
    pub bytes: u64,
    pub wall: Duration,
    /// CPU time of this thread (the sink's threads not included).
    pub cpu: Duration,
}

/// Ingests `path` as `source` into `sink`, a client of the discarding sink
/// (an insert into `events` asks the server nothing else).
pub async fn ingest_file(
    sink: &Client,
    source: &Source,
    tenant: &str,
    path: &Path,
    chunk_lines: usize,
) -> anyhow::Result<Pass> {
    let (cpu_before, started) = (thread_cpu(), Instant::now());
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (_, decoded) = decompress(InlineFile(file)).await?;
    let mut parser = formats::parser(source).map_err(|err| anyhow!(err.0))?;
    let mut chunks = ReadAhead::spawn(Chunker::new(decoded, chunk_lines, parser.quoted_fields()));
    let file_name = format!("file://{}", path.display());
    let context = ObjectContext {
        tenant,
        source: &source.name,
        file: &file_name,
    };
    let mut rows = 0;
    while let Some(chunk) = chunks.next_chunk().await? {
        let mut insert = EventsInsert::new(sink, &format!("bench:{}", chunk.index));
        let written = write_rows(source, context, &TimeWindow::unbounded(), parser.as_mut(), &chunk, &mut insert)
            .await
            .with_context(|| path.display().to_string())?;
        if let Some((line, rejection, _)) = written.rejected.first() {
            bail!(
                "{}: line {line} rejected ({}: {})",
                path.display(),
                rejection.reason,
                rejection.detail
            );
        }
        insert.end().await?;
        rows += written.rows;
    }
    Ok(Pass {
        rows,
        bytes: chunks.bytes_read(),
        wall: started.elapsed(),
        cpu: thread_cpu().saturating_sub(cpu_before),
    })
}

/// [`ingest_file`] on a runtime of two worker threads of its own, as in
/// `adhouse-ingester run`: the chunks are read ahead on a worker while this
/// thread parses, maps and inserts. `sink` makes the client in that runtime, whose
/// connections must not belong to the caller's blocked runtime.
pub fn ingest_file_on_two_cores(
    sink: impl FnOnce() -> Client + Send,
    source: &Source,
    tenant: &str,
    path: &Path,
    chunk_lines: usize,
) -> anyhow::Result<Pass> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    ingest_file(&sink(), source, tenant, path, chunk_lines).await
                })
            })
            .join()
            .map_err(|_| anyhow!("the two-core pass panicked"))?
    })
}

/// Time this thread has run on a CPU (`/proc/thread-self/schedstat`, ns);
/// zero where the kernel does not report it.
pub fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

/// A file read synchronously on the polling thread: from the page cache this
/// never blocks for long, and unlike `tokio::fs` it keeps the whole pass on
/// one thread, as an S3 body read by the runtime's own thread is.
struct InlineFile(std::fs::File);

impl AsyncRead for InlineFile {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let read = self.get_mut().0.read(buf.initialize_unfilled())?;
        buf.advance(read);
        Poll::Ready(Ok(()))
    }
}
