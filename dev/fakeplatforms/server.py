"""One HTTP server for every platform fake, dispatching by path prefix."""

import importlib
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .common import Request, Response

# Each module: PREFIX and handle(request). Added here as platforms are faked.
PLATFORM_MODULES: list[str] = ["google", "meta", "partner", "x", "yahoo", "facebook", "instagram"]


def _platforms():
    return [importlib.import_module(f"fakeplatforms.{name}") for name in PLATFORM_MODULES]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    platforms: list = []

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        response = self._dispatch(request)
        # A fake may answer with its own clock's Date (X's skew control).
        self.log_request(response.status)
        self.send_response_only(response.status)
        headers = {"Server": self.version_string(), "Date": self.date_time_string(), **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def _dispatch(self, request: Request) -> Response:
        if request.path == "/_fake/health":
            return Response(200, b"ok\n")
        for module in self.platforms:
            prefix = module.PREFIX
            if request.path.startswith(prefix + "/") or request.path.startswith(f"/_fake{prefix}/"):
                try:
                    return module.handle(request)
                except Exception as err:  # a bug in the fake: say so, like a 500 of the platform
                    logging.exception("fake %s failed", prefix)
                    return Response.json(500, {"error": {"message": f"fake failure: {err}"}})
        return Response.json(404, {"error": {"message": f"no such path {request.path}"}})

    do_GET = do_POST = do_DELETE = _serve

    def log_message(self, fmt: str, *args) -> None:
        logging.info("%s %s", self.address_string(), fmt % args)


def serve(host: str, port: int) -> None:
    Handler.platforms = _platforms()
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    logging.info("fake platforms %s on http://%s:%d", json.dumps(PLATFORM_MODULES), host, port)
    server.serve_forever()
