"""The shim as curl sees it: the ClickHouse HTTP interface used by hand and from scripts."""

import subprocess

import pytest


def curl(*args: str) -> tuple[int, dict[str, str], bytes]:
    """Runs curl, returning status, headers (lower-cased names) and body."""
    completed = subprocess.run(
        ["curl", "--silent", "--show-error", "--globoff", "--dump-header", "-", *args],
        capture_output=True,
        check=True,
        timeout=60,
    )
    head, _, body = completed.stdout.partition(b"\r\n\r\n")
    while head.split(b" ", 2)[1] == b"100":  # interim `100 Continue` before the real response
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def test_get_with_query_parameter_returns_tab_separated_rows(clickhouse_url):
    status, headers, body = curl(f"{clickhouse_url}/?query=SELECT%20number,%20'a%5Ctb'%20FROM%20numbers(2)")
    assert status == 200
    assert body == b"0\ta\\tb\n1\ta\\tb\n"
    assert headers["x-clickhouse-format"] == "TabSeparated"
    assert headers["content-type"] == "text/tab-separated-values; charset=UTF-8"
    assert headers["x-clickhouse-query-id"]
    assert headers["x-clickhouse-timezone"]


def test_post_body_query_with_format_clause(clickhouse_url):
    status, headers, body = curl(
        "--data-binary", "SELECT number AS n FROM numbers(2) FORMAT JSONEachRow", f"{clickhouse_url}/"
    )
    assert status == 200
    assert body == b'{"n":0}\n{"n":1}\n'
    assert headers["x-clickhouse-format"] == "JSONEachRow"


def test_query_parameter_and_body_are_one_statement(clickhouse_url):
    # As in ClickHouse: the `query` parameter, a line break, then the body.
    status, _, body = curl("--data-binary", "FROM numbers(3)", f"{clickhouse_url}/?query=SELECT%20sum(number)")
    assert (status, body) == (200, b"3\n")


def test_param_values_are_bound_server_side(clickhouse_url):
    status, _, body = curl(
        "--get",
        "--data-urlencode",
        "query=SELECT {name:String} AS name, {n:UInt8} + 1 AS next FORMAT CSV",
        "--data-urlencode",
        "param_name=O'Brien; DROP TABLE x",
        "--data-urlencode",
        "param_n=41",
        f"{clickhouse_url}/",
    )
    assert (status, body) == (200, b'"O\'Brien; DROP TABLE x",42\n')


def test_unknown_table_is_404_with_exception_code_and_clickhouse_text(clickhouse_url):
    status, headers, body = curl(f"{clickhouse_url}/?query=SELECT%20*%20FROM%20no_such_table")
    assert status == 404
    assert headers["x-clickhouse-exception-code"] == "60"
    assert body.startswith(b"Code: 60. DB::Exception: ")
    assert b"(UNKNOWN_TABLE) (version " in body


def test_syntax_error_is_400_with_code_62(clickhouse_url):
    status, headers, body = curl("--data-binary", "SELEC 1", f"{clickhouse_url}/")
    assert status == 400
    assert headers["x-clickhouse-exception-code"] == "62"
    assert b"(SYNTAX_ERROR)" in body


@pytest.mark.parametrize("path", ["/ping", "/", "/replicas_status"])
def test_health_paths_answer_ok(clickhouse_url, path):
    assert curl(f"{clickhouse_url}{path}")[::2] == (200, b"Ok.\n")


def test_unknown_path_is_404(clickhouse_url):
    status, _, body = curl(f"{clickhouse_url}/no/such/handler")
    assert status == 404
    assert body.startswith(b"There is no handle /no/such/handler")


def test_compressed_flag_gets_a_gzip_response_that_curl_decodes(clickhouse_url):
    status, headers, body = curl(
        "--compressed",
        "--header",
        "Accept-Encoding: gzip",
        f"{clickhouse_url}/?query=SELECT%20number%20FROM%20numbers(100000)",
    )
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert body == b"".join(b"%d\n" % i for i in range(100000))


def test_insert_body_from_a_file(clickhouse_url, database, tmp_path, ch):
    ch.text(f"CREATE TABLE {database}.events (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
    data = tmp_path / "events.tsv"
    data.write_text("".join(f"{i}\tevent {i}\n" for i in range(1000)))
    status, headers, body = curl(
        "--data-binary",
        f"@{data}",
        f"{clickhouse_url}/?query=INSERT%20INTO%20{database}.events%20FORMAT%20TabSeparated",
    )
    assert (status, body) == (200, b"")
    assert '"written_rows":"1000"' in headers["x-clickhouse-summary"]
    assert ch.text(f"SELECT count(), sum(id), max(name) FROM {database}.events") == "1000\t499500\tevent 999\n"


def test_get_is_read_only(clickhouse_url, database, ch):
    ch.text(f"CREATE TABLE {database}.t (x UInt8) ENGINE = Memory")
    status, headers, body = curl(f"{clickhouse_url}/?query=INSERT%20INTO%20{database}.t%20VALUES%20(1)")
    assert status != 200
    assert headers["x-clickhouse-exception-code"] == "164"
    assert b"(READONLY)" in body
    assert ch.text(f"SELECT count() FROM {database}.t") == "0\n"
