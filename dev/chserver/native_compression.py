"""ClickHouse's compressed-block framing (`compress=1` responses, `decompress=1` request bodies).

Each block is: a 16-byte CityHash128 (v1.0.2) checksum of everything after it,
one method byte (0x02 none, 0x82 LZ4, 0x90 ZSTD), the UInt32 LE size of the
compressed block including that 9-byte header, the UInt32 LE uncompressed size,
and the payload.  The checksum is stored as the hash's high 64 bits then its low
64 bits, both little-endian: that is what the engine writes into its own
MergeTree `.bin` files, which share this framing.
"""

import struct

import lz4.block
import zstandard
from clickhouse_cityhash.cityhash import CityHash128

from .errors import ServerError
from .streams import Reader

NONE = 0x02
LZ4 = 0x82
ZSTD = 0x90

_HEADER = struct.Struct("<BII")
_CHECKSUM_BYTES = 16
_MASK64 = (1 << 64) - 1
# ClickHouse refuses blocks above 1 GiB as a sign of corrupted framing.
_MAX_BLOCK_BYTES = 1 << 30

METHODS_BY_SETTING = {"LZ4": LZ4, "LZ4HC": LZ4, "ZSTD": ZSTD, "NONE": NONE}


def checksum(header_and_payload: bytes) -> bytes:
    value = CityHash128(header_and_payload)
    return struct.pack("<QQ", value >> 64, value & _MASK64)


def encode_block(data: bytes, method: int, zstd_level: int = 1) -> bytes:
    if method == LZ4:
        payload = lz4.block.compress(data, store_size=False)
    elif method == ZSTD:
        payload = zstandard.ZstdCompressor(level=zstd_level).compress(data)
    else:
        payload = bytes(data)
    framed = _HEADER.pack(method, _HEADER.size + len(payload), len(data)) + payload
    return checksum(framed) + framed


def encode(pieces, method: int, zstd_level: int = 1):
    """Frames each body piece as one compressed block, as ClickHouse's CompressedWriteBuffer does."""
    for piece in pieces:
        if piece:
            yield encode_block(piece, method, zstd_level)


class FramedBody:
    """A request body of compressed blocks, verified and decompressed block by block."""

    def __init__(self, source: Reader):
        self._source = source
        self._pending = b""
        self._done = False

    def read(self, size: int) -> bytes:
        while not self._pending and not self._done:
            self._pending = self._next_block()
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _next_block(self) -> bytes:
        reference = self._read_exact(_CHECKSUM_BYTES, allow_end=True)
        if not reference:
            self._done = True
            return b""
        header = self._read_exact(_HEADER.size)
        method, compressed_size, uncompressed_size = _HEADER.unpack(header)
        if compressed_size > _MAX_BLOCK_BYTES or uncompressed_size > _MAX_BLOCK_BYTES:
            raise ServerError(
                "TOO_LARGE_SIZE_COMPRESSED",
                f"Too large size_compressed_without_checksum: {compressed_size}. Most likely corrupted data",
            )
        if compressed_size < _HEADER.size:
            raise ServerError("CORRUPTED_DATA", f"Compressed block size {compressed_size} is below its header size")
        payload = self._read_exact(compressed_size - _HEADER.size)
        actual = checksum(header + payload)
        if actual != reference:
            raise ServerError(
                "CHECKSUM_DOESNT_MATCH",
                f"Checksum doesn't match: corrupted data. Reference: {_hex(reference)}. "
                f"Actual: {_hex(actual)}. Size of compressed block: {compressed_size}",
            )
        return _decompress(method, payload, uncompressed_size)

    def _read_exact(self, size: int, allow_end: bool = False) -> bytes:
        parts, total = [], 0
        while total < size:
            data = self._source.read(size - total)
            if not data:
                if allow_end and total == 0:
                    return b""
                raise ServerError(
                    "CANNOT_READ_ALL_DATA",
                    f"Cannot read all data. Bytes read: {total}. Bytes expected: {size}",
                )
            parts.append(data)
            total += len(data)
        return b"".join(parts)


def _decompress(method: int, payload: bytes, uncompressed_size: int) -> bytes:
    try:
        if method == LZ4:
            return lz4.block.decompress(payload, uncompressed_size=uncompressed_size)
        if method == ZSTD:
            return zstandard.ZstdDecompressor().decompress(payload, max_output_size=uncompressed_size)
    except Exception as exc:  # lz4 and zstandard raise their own error types
        raise ServerError("CANNOT_DECOMPRESS", f"Cannot decompress block: {exc}") from None
    if method == NONE:
        return payload
    raise ServerError("UNKNOWN_COMPRESSION_METHOD", f"Unknown compression method: {method:#04x}")


def _hex(digest: bytes) -> str:
    high, low = struct.unpack("<QQ", digest)
    return f"{high:016x}{low:016x}"
