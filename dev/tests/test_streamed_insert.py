"""A large INSERT streamed with chunked transfer encoding arrives whole and exactly once."""

import requests

ROWS = 2_000_000
ROWS_PER_CHUNK = 50_000


def generated_rows():
    for start in range(0, ROWS, ROWS_PER_CHUNK):
        yield b"".join(b"%d\tcampaign-%d\t%d\n" % (i, i % 97, i * 3) for i in range(start, start + ROWS_PER_CHUNK))


def test_two_million_rows_stream_in_counted_exactly(clickhouse_url, database, ch):
    ch.text(
        f"CREATE TABLE {database}.impressions (id UInt64, campaign String, cost UInt64) ENGINE = MergeTree ORDER BY id"
    )
    # A generator body makes requests send `Transfer-Encoding: chunked`, as streaming clients do.
    response = requests.post(
        clickhouse_url,
        params={"query": f"INSERT INTO {database}.impressions FORMAT TabSeparated"},
        data=generated_rows(),
        timeout=600,
    )
    assert response.status_code == 200, response.text
    assert '"written_rows":"2000000"' in response.headers["X-ClickHouse-Summary"]
    assert (
        ch.text(f"SELECT count(), uniqExact(id), sum(cost), uniqExact(campaign) FROM {database}.impressions")
        == f"{ROWS}\t{ROWS}\t{3 * ROWS * (ROWS - 1) // 2}\t97\n"
    )
