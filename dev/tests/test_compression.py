"""Compressed bodies both ways: ClickHouse's block framing (compress=1 / decompress=1) and HTTP codings.

The block framing is built here independently of the shim (lz4, zstandard and
clickhouse-cityhash directly), and that builder is itself checked against the
engine's own MergeTree column files, which use the same framing.
"""

import glob
import gzip
import os
import struct

import lz4.block
import lz4.frame
import pytest
import zstandard
from clickhouse_cityhash.cityhash import CityHash128

LZ4, ZSTD, NONE = 0x82, 0x90, 0x02


def block_checksum(header_and_payload: bytes) -> bytes:
    value = CityHash128(header_and_payload)
    return struct.pack("<QQ", value >> 64, value & ((1 << 64) - 1))


def frame(data: bytes, method: int) -> bytes:
    payload = {
        LZ4: lambda: lz4.block.compress(data, store_size=False),
        ZSTD: lambda: zstandard.ZstdCompressor().compress(data),
        NONE: lambda: data,
    }[method]()
    framed = struct.pack("<BII", method, 9 + len(payload), len(data)) + payload
    return block_checksum(framed) + framed


def unframe(stream: bytes) -> bytes:
    out, pos = [], 0
    while pos < len(stream):
        reference = stream[pos : pos + 16]
        method, compressed_size, size = struct.unpack("<BII", stream[pos + 16 : pos + 25])
        framed = stream[pos + 16 : pos + 16 + compressed_size]
        assert block_checksum(framed) == reference
        payload = framed[9:]
        if method == LZ4:
            out.append(lz4.block.decompress(payload, uncompressed_size=size))
        elif method == ZSTD:
            out.append(zstandard.ZstdDecompressor().decompress(payload, max_output_size=size))
        else:
            out.append(payload)
        pos += 16 + compressed_size
    return b"".join(out)


def test_block_builder_matches_the_engines_own_column_files(ch, database):
    ch.text(
        f"CREATE TABLE {database}.wide (a UInt64 CODEC(LZ4), b String CODEC(ZSTD(1)), c UInt32 CODEC(NONE)) "
        "ENGINE = MergeTree ORDER BY a SETTINGS min_bytes_for_wide_part = 0"
    )
    ch.text(f"INSERT INTO {database}.wide SELECT number, toString(number), number FROM numbers(200000)")
    part = ch.text(f"SELECT path FROM system.parts WHERE database = '{database}' AND table = 'wide'").strip()
    checked = 0
    for column_file in glob.glob(os.path.join(part, "*.bin")):
        with open(column_file, "rb") as f:
            stream = f.read()
        unframe(stream)  # asserts every block's checksum
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("method", ["LZ4", "ZSTD"])
def test_compress_1_response_is_checksummed_blocks(ch, method):
    sql = "SELECT number, toString(number) FROM numbers(300000) FORMAT TabSeparated"
    plain = ch.post(sql)
    identity = {"Accept-Encoding": "identity"}
    framed = ch.post(sql, headers=identity, compress="1", network_compression_method=method)
    assert framed.status_code == 200
    assert framed.headers.get("Content-Encoding") is None
    assert framed.content[16] == {"LZ4": LZ4, "ZSTD": ZSTD}[method]
    assert len(framed.content) < len(plain.content)
    assert unframe(framed.content) == plain.content


@pytest.mark.parametrize("method", [LZ4, ZSTD, NONE])
def test_decompress_1_insert_in_several_blocks(ch, database, method):
    ch.text(f"CREATE TABLE {database}.t (id UInt32, s String) ENGINE = MergeTree ORDER BY id")
    rows = [
        b"".join(b"%d\tname %d\n" % (i, i) for i in range(start, start + 10000)) for start in range(0, 50000, 10000)
    ]
    body = b"".join(frame(chunk, method) for chunk in rows)
    response = ch.post(f"INSERT INTO {database}.t FORMAT TabSeparated", data=body, decompress="1")
    assert response.status_code == 200, response.text
    assert ch.text(f"SELECT count(), sum(id) FROM {database}.t") == f"50000\t{sum(range(50000))}\n"


def test_corrupted_block_checksum_is_rejected_with_code_40(ch, database):
    ch.text(f"CREATE TABLE {database}.t (id UInt32) ENGINE = MergeTree ORDER BY id")
    good = frame(b"1\n2\n3\n", LZ4)
    corrupted = bytes([good[0] ^ 0xFF]) + good[1:]
    # The good block before it has arrived already; the INSERT fails before its
    # rows make a part, so none of them land.
    response = ch.post(f"INSERT INTO {database}.t FORMAT TabSeparated", data=good + corrupted, decompress="1")
    assert response.status_code == 500
    assert response.headers["X-ClickHouse-Exception-Code"] == "40"
    assert "(CHECKSUM_DOESNT_MATCH)" in response.text
    assert ch.text(f"SELECT count() FROM {database}.t") == "0\n"


def test_truncated_block_is_an_error_not_a_short_insert(ch, database):
    ch.text(f"CREATE TABLE {database}.t (id UInt32) ENGINE = MergeTree ORDER BY id")
    response = ch.post(f"INSERT INTO {database}.t FORMAT TabSeparated", data=frame(b"1\n2\n", LZ4)[:-3], decompress="1")
    assert response.headers["X-ClickHouse-Exception-Code"] == "33"
    assert ch.text(f"SELECT count() FROM {database}.t") == "0\n"


ENCODERS = {
    "gzip": gzip.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "lz4": lz4.frame.compress,
}


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_content_encoded_insert_body_is_decoded(ch, database, encoding):
    ch.text(f"CREATE TABLE {database}.t (id UInt32) ENGINE = MergeTree ORDER BY id")
    # Two frames back to back, as a client compressing chunk by chunk sends them.
    body = ENCODERS[encoding](b"".join(b"%d\n" % i for i in range(0, 500))) + ENCODERS[encoding](
        b"".join(b"%d\n" % i for i in range(500, 1000))
    )
    response = ch.post(
        f"INSERT INTO {database}.t FORMAT TabSeparated", data=body, headers={"Content-Encoding": encoding}
    )
    assert response.status_code == 200, response.text
    assert ch.text(f"SELECT count(), sum(id) FROM {database}.t") == f"1000\t{sum(range(1000))}\n"


@pytest.mark.parametrize(
    ("accept", "expected"), [("gzip", "gzip"), ("zstd", "zstd"), ("lz4", "lz4"), ("gzip, br", "br"), ("", None)]
)
def test_response_uses_clickhouses_preferred_accepted_coding(ch, accept, expected):
    response = ch.http.post(
        ch.url,
        data=b"SELECT 1",
        headers={"Accept-Encoding": accept},
        stream=True,
    )
    assert response.headers.get("Content-Encoding") == expected


def test_http_compression_can_be_switched_off_per_query(ch):
    response = ch.http.post(
        ch.url, params={"enable_http_compression": "0"}, data=b"SELECT 1", headers={"Accept-Encoding": "gzip"}
    )
    assert response.headers.get("Content-Encoding") is None
    assert response.text == "1\n"
