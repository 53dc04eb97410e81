"""The embedded ClickHouse engine (chDB) and the per-request sessions queries run in.

chDB hosts one engine per process, bound to one data path, alive while at least
one connection to it is open.  Each connection is its own session (current
database, SET settings), and queries on different connections run in parallel
with the GIL released.  So every request gets a fresh connection: its
`database` and settings cannot leak into another request, and no lock is
needed.  An idle anchor connection keeps the engine up between requests.
"""

import json
import os
from dataclasses import dataclass

try:
    from chdb import connect
except ImportError:  # chDB 2.x (ClickHouse 24.8): one Session per process, adapted
    from .legacy_chdb import connect

from .errors import EngineError, ErrorCatalog, ServerError, from_engine_exception, from_file_insert
from .spool import Spool
from .sqltext import quote_identifier, quote_string

# Settings the HTTP layer itself acts on; their engine defaults decide what a
# request that does not mention them gets.
TRANSPORT_SETTINGS = (
    "enable_http_compression",
    "http_zlib_compression_level",
    "network_compression_method",
    "network_zstd_compression_level",
)

# How the engine reads a spooled INSERT body (see `Session.insert`), unless the
# request sets these itself: plain reads, where chDB's default (mmap) would map
# the whole file into the server's resident memory; one parsing thread, as chDB's
# streaming insert parsed, so errors still name the row format (CSVRowInputFormat).
_SPOOLED_INSERT_SETTINGS = (("storage_file_read_method", "read"), ("input_format_parallel_parsing", "0"))


@dataclass(frozen=True)
class Summary:
    """The counters ClickHouse reports in `X-ClickHouse-Summary`."""

    read_rows: int = 0
    read_bytes: int = 0
    written_rows: int = 0
    written_bytes: int = 0
    total_rows_to_read: int = 0
    result_rows: int = 0
    result_bytes: int = 0
    elapsed_ns: int = 0


@dataclass(frozen=True)
class SessionScope:
    """What a request sets up before its statement runs."""

    database: str | None
    settings: tuple[tuple[str, str], ...]  # applied in order


class QueryOutput:
    """A finished query's formatted bytes, exactly as the engine produced them."""

    def __init__(self, result):
        # A copy: the result's buffer belongs to the connection, which closes
        # before the response is written; a view into it would be read after
        # it was freed (corrupt responses under concurrent requests).
        self.body = bytes(result.get_memview().view())
        self.summary = Summary(
            read_rows=result.storage_rows_read(),
            read_bytes=result.storage_bytes_read(),
            written_rows=result.rows_written(),
            written_bytes=result.bytes_written(),
            total_rows_to_read=result.storage_rows_read(),
            result_rows=result.rows_read(),
            result_bytes=result.bytes_read(),
            elapsed_ns=int(result.elapsed() * 1e9),
        )


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except (EngineError, ServerError):
        raise
    except RuntimeError as exc:
        raise from_engine_exception(exc) from None


class Engine:
    def __init__(self, path: str):
        self._path = os.path.abspath(path)
        os.makedirs(self._path, exist_ok=True)
        self._anchor = _call(connect, self._path)
        self._spool = Spool(os.path.join(self._path, "insert_spool"))
        self.version = self._rows("SELECT version() AS v")[0]["v"]
        self.timezone = self._rows("SELECT timezone() AS tz")[0]["tz"]
        self.catalog = ErrorCatalog(
            {
                row["name"]: row["code"]
                for row in self._rows(
                    "SELECT DISTINCT name, code FROM system.errors SETTINGS system_events_show_zero_values = 1"
                )
            },
            self.version,
        )
        # ClickHouse 24.8's system.formats has no content_type (added later):
        # every output format then answers as text, as its HTTP server did.
        has_content_type = self._rows(
            "SELECT count() AS n FROM system.columns WHERE database = 'system' AND table = 'formats' AND name = 'content_type'"
        )[0]["n"] not in (0, "0")
        content_type = "content_type" if has_content_type else "'text/plain; charset=UTF-8'"
        self.content_types = {
            row["name"]: row["content_type"]
            for row in self._rows(f"SELECT name, {content_type} AS content_type FROM system.formats WHERE is_output")
        }
        self.setting_defaults = {
            row["name"]: row["value"]
            for row in self._rows(
                "SELECT name, value FROM system.settings WHERE name IN {names:Array(String)}",
                names=str(list(TRANSPORT_SETTINGS)),
            )
        }

    def _rows(self, sql: str, **params) -> list[dict]:
        result = _call(self._anchor.query, sql, "JSONEachRow", params=params)
        return [json.loads(line) for line in result.bytes().splitlines()]

    def session(self, scope: SessionScope) -> "Session":
        return Session(_call(connect, self._path), scope, self._spool)

    def insert_session(self, scope: SessionScope) -> "Session":
        """A session for `Session.insert`: the spool's read settings go first, so the request's own win."""
        return self.session(SessionScope(scope.database, (*_SPOOLED_INSERT_SETTINGS, *scope.settings)))

    def close(self) -> None:
        self._anchor.close()


class Session:
    """One request's connection, with its database and settings applied."""

    def __init__(self, connection, scope: SessionScope, spool: Spool):
        self._connection = connection
        self._spool = spool
        try:
            if scope.database:
                self._run(f"USE {quote_identifier(scope.database)}")
            for name, value in scope.settings:
                self._run(f"SET {quote_identifier(name)} = {quote_string(value)}")
        except BaseException:
            connection.close()
            raise

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc_info) -> None:
        self._connection.close()

    def _run(self, sql: str) -> None:
        _call(self._connection.query, sql, "TabSeparated")

    def query(self, sql: str, output_format: str, params: dict[str, str]) -> QueryOutput:
        return QueryOutput(_call(self._connection.query, sql, output_format, params=params))

    def insert(self, target: str, settings: str, data_format: str, chunks, params: dict[str, str]) -> Summary:
        """Runs `target [settings] FORMAT data_format` with `chunks` as its data, in constant memory.

        Not through chDB's streaming insert (`send_insert`, `append`, `finish`):
        in chdb-core 26.9 `finish()` reports every row it was sent even when the
        engine refused the block at commit (too many partitions, a CHECK
        constraint, a failing materialized view), so a failed INSERT read as
        stored.  `INSERT ... FROM INFILE` runs the engine's ordinary insert and
        raises its error, so the body is spooled to a file first.  As with
        ClickHouse's own streaming INSERT, blocks the engine has already
        committed stay written if the data later turns out bad.
        """
        with self._spool.written(chunks) as path:
            sql = (
                f"{target} FROM INFILE {quote_string(path)} COMPRESSION 'none' "
                f"{settings} FORMAT {quote_identifier(data_format)}"
            )
            try:
                return self.query(sql, "TabSeparated", params).summary
            except EngineError as error:
                raise from_file_insert(error, path) from None
