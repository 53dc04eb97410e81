"""An INSERT's reply tells what the engine did: rejected at commit means an error, stored rows are counted.

chDB's streaming insert once answered "written" for blocks the engine refused
when it committed them (too many partitions, a violated constraint, a failing
materialized view); these scenarios send their data the way clients stream it.
"""

import datetime
import json
import socket
from urllib.parse import urlsplit

import clickhouse_connect
import pytest
import requests
from clickhouse_connect.driver.exceptions import DatabaseError

DAYS = 150
ROWS_PER_CHUNK = 50_000


def streamed(*parts: bytes):
    """A generator body: requests sends it with `Transfer-Encoding: chunked`, as streaming clients do."""
    yield from parts


def one_row_per_day(days: int) -> bytes:
    first = datetime.date(2026, 1, 1)
    return b"".join(b"%s\t%d\n" % ((first + datetime.timedelta(days=n)).isoformat().encode(), n) for n in range(days))


def numbers(start: int, stop: int) -> bytes:
    return b"".join(b"%d\n" % n for n in range(start, stop))


def chunks_of_numbers(count: int) -> list[bytes]:
    return [numbers(start, min(start + ROWS_PER_CHUNK, count)) for start in range(0, count, ROWS_PER_CHUNK)]


def written_rows(response: requests.Response) -> int:
    return int(json.loads(response.headers["X-ClickHouse-Summary"])["written_rows"])


