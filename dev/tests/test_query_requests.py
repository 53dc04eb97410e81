"""How a request's parts become one query: settings, database, parameters, statement and data."""

import json
import socket
from urllib.parse import urlsplit

import pytest


def test_url_setting_applies_to_its_own_query_only(ch):
    default = ch.text("SELECT getSetting('max_execution_time')")
    # One keep-alive connection throughout, as a pooled client would reuse it.
    for _ in range(5):
        assert ch.text("SELECT getSetting('max_execution_time')", max_execution_time="17") == "17\n"
        assert ch.text("SELECT getSetting('max_execution_time')") == default


def test_set_statement_does_not_outlive_its_request(ch):
    default = ch.text("SELECT getSetting('max_threads')")
    ch.text("SET max_threads = 1")
    assert ch.text("SELECT getSetting('max_threads')") == default


def test_unknown_setting_is_rejected_with_code_115(ch):
    response = ch.post("SELECT 1", no_such_setting="1")
    assert response.status_code == 404
    assert response.headers["X-ClickHouse-Exception-Code"] == "115"


def test_readonly_setting_forbids_writes_in_that_query(ch, database):
    ch.text(f"CREATE TABLE {database}.t (x UInt8) ENGINE = Memory")
    response = ch.post(f"INSERT INTO {database}.t VALUES (1)", readonly="1")
    assert response.headers["X-ClickHouse-Exception-Code"] == "164"
    ch.text(f"INSERT INTO {database}.t VALUES (1)")
    assert ch.text(f"SELECT count() FROM {database}.t") == "1\n"


def test_database_parameter_is_the_default_database(ch, database):
    ch.text("CREATE TABLE t (x UInt8) ENGINE = Memory", database=database)
    ch.text("INSERT INTO t VALUES (7)", database=database)
    assert ch.text("SELECT currentDatabase(), sum(x) FROM t", database=database) == f"{database}\t7\n"
    assert ch.text("SELECT currentDatabase()") == "default\n"
    assert ch.post("SELECT 1", database="no_such_database").headers["X-ClickHouse-Exception-Code"] == "81"


def test_default_format_parameter_and_format_clause(ch):
    response = ch.post("SELECT 1 AS x", default_format="JSONEachRow")
    assert (response.text, response.headers["X-ClickHouse-Format"]) == ('{"x":1}\n', "JSONEachRow")
    response = ch.post("SELECT 1 AS x FORMAT CSVWithNames", default_format="JSONEachRow")
    assert (response.text, response.headers["X-ClickHouse-Format"]) == ('"x"\n1\n', "CSVWithNames")
    assert response.headers["Content-Type"] == "text/csv; charset=UTF-8; header=present"


def test_binary_formats_pass_through_from_the_engine(ch):
    response = ch.post("SELECT toUInt16(258) AS n, 'ab' AS s", default_format="RowBinaryWithNamesAndTypes")
    assert response.content == b"\x02\x01n\x01s\x06UInt16\x06String\x02\x01\x02ab"
    assert response.headers["Content-Type"] == "application/octet-stream"
    parquet = ch.post("SELECT number FROM numbers(10) FORMAT Parquet")
    assert parquet.content[:4] == b"PAR1"


def test_multipart_form_carries_query_and_parameters(ch):
    # clickhouse-rs 0.15 sends bound parameters of a SELECT this way.
    response = ch.http.post(
        ch.url,
        params={"default_format": "TabSeparated"},
        files={
            "query": (None, "SELECT {a:UInt8} + 1, {b:String}"),
            "param_a": (None, "41"),
            # Parameter values are escaped like TabSeparated fields, as ClickHouse reads them.
            "param_b": (None, "x\\ty"),
        },
    )
    assert response.text == "42\tx\\ty\n"


def test_insert_values_with_rows_in_the_body(ch, database):
    ch.text(f"CREATE TABLE {database}.t (x UInt8, s String) ENGINE = Memory")
    response = ch.post(f"INSERT INTO {database}.t VALUES", data=b"(1, 'a'), (2, 'b;c')")
    assert response.status_code == 200, response.text
    ch.text(f"INSERT INTO {database}.t (x, s) VALUES (3, 'FORMAT CSV')")
    assert ch.text(f"SELECT sum(x), groupArray(s) FROM {database}.t") == "6\t['a','b;c','FORMAT CSV']\n"


def test_insert_with_columns_and_settings_before_format(ch, database):
    ch.text(
        f"CREATE TABLE {database}.t (x UInt8, d DateTime('UTC'), s String DEFAULT 'dflt') ENGINE = MergeTree ORDER BY x"
    )
    response = ch.post(
        f"INSERT INTO {database}.t (x, d) SETTINGS date_time_input_format = 'best_effort' FORMAT CSV",
        data=b"1,2026-01-02T03:04:05Z\n",
    )
    assert response.status_code == 200, response.text
    assert ch.text(f"SELECT x, d, s FROM {database}.t") == "1\t2026-01-02 03:04:05\tdflt\n"


