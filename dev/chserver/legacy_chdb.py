"""`chdb.connect`'s interface over chDB 2.x (PyPI `chdb==2.1.1`, ClickHouse
24.8.4.1), so that chserver can serve the oldest ClickHouse adhouse claims
(dev/tests/test_clickhouse_248.py).

chDB 2.x has one `Session` per process and no query parameters.  Each query
call is its own context for parameters (`SET param_x` in one call is gone in
the next) but not for settings or the current database, which stay in the
session.  So a connection records the USE and SET statements chserver's
`Session` issues, and each query runs as one multi-statement text: first the
settings an earlier request changed, back at their defaults; then this
connection's USE (or `USE default`) and SETs; a `SET param_<name>` per
parameter; then the query.  One lock serialises the session: no two queries
run at once on 24.8.
"""

import re
import threading

from chdb import ChdbError
from chdb import session as chdb_session

from .sqltext import quote_identifier, quote_string

_SET = re.compile(r"SET `((?:[^`\\]|\\.)*)` = ")


class _Shared:
    """The process's one session, and which settings requests have changed in it."""

    def __init__(self, path: str):
        self.session = chdb_session.Session(path)
        self.lock = threading.Lock()
        self.defaults: dict[str, str] = {}

    def run(self, text: str, output_format: str):
        try:
            return self.session.query(text, output_format)
        except ChdbError as error:  # chserver maps RuntimeError to ClickHouse's error responses
            raise RuntimeError(str(error)) from None


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
        head = sql.lstrip()[:4].upper()
        if head in ("USE ", "SET "):
            # readonly cannot be lowered again in the shared session, so GET's
            # read-only mode is not emulated on 24.8.
            if _SET.match(sql) is None or _SET.match(sql).group(1) != "readonly":
                self._scope.append(sql)
            return _Result(None)
        shared = self._shared
        mine = {match.group(1) for statement in self._scope if (match := _SET.match(statement))}
        with shared.lock:
            for name in mine - set(shared.defaults):
                # Captured before any request changes it; later requests restore it.
                value = shared.run(f"SELECT toString(getSetting({quote_string(name)}))", "RawBLOB")
                shared.defaults[name] = value.bytes().decode()
            statements = [f"SET {quote_identifier(name)} = {quote_string(value)}" for name, value in shared.defaults.items() if name not in mine]
            if not any(statement.lstrip().upper().startswith("USE ") for statement in self._scope):
                statements.append("USE default")
            statements += self._scope
            statements += [f"SET {quote_identifier('param_' + name)} = {quote_string(value)}" for name, value in (params or {}).items()]
            statements.append(sql.strip().rstrip(";"))
            return _Result(shared.run(";\n".join(statements), output_format))


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
