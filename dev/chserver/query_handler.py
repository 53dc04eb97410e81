"""Serves one query request: split statement from data, run it on the engine, shape the reply.

The statement is the `query` parameter, a line break, then the body, as in
ClickHouse.  When that text is an INSERT carrying its data (`FORMAT <name>` or
`VALUES`), the data — possibly hundreds of megabytes — goes from the socket to
the engine chunk by chunk, through a spool file (see `engine.Session.insert`);
anything else is read whole and run as one query whose formatted result the
engine hands back untouched.
"""

import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from .auth import Authenticator
from .engine import Engine, SessionScope, Summary
from .errors import EngineError, ServerError
from .output_encoding import OutputEncoding
from .request import QueryRequest
from .sqltext import InlineInsert, find_inline_insert, query_shape
from .streams import CHUNK_BYTES, Prefixed, Reader, chunks, read_all, read_up_to

# ClickHouse's default max_query_size: an INSERT header longer than this does not
# parse there either, so this much of the body is enough to find where data starts.
_STATEMENT_PREFIX_BYTES = 256 * 1024
_DEFAULT_FORMAT = "TabSeparated"
_TEXT = "text/plain; charset=UTF-8"


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: Iterable[bytes] = ()
    statement: str = ""  # for the request log


@dataclass(frozen=True)
class _Outcome:
    summary: Summary
    body: memoryview | bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _InsertPlan:
    """An INSERT whose data streams from the request."""

    insert: InlineInsert
    data: Reader

    @property
    def text(self) -> str:
        return f"{self.insert.header.strip()} FORMAT {self.insert.data_format}"


@dataclass(frozen=True)
class _QueryPlan:
    """Any other statement, run whole."""

    text: str
    default_format: str
    output_format: str  # what the client receives: a FORMAT clause wins over the default


class QueryHandler:
    def __init__(self, engine: Engine, authenticator: Authenticator):
        self._engine = engine
        self._authenticator = authenticator
        self._display_name = socket.gethostname()

    def error_response(self, error: EngineError | ServerError, encoding: OutputEncoding | None = None) -> Response:
        report = self._engine.catalog.report(error)
        headers = [
            ("Content-Type", _TEXT),
            ("X-ClickHouse-Exception-Code", str(report.code)),
            ("X-ClickHouse-Server-Display-Name", self._display_name),
        ]
        body: Iterable[bytes] = [report.body]
        if encoding is not None:
            headers += encoding.headers()
            body = encoding.encode(body)
        return Response(report.status, headers, body)

    def handle(self, request: QueryRequest, body: Reader, accept_encoding: str) -> Response:
        self._authenticator.check(request.credentials)
        encoding = OutputEncoding.for_request(request, accept_encoding, self._engine.setting_defaults)
        plan = None
        try:
            plan = self._plan(request, body)
            outcome = self._run(plan, request)
        except (EngineError, ServerError) as error:
            response = self.error_response(error, encoding)
            response.headers.append(("X-ClickHouse-Query-Id", request.query_id))
            response.statement = plan.text if plan else request.query
            return response
        headers = [
            ("X-ClickHouse-Query-Id", request.query_id),
            ("X-ClickHouse-Timezone", request.setting("session_timezone", "") or self._engine.timezone),
            ("X-ClickHouse-Server-Display-Name", self._display_name),
            ("X-ClickHouse-Summary", _summary_header(outcome.summary)),
            *outcome.headers,
            *encoding.headers(),
        ]
        if not any(name == "Content-Type" for name, _ in headers):
            headers.append(("Content-Type", _TEXT))
        return Response(200, headers, encoding.encode(_pieces(outcome.body)), plan.text)

    def _plan(self, request: QueryRequest, body: Reader) -> _InsertPlan | _QueryPlan:
        head = (request.query + "\n").encode() if request.query else b""
        prefix = head + read_up_to(body, _STATEMENT_PREFIX_BYTES)
        insert = find_inline_insert(prefix)
        if insert is not None:
            return _InsertPlan(insert, Prefixed(prefix[insert.data_start :], body))

        sql = (prefix + read_all(body)).decode("utf-8", "replace")
        shape = query_shape(sql)
        if shape.empty:
            raise ServerError("SYNTAX_ERROR", "Empty query")
        if shape.statements > 1:
            raise ServerError("SYNTAX_ERROR", "Syntax error (Multi-statements are not allowed)")
        default_format = request.default_format or _DEFAULT_FORMAT
        # A FORMAT clause naming no known format is not one (`SELECT format FROM t`).
        named = shape.output_format if shape.output_format in self._engine.content_types else None
        return _QueryPlan(sql, default_format, named or default_format)

    def _run(self, plan: _InsertPlan | _QueryPlan, request: QueryRequest) -> _Outcome:
        scope = SessionScope(request.database, request.settings)
        if isinstance(plan, _InsertPlan):
            insert = plan.insert
            with self._engine.insert_session(scope) as session:
                return _Outcome(
                    session.insert(insert.target, insert.settings, insert.data_format, chunks(plan.data), request.params)
                )
        with self._engine.session(scope) as session:
            output = session.query(plan.text, plan.default_format, request.params)
        return _Outcome(
            output.summary,
            output.body,
            [
                ("X-ClickHouse-Format", plan.output_format),
                ("Content-Type", self._engine.content_types.get(plan.output_format, _TEXT)),
            ],
        )


def _pieces(body: memoryview | bytes):
    view = memoryview(body)
    for start in range(0, len(view), CHUNK_BYTES):
        yield view[start : start + CHUNK_BYTES]


def _summary_header(summary: Summary) -> str:
    # ClickHouse writes every counter as a JSON string.
    return json.dumps({name: str(value) for name, value in vars(summary).items()}, separators=(",", ":"))
