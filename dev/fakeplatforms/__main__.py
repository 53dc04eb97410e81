"""`python -m fakeplatforms --host 127.0.0.1 --port 14580`"""

import argparse
import logging

from .server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake ad-platform APIs for the local stack")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=14580)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
