"""Byte streams a request body flows through, one reader wrapping the next.

Every reader offers `read(size) -> bytes`, returning b"" only at the end, so
transfer framing, content decoding and ClickHouse's block framing stack
without any of them holding more than one chunk in memory.
"""

from typing import Protocol

from .errors import ServerError

CHUNK_BYTES = 1 << 20


class Reader(Protocol):
    def read(self, size: int) -> bytes: ...


class EmptyBody:
    def read(self, size: int) -> bytes:
        return b""


class LengthBody:
    """A body framed by Content-Length."""

    def __init__(self, raw, length: int):
        self._raw = raw
        self._left = length

    def read(self, size: int) -> bytes:
        if self._left <= 0:
            return b""
        data = self._raw.read(min(size, self._left))
        if not data:
            raise ServerError(
                "CANNOT_READ_ALL_DATA",
                f"Request body ended {self._left} bytes before its Content-Length",
            )
        self._left -= len(data)
        return data


class ChunkedBody:
    """A body sent with `Transfer-Encoding: chunked` (what streaming clients use)."""

    def __init__(self, raw):
        self._raw = raw
        self._left_in_chunk = 0
        self._done = False

    def read(self, size: int) -> bytes:
        if self._done:
            return b""
        if self._left_in_chunk == 0:
            self._left_in_chunk = self._next_chunk_size()
            if self._left_in_chunk == 0:
                self._skip_trailers()
                self._done = True
                return b""
        data = self._raw.read(min(size, self._left_in_chunk))
        if not data:
            raise ServerError("CANNOT_READ_ALL_DATA", "Chunked request body ended inside a chunk")
        self._left_in_chunk -= len(data)
        if self._left_in_chunk == 0:
            self._raw.readline()
        return data

    def _next_chunk_size(self) -> int:
        line = self._raw.readline(1024)
        try:
            return int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ServerError("CANNOT_READ_ALL_DATA", f"Malformed chunk size line {line[:40]!r}") from None

    def _skip_trailers(self) -> None:
        while self._raw.readline(8192) not in (b"\r\n", b"\n", b""):
            pass


class Prefixed:
    """Bytes already taken off a stream, followed by the rest of that stream."""

    def __init__(self, prefix: bytes, rest: Reader):
        self._prefix = memoryview(prefix)
        self._rest = rest

    def read(self, size: int) -> bytes:
        if self._prefix:
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return bytes(data)
        return self._rest.read(size)


def read_up_to(reader: Reader, limit: int) -> bytes:
    """Reads until `limit` bytes or the end, whichever comes first."""
    parts, total = [], 0
    while total < limit:
        data = reader.read(limit - total)
        if not data:
            break
        parts.append(data)
        total += len(data)
    return b"".join(parts)


def read_all(reader: Reader) -> bytes:
    parts = []
    while data := reader.read(CHUNK_BYTES):
        parts.append(data)
    return b"".join(parts)


def chunks(reader: Reader):
    while data := reader.read(CHUNK_BYTES):
        yield data


def drain(reader: Reader) -> None:
    """Consumes what the client still sends, so a kept-alive connection stays in step."""
    for _ in chunks(reader):
        pass
