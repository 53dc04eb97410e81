"""`chdb.connect`'s interface over chDB 2.x (PyPI `chdb==2.1.1`, ClickHouse
24.8.4.1), so that chserver can serve the oldest ClickHouse adhouse claims
(dev/tests/test_clickhouse_248.py).

chDB 2.x has no connections and no query parameters: `Session.query` runs each
call in a fresh context on the data path, and carries the current database
and SET statements over to later calls in two files there (`default_database`,
`set_statements`), which it writes unquoted, so `SET x = 'a b'` breaks every
later query. So a connection records the USE and SET statements chserver's
`Session` issues and sends them with each query, as one multi-statement text
with a `SET param_<name>` per parameter; after every call the two files are
removed, and nothing leaks from one request into the next. One lock: no two
queries run at once on 24.8.
"""

import json
import os
import re
import threading

from chdb import ChdbError
from chdb import session as chdb_session

from .sqltext import quote_identifier, quote_string

# Where chDB 2.x keeps a session's USE and SETs between calls.
_CARRIED_STATE = ("default_database", "set_statements")

# chserver's spooled insert (engine.Session.insert). chDB 2.1.1 reads its file
# as if every column of the table were listed, whatever the column list says
# (a RowBinary body of some columns then fails with CANNOT_READ_ALL_DATA), so
# such an insert is sent as INSERT ... SELECT from file() with the listed
# columns' structure instead.
_SPOOLED_INSERT = re.compile(
    r"(?s)^(?P<head>INSERT INTO\s+(?:`(?P<db>[^`]+)`\.)?`?(?P<table>[^`(\s]+)`?\s*\((?P<columns>[^)]*)\))"
    r"\s+FROM INFILE (?P<path>'(?:[^'\\]|\\.)*') COMPRESSION 'none'\s*(?P<settings>.*?)\s*FORMAT\s+`?(?P<format>\w+)`?\s*$"
)


class _Shared:
    """The data path's one session."""

    def __init__(self, path: str):
        self.path = path
        self.session = chdb_session.Session(path)
        self.lock = threading.Lock()

    def run(self, text: str, output_format: str):
        with self.lock:
            try:
                return self.session.query(text, output_format)
            except ChdbError as error:  # chserver maps RuntimeError to ClickHouse's error responses
                raise RuntimeError(str(error)) from None
            finally:
                for name in _CARRIED_STATE:
                    try:
                        os.remove(os.path.join(self.path, name))
                    except FileNotFoundError:
                        pass


_SESSIONS: dict[str, _Shared] = {}
_SESSIONS_LOCK = threading.Lock()


def connect(path: str) -> "Connection":
    with _SESSIONS_LOCK:
        shared = _SESSIONS.get(path) or _SESSIONS.setdefault(path, _Shared(path))
    return Connection(shared)


class Connection:
    def __init__(self, shared: _Shared):
        self._shared = shared
        self._scope: list[str] = []

    def close(self) -> None:
        self._scope.clear()

    def query(self, sql: str, output_format: str = "CSV", params: dict[str, str] | None = None):
        if sql.lstrip()[:4].upper() in ("USE ", "SET "):
            self._scope.append(sql)
            return _Result(None)
        if spooled := _SPOOLED_INSERT.match(sql.strip()):
            sql = self._insert_select(spooled)
        return _Result(self._run(sql, output_format, params))

    def _run(self, sql: str, output_format: str, params: dict[str, str] | None = None):
        parameters = [f"SET {quote_identifier('param_' + name)} = {quote_string(value)}" for name, value in (params or {}).items()]
        return self._shared.run(";\n".join([*self._scope, *parameters, sql.strip().rstrip(";")]), output_format)

    def _insert_select(self, spooled: re.Match) -> str:
        columns = [name.strip().strip("`") for name in spooled["columns"].split(",")]
        database = quote_string(spooled["db"]) if spooled["db"] else "currentDatabase()"
        found = self._run(
            f"SELECT name, type FROM system.columns WHERE database = {database} AND table = {quote_string(spooled['table'])}",
            "JSONEachRow",
        )
        types = {row["name"]: row["type"] for row in map(json.loads, found.bytes().splitlines())}
        structure = ", ".join(f"{quote_identifier(name)} {types[name]}" for name in columns)
        return (
            f"{spooled['head']} SELECT * FROM file({spooled['path']}, {quote_string(spooled['format'])}, {quote_string(structure)}) "
            f"{spooled['settings']}"
        )


class _Result:
    """chdb-core 26.x's result interface over a 2.x result (which counts no written rows)."""

    def __init__(self, result):
        self._result = result

    def bytes(self) -> bytes:
        return self._result.bytes() if self._result else b""

    def get_memview(self):
        return self._result.get_memview() if self._result else _EmptyView()

    def rows_read(self) -> int:
        return self._result.rows_read() if self._result else 0

    def bytes_read(self) -> int:
        return self._result.bytes_read() if self._result else 0

    storage_rows_read = rows_read
    storage_bytes_read = bytes_read

    def rows_written(self) -> int:
        return 0

    def bytes_written(self) -> int:
        return 0

    def elapsed(self) -> float:
        return self._result.elapsed() if self._result else 0.0


class _EmptyView:
    """What a USE or SET, run later with the query, returns now."""

    def view(self) -> memoryview:
        return memoryview(b"")
