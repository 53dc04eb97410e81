"""Where an INSERT's inline data begins, and which FORMAT a query names (no server needed)."""

import pytest

from chserver.sqltext import find_inline_insert, query_shape


@pytest.mark.parametrize(
    ("text", "header", "data_format", "data"),
    [
        (b"INSERT INTO t FORMAT CSV\n1,2\n", "INSERT INTO t ", "CSV", b"1,2\n"),
        (b"INSERT INTO t FORMAT RowBinary\r\n\n\x00", "INSERT INTO t ", "RowBinary", b"\n\x00"),
        (b"INSERT INTO t FORMAT TSV  1\t2", "INSERT INTO t ", "TSV", b"1\t2"),
        (b"insert into db.format (a) settings x = 'FORMAT' format JSONEachRow\n{}", None, "JSONEachRow", b"{}"),
        (b"INSERT INTO values VALUES (1), (2)", "INSERT INTO values ", "Values", b" (1), (2)"),
        (b"INSERT INTO t VALUES ('FORMAT CSV')", "INSERT INTO t ", "Values", b" ('FORMAT CSV')"),
        (b"INSERT INTO FUNCTION file('x.csv', CSV) FORMAT TSV\n1", None, "TSV", b"1"),
        (b"/* a /* nested */ comment */ INSERT -- FORMAT CSV\nINTO t FORMAT `CSV`\n9", None, "CSV", b"9"),
    ],
)
def test_inline_insert_splits_header_from_data(text, header, data_format, data):
    insert = find_inline_insert(text)
    assert insert is not None
    if header is not None:
        assert insert.header == header
    assert insert.data_format == data_format
    assert text[insert.data_start :] == data


@pytest.mark.parametrize(
    ("text", "target", "settings"),
    [
        (b"INSERT INTO t FORMAT CSV\n1", "INSERT INTO t ", ""),
        (b"INSERT INTO t (a) SETTINGS x = 'FORMAT' FORMAT CSV\n1", "INSERT INTO t (a) ", "SETTINGS x = 'FORMAT' "),
        (b"INSERT INTO db.settings SETTINGS x = 1, y = 2 VALUES (1)", "INSERT INTO db.settings ", "SETTINGS x = 1, y = 2 "),
        (b"INSERT INTO t (settings) VALUES (1)", "INSERT INTO t (settings) ", ""),
    ],
)
def test_insert_settings_clause_is_split_from_its_target(text, target, settings):
    # FROM INFILE has to go between the two (see engine.Session.insert).
    insert = find_inline_insert(text)
    assert (insert.target, insert.settings) == (target, settings)


@pytest.mark.parametrize(
    "text",
    [
        b"SELECT 1 FORMAT CSV",
        b"INSERT INTO t SELECT * FROM s FORMAT CSV",
        b"INSERT INTO t (SELECT 1)",
        b"INSERT INTO t FROM INFILE 'x.csv' FORMAT CSV",
        b"INSERT INTO t WITH 1 AS x SELECT x",
    ],
)
def test_statements_without_inline_data_are_left_whole(text):
    assert find_inline_insert(text) is None


@pytest.mark.parametrize(
    ("sql", "statements", "output_format"),
    [
        ("", 0, None),
        ("  -- only a comment\n", 0, None),
        ("SELECT 1;", 1, None),
        ("SELECT 1; SELECT 2", 2, None),
        ("SELECT ';' AS `;`", 1, None),
        ("SELECT 'FORMAT JSON' FORMAT CSV", 1, "CSV"),
        ("SELECT {p:String} FORMAT RowBinary SETTINGS max_threads = 1", 1, "RowBinary"),
        ("SELECT $$ ; FORMAT x $$", 1, None),
    ],
)
def test_query_shape(sql, statements, output_format):
    shape = query_shape(sql)
    assert (shape.statements, shape.output_format, shape.empty) == (statements, output_format, statements == 0)
