//! Decompression by content, not by file name: log shippers are not careful
//! with extensions, and the first bytes never lie.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader, ReadBuf};

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
/// read to the end, not to the end of the first member; zero bytes after
/// the last member end the stream, as `gzip -d` reads them. zstd is read to
/// the end of its last frame: `zstd -d` rejects such padding.
pub async fn decompress<R: AsyncRead + Unpin + Send + 'static>(raw: R) -> io::Result<(Compression, Decoded)> {
    let mut reader = BufReader::with_capacity(256 << 10, raw);
    let head = reader.fill_buf().await?;
    let compression = match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    };
    let decoded: Decoded = match compression {
        Compression::Gzip => Box::new(GzipMembers { member: Some(GzipDecoder::new(reader)), padding: false }),
        Compression::Zstd => {
            let mut decoder = ZstdDecoder::new(reader);
            decoder.multiple_members(true);
            Box::new(decoder)
        }
        Compression::None => Box::new(reader),
    };
    Ok((compression, decoded))
}

/// Gzip members one after another over one buffered reader, each decoded
/// on its own so that what follows a member is judged only once it has
/// ended (a member's own trailer may end in zeros): another member, the end
/// of the input, or zero bytes up to the end (block-padding writers). The
/// decoder's `multiple_members` would take the zeros for a member's header.
/// Anything else fails, as a bad header does.
struct GzipMembers<R> {
    /// `None` only while a decoder is replaced by the next member's.
    member: Option<GzipDecoder<BufReader<R>>>,
    /// Zeros seen after the last member: only zeros may follow.
    padding: bool,
}

impl<R: AsyncRead + Unpin> AsyncRead for GzipMembers<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            let member = this.member.as_mut().expect("a member is being decoded");
            let filled = buf.filled().len();
            ready!(Pin::new(&mut *member).poll_read(cx, buf))?;
            if buf.filled().len() > filled || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            // The member has ended; its decoder reads nothing more.
            let mut reader = Pin::new(member.get_mut());
            let rest = ready!(reader.as_mut().poll_fill_buf(cx))?;
            let (len, zeros) = (rest.len(), rest.iter().take_while(|&&b| b == 0).count());
            if len == 0 {
                return Poll::Ready(Ok(()));
            }
            if zeros > 0 {
                reader.consume(zeros);
                this.padding = true;
            } else if this.padding {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "data after the zero padding of a gzip stream")));
            } else {
                let reader = this.member.take().map(GzipDecoder::into_inner);
                this.member = reader.map(GzipDecoder::new);
            }
        }
    }
}