def assert_engine_error(response: requests.Response, status: int, code: int, name: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["X-ClickHouse-Exception-Code"] == str(code)
    assert response.text.startswith(f"Code: {code}. DB::Exception: ")
    assert f"({name})" in response.text


def insert(clickhouse_url: str, table: str, *body: bytes, **settings) -> requests.Response:
    return requests.post(
        clickhouse_url,
        params={"query": f"INSERT INTO {table} FORMAT TabSeparated", **settings},
        data=streamed(*body),
        timeout=120,
    )


def test_insert_spanning_too_many_partitions_fails_with_code_252_and_stores_nothing(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.daily (day Date, n UInt32) ENGINE = MergeTree PARTITION BY day ORDER BY n")
    response = insert(clickhouse_url, f"{database}.daily", one_row_per_day(DAYS))
    assert_engine_error(response, 500, 252, "TOO_MANY_PARTS")
    assert "Too many partitions for single INSERT block (more than 100)" in response.text
    assert ch.text(f"SELECT count() FROM {database}.daily") == "0\n"


def test_partition_limit_set_for_the_request_lets_the_same_insert_through(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.daily (day Date, n UInt32) ENGINE = MergeTree PARTITION BY day ORDER BY n")
    response = insert(clickhouse_url, f"{database}.daily", one_row_per_day(DAYS), max_partitions_per_insert_block="200")
    assert response.status_code == 200, response.text
    assert written_rows(response) == DAYS
    assert ch.text(f"SELECT count(), uniqExact(day) FROM {database}.daily") == f"{DAYS}\t{DAYS}\n"


def test_insert_violating_a_check_constraint_fails_with_code_469_and_stores_nothing(clickhouse_url, database, ch):
    ch.text(
        f"CREATE TABLE {database}.costs (x Int64, CONSTRAINT positive CHECK x > 0) ENGINE = MergeTree ORDER BY x"
    )
    response = insert(clickhouse_url, f"{database}.costs", numbers(1, 1000), b"-5\n", numbers(1000, 2000))
    assert_engine_error(response, 500, 469, "VIOLATED_CONSTRAINT")
    assert "Constraint `positive`" in response.text
    assert ch.text(f"SELECT count() FROM {database}.costs") == "0\n"


def test_insert_into_a_table_with_too_many_parts_fails_with_code_252(clickhouse_url, database, ch):
    ch.text(
        f"CREATE TABLE {database}.busy (x UInt32) ENGINE = MergeTree ORDER BY x "
        "SETTINGS parts_to_delay_insert = 1, parts_to_throw_insert = 1"
    )
    ch.text(f"INSERT INTO {database}.busy VALUES (1)")
    response = insert(clickhouse_url, f"{database}.busy", b"2\n")
    assert_engine_error(response, 500, 252, "TOO_MANY_PARTS")
    assert ch.text(f"SELECT count() FROM {database}.busy") == "1\n"


def test_materialized_view_failing_on_insert_fails_the_insert(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.clicks (x Int32) ENGINE = MergeTree ORDER BY x")
    ch.text(f"CREATE TABLE {database}.checked (x Int32) ENGINE = MergeTree ORDER BY x")
    ch.text(
        f"CREATE MATERIALIZED VIEW {database}.check_clicks TO {database}.checked "
        f"AS SELECT x + throwIf(x = 5, 'five is refused') AS x FROM {database}.clicks"
    )
    response = insert(clickhouse_url, f"{database}.clicks", b"1\n5\n")
    assert_engine_error(response, 500, 395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO")
    assert "five is refused" in response.text
    assert ch.text(f"SELECT count() FROM {database}.checked") == "0\n"


def test_bad_value_in_the_middle_of_a_large_body_fails_with_code_27_and_stores_nothing(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.ids (id UInt64) ENGINE = MergeTree ORDER BY id")
    # 600 000 rows: less than one insert block (min_insert_block_size_rows), so ClickHouse
    # has committed nothing either when it meets the bad value.
    good = chunks_of_numbers(600_000)
    response = insert(clickhouse_url, f"{database}.ids", *good[:6], b"12x\n", *good[6:])
    assert_engine_error(response, 400, 27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED")
    assert "(at row 300001)" in response.text
    assert ch.text(f"SELECT count() FROM {database}.ids") == "0\n"


def test_engine_error_names_no_file_the_client_did_not_send(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.ids (id UInt64) ENGINE = MergeTree ORDER BY id")
    response = insert(clickhouse_url, f"{database}.ids", b"1\nnope\n")
    assert response.status_code == 400, response.text
    assert "file" not in response.text.lower()
    assert response.text.count("DB::Exception") == 1


def test_body_cut_off_mid_stream_fails_and_stores_nothing(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.ids (id UInt64) ENGINE = MergeTree ORDER BY id")
    url = urlsplit(clickhouse_url)
    rows = numbers(0, 100_000)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(
            f"POST /?query=INSERT%20INTO%20{database}.ids%20FORMAT%20TSV HTTP/1.1\r\nHost: localhost\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
            + b"%x\r\n" % len(rows)
            + rows
            + b"\r\n"
        )
        sock.shutdown(socket.SHUT_WR)  # the client goes away before the closing chunk
        status_line = sock.makefile("rb").readline()
    assert status_line.startswith(b"HTTP/1.1 500 "), status_line
    assert ch.text(f"SELECT count() FROM {database}.ids") == "0\n"


def test_clickhouse_connect_insert_rejected_at_commit_raises_code_252(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.daily (day Date, n UInt32) ENGINE = MergeTree PARTITION BY day ORDER BY n")
    url = urlsplit(clickhouse_url)
    client = clickhouse_connect.get_client(host=url.hostname, port=url.port, database=database, compress="lz4")
    first = datetime.date(2026, 1, 1)
    rows = [[first + datetime.timedelta(days=n), n] for n in range(DAYS)]
    with pytest.raises(DatabaseError) as raised:
        client.insert("daily", rows, column_names=["day", "n"])
    assert "Code: 252" in str(raised.value)
    assert ch.text(f"SELECT count() FROM {database}.daily") == "0\n"


def test_written_rows_is_what_count_then_sees(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.ids (id UInt64) ENGINE = MergeTree ORDER BY id")
    response = insert(clickhouse_url, f"{database}.ids", *chunks_of_numbers(200_000))
    assert response.status_code == 200, response.text
    assert written_rows(response) == 200_000
    assert ch.text(f"SELECT count() FROM {database}.ids") == "200000\n"


def test_deduplicated_retry_succeeds_and_stores_nothing_more(clickhouse_url, database, ch):
    ch.text(
        f"CREATE TABLE {database}.ids (id UInt64) ENGINE = MergeTree ORDER BY id "
        "SETTINGS non_replicated_deduplication_window = 100"
    )
    written = []
    for _ in range(2):
        response = insert(
            clickhouse_url, f"{database}.ids", *chunks_of_numbers(200_000), insert_deduplication_token="batch-7"
        )
        assert response.status_code == 200, response.text
        written.append(written_rows(response))
        assert ch.text(f"SELECT count() FROM {database}.ids") == "200000\n"
    # The retry's summary says 200000 too, as ClickHouse's does: written_rows counts
    # the rows entering the insert, before the table recognises a block it already has.
    assert written == [200_000, 200_000]


def test_deduplicated_retry_is_not_counted_again_by_a_materialized_view(clickhouse_url, database, ch):
    ch.text(
        f"CREATE TABLE {database}.clicks (campaign String) ENGINE = MergeTree ORDER BY campaign "
        "SETTINGS non_replicated_deduplication_window = 100"
    )
    ch.text(
        f"CREATE TABLE {database}.per_campaign (campaign String, clicks UInt64) "
        "ENGINE = SummingMergeTree ORDER BY campaign SETTINGS non_replicated_deduplication_window = 100"
    )
    ch.text(
        f"CREATE MATERIALIZED VIEW {database}.count_clicks TO {database}.per_campaign "
        f"AS SELECT campaign, count() AS clicks FROM {database}.clicks GROUP BY campaign"
    )
    body = b"a\na\nb\n"
    for _ in range(2):
        response = insert(
            clickhouse_url,
            f"{database}.clicks",
            body,
            insert_deduplication_token="clicks-1",
            deduplicate_blocks_in_dependent_materialized_views="1",
        )
        assert response.status_code == 200, response.text
    assert ch.text(f"SELECT count() FROM {database}.clicks") == "3\n"
    per_campaign = f"SELECT campaign, sum(clicks) FROM {database}.per_campaign GROUP BY campaign ORDER BY campaign"
    assert ch.text(per_campaign) == "a\t2\nb\t1\n"
