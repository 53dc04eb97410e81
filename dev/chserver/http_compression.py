"""HTTP content codings (`Content-Encoding` / `Accept-Encoding`) as ClickHouse speaks them.

ClickHouse decodes a request body named by `Content-Encoding` and, when
`enable_http_compression` is on, encodes the response with the first method of
its preference list that the client's `Accept-Encoding` mentions.  Its names:
gzip, deflate (a zlib stream), br, xz, zstd, lz4 (an LZ4 frame), bz2, snappy.
Snappy has no dependable Python binding here and is left out, so a client
offering only snappy gets an uncompressed response.
"""

import bz2
import lzma
import zlib

import brotli
import lz4.frame
import zstandard

from .errors import ServerError
from .streams import Reader

# ClickHouse's own order of preference (chooseHTTPCompressionMethod).
_PREFERENCE = ("zstd", "br", "lz4", "gzip", "deflate", "xz", "bz2")


class _Brotli:
    """brotli's decompressor under the `decompress`/`eof`/`unused_data` interface the others share."""

    def __init__(self):
        self._inner = brotli.Decompressor()
        self.unused_data = b""

    def decompress(self, data: bytes) -> bytes:
        return self._inner.process(data)

    @property
    def eof(self) -> bool:
        return self._inner.is_finished()


_DECOMPRESSORS = {
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "deflate": lambda: zlib.decompressobj(zlib.MAX_WBITS),
    "br": _Brotli,
    "xz": lzma.LZMADecompressor,
    # A ZstdDecompressor is not safe to share between threads: one per body.
    "zstd": lambda: zstandard.ZstdDecompressor().decompressobj(),
    "lz4": lz4.frame.LZ4FrameDecompressor,
    "bz2": bz2.BZ2Decompressor,
}


class DecodedBody:
    """A request body decoded from its Content-Encoding.

    A body may hold several concatenated frames (a client compressing chunk by
    chunk), so a finished decompressor is replaced by a fresh one for whatever
    follows it.  A body that ends inside a frame is an error, not a short read.
    """

    def __init__(self, source: Reader, encoding: str):
        self._source = source
        self._new = _DECOMPRESSORS[encoding]
        self._decompressor = self._new()
        self._inside_frame = False
        self._pending = b""

    def read(self, size: int) -> bytes:
        while not self._pending:
            if self._decompressor.eof:
                leftover = self._decompressor.unused_data
                self._decompressor = self._new()
                self._inside_frame = False
                if leftover:
                    self._feed(leftover)
                    continue
            compressed = self._source.read(size)
            if not compressed:
                if self._inside_frame:
                    raise ServerError("CANNOT_DECOMPRESS", "Compressed request body is truncated")
                return b""
            self._feed(compressed)
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _feed(self, compressed: bytes) -> None:
        self._inside_frame = True
        try:
            self._pending = self._decompressor.decompress(compressed)
        except Exception as exc:  # each library raises its own error type
            raise ServerError("CANNOT_DECOMPRESS", f"Cannot decompress request body: {exc}") from None


def request_decoder(content_encoding: str):
    """Returns how to decode a body with this Content-Encoding, or None for an identity body."""
    name = content_encoding.strip().lower()
    if name in ("", "identity", "none"):
        return None
    if name not in _DECOMPRESSORS:
        raise ServerError(
            "NOT_IMPLEMENTED",
            f"Unknown compression method '{content_encoding}'. Only "
            f"{', '.join(sorted(_DECOMPRESSORS))} are supported as Content-Encoding",
        )
    return lambda source: DecodedBody(source, name)


class _Encoder:
    """One streaming compressor with a uniform `header`/`compress`/`finish` interface."""

    def __init__(self, compress, finish, header: bytes = b""):
        self.header = header
        self.compress = compress
        self.finish = finish


def _encoder(name: str, level: int) -> _Encoder:
    if name == "gzip":
        z = zlib.compressobj(_zlib_level(level), zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return _Encoder(z.compress, z.flush)
    if name == "deflate":
        z = zlib.compressobj(_zlib_level(level))
        return _Encoder(z.compress, z.flush)
    if name == "br":
        b = brotli.Compressor(quality=min(max(level, 0), 11))
        return _Encoder(b.process, b.finish)
    if name == "xz":
        x = lzma.LZMACompressor()
        return _Encoder(x.compress, x.flush)
    if name == "zstd":
        z = zstandard.ZstdCompressor(level=level).compressobj()
        return _Encoder(z.compress, z.flush)
    if name == "lz4":
        f = lz4.frame.LZ4FrameCompressor()
        return _Encoder(f.compress, f.flush, header=f.begin())
    b = bz2.BZ2Compressor()
    return _Encoder(b.compress, b.flush)


def _zlib_level(level: int) -> int:
    return min(max(level, 0), 9)


def choose_response_coding(accept_encoding: str) -> str | None:
    offered = accept_encoding.lower()
    return next((name for name in _PREFERENCE if name in offered), None)


def encode(pieces, coding: str, level: int):
    """Compresses a stream of body pieces into one stream in `coding`."""
    encoder = _encoder(coding, level)
    if encoder.header:
        yield encoder.header
    for piece in pieces:
        if out := encoder.compress(piece):
            yield out
    if out := encoder.finish():
        yield out
