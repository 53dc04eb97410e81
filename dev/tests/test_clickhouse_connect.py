"""The shim as the official Python client (clickhouse-connect) sees it."""

from datetime import datetime
from urllib.parse import urlsplit

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError


def connect(clickhouse_url: str, database: str, compress: str | bool):
    url = urlsplit(clickhouse_url)
    return clickhouse_connect.get_client(
        host=url.hostname, port=url.port, username="default", password="", database=database, compress=compress
    )


@pytest.mark.parametrize("compression", ["lz4", "zstd", "gzip", False])
def test_create_insert_and_query_with_bound_parameters(clickhouse_url, database, compression):
    client = connect(clickhouse_url, database, compression)
    assert client.compression == (compression or None)  # negotiated with the server, used both ways
    client.command(
        "CREATE TABLE clicks (id UInt64, campaign String, at DateTime('UTC'), cost Decimal(18, 6)) "
        "ENGINE = MergeTree ORDER BY id"
    )
    rows = [[i, f"campaign-{i % 7}", datetime(2026, 1, 1 + i % 28, 12, 0, 0), i * 0.25] for i in range(5000)]
    summary = client.insert("clicks", rows, column_names=["id", "campaign", "at", "cost"])
    assert summary.written_rows == 5000

    result = client.query(
        "SELECT campaign, count() AS n FROM clicks WHERE id >= {min_id:UInt64} AND campaign = {campaign:String} "
        "GROUP BY campaign",
        parameters={"min_id": 1000, "campaign": "campaign-3"},
    )
    assert result.result_rows == [("campaign-3", sum(1 for i in range(1000, 5000) if i % 7 == 3))]
    assert client.query("SELECT sum(cost) FROM clicks").result_rows[0][0] == sum(i * 0.25 for i in range(5000))


def test_server_error_is_raised_with_its_code(clickhouse_url, database):
    client = connect(clickhouse_url, database, "lz4")
    with pytest.raises(DatabaseError) as raised:
        client.query("SELECT * FROM no_such_table")
    assert "Code: 60" in str(raised.value)
    assert "UNKNOWN_TABLE" in str(raised.value)


def test_query_returns_columns_in_native_format(clickhouse_url, database):
    client = connect(clickhouse_url, database, "lz4")
    result = client.query("SELECT number AS n, toString(number) AS s FROM numbers(100000)")
    assert result.column_names == ("n", "s")
    assert len(result.result_rows) == 100000
    assert result.result_rows[99999] == (99999, "99999")
