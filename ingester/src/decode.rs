//! Decompression by content, not by file name: log shippers are not careful
//! with extensions, and the first bytes never lie.

use std::io;

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// How an object's bytes are compressed (the sample generator writes the same set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }
}

pub type Decoded = Box<dyn AsyncRead + Unpin + Send>;

/// Wraps `raw` in the decoder its first bytes call for. Gzip files of
/// several members (concatenated .gz files, common with log rotation) are
/// read to the end, not to the end of the first member.
pub async fn decompress<R: AsyncRead + Unpin + Send + 'static>(raw: R) -> io::Result<(Compression, Decoded)> {
    let mut reader = BufReader::with_capacity(256 << 10, raw);
    let head = reader.fill_buf().await?;
    let compression = match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    };
    let decoded: Decoded = match compression {
        Compression::Gzip => {
            let mut decoder = GzipDecoder::new(reader);
            decoder.multiple_members(true);
            Box::new(decoder)
        }
        Compression::Zstd => {
            let mut decoder = ZstdDecoder::new(reader);
            decoder.multiple_members(true);
            Box::new(decoder)
        }
        Compression::None => Box::new(reader),
    };
    Ok((compression, decoded))
}
