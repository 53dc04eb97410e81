"""The HTTP listener: routes, request bodies in, responses out, one log line per request.

HTTP/1.1 with keep-alive, one thread per connection.  Responses are sent with
chunked transfer encoding, as ClickHouse sends them, so compressed bodies
stream without being held whole.
"""

import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .errors import EngineError, ServerError
from .http_compression import request_decoder
from .native_compression import FramedBody
from .query_handler import QueryHandler, Response
from .request import parse_form_fields, parse_query_request
from .streams import ChunkedBody, EmptyBody, LengthBody, drain, read_all

_OK = Response(200, [("Content-Type", "text/plain; charset=UTF-8")], [b"Ok.\n"])
# Idle keep-alive connections are dropped after this; advertised lower so that
# clients which honour Keep-Alive never reuse a connection the server is closing.
_IDLE_TIMEOUT_SECONDS = 60
_ADVERTISED_KEEP_ALIVE_SECONDS = 10
_LOGGED_STATEMENT_CHARS = 120


class InFlight:
    """Counts requests being served, so shutdown can let them finish."""

    def __init__(self):
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self):
        with self._idle:
            self._count += 1

    def __exit__(self, *exc_info):
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout_seconds: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout_seconds)


class ClickHouseHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], query_handler: QueryHandler):
        self.query_handler = query_handler
        self.in_flight = InFlight()
        super().__init__(address, _RequestHandler)

    def handle_error(self, request, client_address) -> None:
        # A client dropping its kept-alive connection is routine, not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "adhouse-chserver"
    # TCP_NODELAY: a response goes out in several writes (headers, chunks,
    # the last chunk), and with Nagle the last one waits for the client's
    # delayed ACK, 40 ms on every kept-alive request: a cost of this shim
    # that benchmarks would otherwise count as query time.
    disable_nagle_algorithm = True
    timeout = _IDLE_TIMEOUT_SECONDS
    server: ClickHouseHTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's signature
        """Silences the base class's access log; `_log` writes one line per request instead."""

    def _serve(self) -> None:
        started = time.monotonic()
        with self.server.in_flight:
            url = urlsplit(self.path)
            raw = None
            try:
                raw = self._raw_body()
                bare_get = self.command == "GET" and not url.query and raw is None
                if url.path in ("/ping", "/replicas_status") or (url.path == "/" and bare_get):
                    response = _OK
                elif url.path == "/":
                    response = self._query(url.query, raw or EmptyBody())
                else:
                    response = _no_handle(url.path)
            except (EngineError, ServerError) as error:
                response = self.server.query_handler.error_response(error)
            except Exception as exc:  # a bug in the shim: tell the client, keep serving
                traceback.print_exc(file=sys.stderr)
                response = self.server.query_handler.error_response(ServerError("STD_EXCEPTION", repr(exc)))
            self._finish_body(raw)
            self._send(response)
            self._log(url.path, response, started)

    def _raw_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return ChunkedBody(self.rfile)
        length = self.headers.get("Content-Length")
        if length is not None and int(length) > 0:
            return LengthBody(self.rfile, int(length))
        if length is None and self.command == "POST":
            self.close_connection = True
            raise ServerError(
                "HTTP_LENGTH_REQUIRED",
                "The Transfer-Encoding is not chunked and there is no Content-Length header for POST request",
            )
        return None

    def _query(self, url_query: str, raw) -> Response:
        body = raw
        decoder = request_decoder(self.headers.get("Content-Encoding", ""))
        if decoder is not None:
            body = decoder(body)
        form_fields = []
        content_type = self.headers.get("Content-Type", "")
        if content_type.lower().startswith("multipart/form-data"):
            form_fields = parse_form_fields(content_type, read_all(body))
            body = EmptyBody()
        request = parse_query_request(
            self.command, parse_qsl(url_query, keep_blank_values=True), self.headers, form_fields
        )
        if request.body_is_framed:
            body = FramedBody(body)
        return self.server.query_handler.handle(request, body, self.headers.get("Accept-Encoding", ""))

    def _finish_body(self, raw) -> None:
        """Reads whatever of the body a failed request left unread, so the connection stays in step."""
        if raw is None:
            return
        try:
            drain(raw)
        except (ServerError, OSError):
            self.close_connection = True

    def _send(self, response: Response) -> None:
        chunked = self.request_version == "HTTP/1.1"
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Keep-Alive", f"timeout={_ADVERTISED_KEEP_ALIVE_SECONDS}")
        self.end_headers()
        try:
            for piece in response.body:
                if not piece:
                    continue
                self.wfile.write(b"%x\r\n" % len(piece) + bytes(piece) + b"\r\n" if chunked else piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except Exception:  # headers are out; all that is left is to drop the connection
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True

    def _log(self, path: str, response: Response, started: float) -> None:
        statement = " ".join(response.statement.split())
        if len(statement) > _LOGGED_STATEMENT_CHARS:
            statement = statement[: _LOGGED_STATEMENT_CHARS - 3] + "..."
        elapsed_ms = (time.monotonic() - started) * 1000
        # The URL's query string is left out: it may carry a password.
        print(
            f"{self.command} {path} {response.status} {elapsed_ms:.1f}ms {statement}",
            file=sys.stderr,
            flush=True,
        )


def _no_handle(path: str) -> Response:
    text = (
        f"There is no handle {path}\n\nUse / or /ping for health checks.\n"
        "Or /replicas_status for more sophisticated health checks.\n\n"
        "Send queries from your program with POST method or GET /?query=...\n"
    )
    return Response(404, [("Content-Type", "text/plain; charset=UTF-8")], [text.encode()])