def test_insert_data_inline_in_the_body(ch, database):
    ch.text(f"CREATE TABLE {database}.t (x UInt8) ENGINE = Memory")
    assert ch.post(f"INSERT INTO {database}.t FORMAT TSV\n1\n2\n").status_code == 200
    assert ch.text(f"SELECT sum(x) FROM {database}.t") == "3\n"


@pytest.mark.parametrize(
    "data_format",
    [
        "RowBinary",
        "RowBinaryWithNamesAndTypes",
        "Native",
        "JSONEachRow",
        "CSV",
        "CSVWithNames",
        "TabSeparated",
        "TSVWithNamesAndTypes",
        "Values",
        "Parquet",
        "Arrow",
    ],
)
def test_insert_takes_back_what_the_engine_formats(ch, database, data_format):
    columns = "id UInt64, name String, at DateTime('UTC'), cost Decimal(18, 6), tags Array(String), note Nullable(String)"
    for table in ("source", "copy"):
        ch.text(f"CREATE TABLE {database}.{table} ({columns}) ENGINE = MergeTree ORDER BY id")
    ch.text(
        f"INSERT INTO {database}.source SELECT number, 'name ' || toString(number), toDateTime(number, 'UTC'), "
        "number / 7, [toString(number), 'x'], if(number % 3 = 0, NULL, 'n') FROM numbers(20000)"
    )
    data = ch.post(f"SELECT * FROM {database}.source ORDER BY id FORMAT {data_format}").content
    response = ch.post(f"INSERT INTO {database}.copy FORMAT {data_format}", data=data)
    assert response.status_code == 200, response.text
    assert '"written_rows":"20000"' in response.headers["X-ClickHouse-Summary"]
    fingerprint = "SELECT count(), sum(cityHash64(*)) FROM {}"
    assert ch.text(fingerprint.format(f"{database}.copy")) == ch.text(fingerprint.format(f"{database}.source"))


def test_insert_select_runs_as_one_query(ch, database):
    ch.text(f"CREATE TABLE {database}.t (x UInt64) ENGINE = Memory")
    response = ch.post(f"INSERT INTO {database}.t SELECT number FROM numbers(10)")
    assert '"written_rows":"10"' in response.headers["X-ClickHouse-Summary"]


def test_deduplication_token_setting_drops_a_repeated_insert(ch, database):
    ch.text(
        f"CREATE TABLE {database}.t (x UInt32) ENGINE = MergeTree ORDER BY x "
        "SETTINGS non_replicated_deduplication_window = 100"
    )
    for _ in range(2):
        response = ch.post(
            f"INSERT INTO {database}.t FORMAT TSV", data=b"1\n2\n3\n", insert_deduplication_token="batch-1"
        )
        assert response.status_code == 200, response.text
    assert ch.text(f"SELECT count() FROM {database}.t") == "3\n"


def test_async_insert_setting_waits_for_the_flush(ch, database):
    ch.text(f"CREATE TABLE {database}.t (x UInt32) ENGINE = MergeTree ORDER BY x")
    response = ch.post(f"INSERT INTO {database}.t FORMAT TSV", data=b"1\n2\n", async_insert="1")
    assert response.status_code == 200, response.text
    assert ch.text(f"SELECT count() FROM {database}.t") == "2\n"


def test_bad_row_reports_the_engines_parse_error(ch, database):
    ch.text(f"CREATE TABLE {database}.t (x UInt32) ENGINE = MergeTree ORDER BY x")
    response = ch.post(f"INSERT INTO {database}.t FORMAT CSV", data=b"1\nnot a number\n")
    assert response.status_code == 400
    code = response.headers["X-ClickHouse-Exception-Code"]
    assert response.text.startswith(f"Code: {code}. DB::Exception: ")
    assert "CSVRowInputFormat" in response.text


def test_empty_and_multi_statement_queries_are_refused_like_clickhouse(ch):
    assert ch.post("  -- nothing\n").headers["X-ClickHouse-Exception-Code"] == "62"
    assert ch.post("SELECT 1; SELECT 2").headers["X-ClickHouse-Exception-Code"] == "62"
    assert ch.text("SELECT 1;") == "1\n"


def test_summary_and_query_id_headers(ch):
    response = ch.post("SELECT number FROM numbers(1000) WHERE number % 10 = 0", query_id="my-query-1")
    assert response.headers["X-ClickHouse-Query-Id"] == "my-query-1"
    summary = json.loads(response.headers["X-ClickHouse-Summary"])
    assert summary["read_rows"] == "1000"
    assert summary["result_rows"] == "100"
    assert set(summary) >= {"written_rows", "written_bytes", "total_rows_to_read", "result_bytes", "elapsed_ns"}


def test_post_without_length_or_chunking_is_411(clickhouse_url):
    # Raw socket: HTTP libraries add a Content-Length to every POST.
    url = urlsplit(clickhouse_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status_line = sock.makefile("rb").readline()
    assert status_line.startswith(b"HTTP/1.1 411 ")


def test_empty_post_is_an_empty_query(ch):
    assert ch.http.post(ch.url, data=b"").headers["X-ClickHouse-Exception-Code"] == "62"
