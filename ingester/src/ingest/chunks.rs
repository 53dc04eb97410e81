//! How an object is cut into chunks (both ways a pure function of its
//! content): text formats by lines as the body streams in, read one chunk
//! ahead (`read_ahead`), Parquet by row groups of a spooled copy, since its
//! footer comes last (read ahead by its own reader).

use adhouse_core::settings::Format;

use super::read_ahead::ReadAhead;
use crate::chunker::{Chunk, Chunker};
use crate::decode::decompress;
use crate::error::StreamError;
use crate::formats::parquet::RowGroupChunks;
use crate::mapping::Source;
use crate::store::Body;

/// The chunks of one object, in order.
pub enum ObjectChunks {
    Lines(ReadAhead),
    RowGroups(RowGroupChunks),
}

impl ObjectChunks {
    /// Row groups start at `next_chunk`, skipping committed ones unread;
    /// lines start at the beginning, since the parser must see every header.
    pub async fn open(
        source: &Source,
        body: Body,
        chunk_lines: usize,
        quoted_fields: Option<u8>,
        next_chunk: u32,
    ) -> Result<Self, StreamError> {
        if source.format == Format::Parquet {
            let fields = source.mapping.fields.clone();
            return RowGroupChunks::open(body, fields, chunk_lines, u64::from(next_chunk)).await.map(Self::RowGroups);
        }
        let (_, decoded) = decompress(body).await.map_err(|err| StreamError::from_io(1, err))?;
        Ok(Self::Lines(ReadAhead::spawn(Chunker::new(decoded, chunk_lines, quoted_fields))))
    }

    pub async fn next_chunk(&mut self) -> Result<Option<Chunk>, StreamError> {
        match self {
            Self::Lines(lines) => lines.next_chunk().await,
            Self::RowGroups(row_groups) => row_groups.next_chunk().await,
        }
    }

    /// Bytes read so far: decompressed text, or the whole Parquet object.
    pub fn bytes_read(&self) -> u64 {
        match self {
            Self::Lines(lines) => lines.bytes_read(),
            Self::RowGroups(row_groups) => row_groups.bytes_read,
        }
    }
}
