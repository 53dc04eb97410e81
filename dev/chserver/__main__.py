"""`python -m chserver --host 127.0.0.1 --port 18123 --path .dev/clickhouse`

The password of the one user is read from ADHOUSE_DEV_CLICKHOUSE_PASSWORD
(empty when unset) rather than from the command line, where `ps` would show it.
SIGTERM or SIGINT stops accepting connections, lets requests in flight finish,
then shuts the engine down cleanly.
"""

import argparse
import os
import signal
import sys
import threading

from .auth import Authenticator
from .engine import Engine
from .query_handler import QueryHandler
from .server import ClickHouseHTTPServer

_DRAIN_SECONDS = 30


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chserver", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18123)
    parser.add_argument("--path", default=os.environ.get("ADHOUSE_DEV_DATA", ".dev/clickhouse"))
    parser.add_argument("--user", default=os.environ.get("ADHOUSE_DEV_CLICKHOUSE_USER", "default"))
    args = parser.parse_args(argv)

    engine = Engine(args.path)
    authenticator = Authenticator(args.user, os.environ.get("ADHOUSE_DEV_CLICKHOUSE_PASSWORD", ""))
    server = ClickHouseHTTPServer((args.host, args.port), QueryHandler(engine, authenticator))

    def stop(signum, _frame) -> None:
        # shutdown() waits for serve_forever() to return, and that loop runs on
        # this very (main) thread: call it from another one.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"chserver: ClickHouse {engine.version} (chDB) on http://{args.host}:{args.port}, data in {args.path}",
        file=sys.stderr,
        flush=True,
    )
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    if not server.in_flight.wait_idle(_DRAIN_SECONDS):
        print("chserver: requests still running at shutdown", file=sys.stderr, flush=True)
    engine.close()
    print("chserver: stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
