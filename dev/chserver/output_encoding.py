"""How a response body is encoded on its way out, decided per request as ClickHouse decides it.

`compress=1` wraps the body in ClickHouse's block framing (method from the
`network_compression_method` setting); then, if `enable_http_compression` is
on and the client's Accept-Encoding names a method, HTTP compression wraps
that.  Error texts written after this point go through the same encoding,
as ClickHouse writes them into the same output stream.
"""

from dataclasses import dataclass

from . import http_compression, native_compression
from .request import QueryRequest


@dataclass(frozen=True)
class OutputEncoding:
    block_method: int | None
    block_zstd_level: int
    http_coding: str | None
    http_level: int

    @classmethod
    def for_request(cls, request: QueryRequest, accept_encoding: str, defaults: dict[str, str]) -> "OutputEncoding":
        def setting(name: str) -> str:
            return request.setting(name, defaults.get(name, ""))

        block_method = None
        if request.compress_response:
            block_method = native_compression.METHODS_BY_SETTING.get(
                setting("network_compression_method").upper(), native_compression.LZ4
            )
        http_coding = None
        if setting("enable_http_compression").lower() in ("1", "true"):
            http_coding = http_compression.choose_response_coding(accept_encoding)
        return cls(
            block_method=block_method,
            block_zstd_level=_int_or(setting("network_zstd_compression_level"), 1),
            http_coding=http_coding,
            http_level=_int_or(setting("http_zlib_compression_level"), 3),
        )

    def headers(self) -> list[tuple[str, str]]:
        return [("Content-Encoding", self.http_coding)] if self.http_coding else []

    def encode(self, pieces):
        if self.block_method is not None:
            pieces = native_compression.encode(pieces, self.block_method, self.block_zstd_level)
        if self.http_coding:
            pieces = http_compression.encode(pieces, self.http_coding, self.http_level)
        return pieces


def _int_or(text: str, fallback: int) -> int:
    # A malformed value is the engine's to reject when the request's settings are applied.
    try:
        return int(text)
    except ValueError:
        return fallback
