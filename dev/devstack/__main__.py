"""`python -m devstack up [--fresh]` / `python -m devstack down`  (with dev/ on PYTHONPATH)

`up` starts what is not running yet (ClickHouse HTTP on chDB, moto for S3 and
SQS), waits until both answer, provisions the bucket and queues, and writes
`.dev/env` for `source`.  `--fresh` first stops both and wipes the ClickHouse
data directory, so nothing from an earlier run remains (moto keeps its state
in memory only).  `down` stops both by their pid files.
"""

import argparse
import os
import shlex
import shutil
import sys
import urllib.request

from . import processes
from .layout import DEV_DIR, DUMMY_CREDENTIAL, REGION, Layout, layout_from_env

_READY_TIMEOUT_SECONDS = 90


def _answers(url: str, expected: bytes | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return expected is None or response.read() == expected
    except OSError:
        return False


def _services(layout: Layout) -> list[processes.Service]:
    env = {**os.environ, "PYTHONPATH": str(DEV_DIR)}
    return [
        processes.Service(
            name="clickhouse",
            command=[
                sys.executable,
                "-m",
                "chserver",
                "--host",
                layout.host,
                "--port",
                str(layout.clickhouse_port),
                "--path",
                str(layout.data_dir),
            ],
            marker=f"chserver --host {layout.host} --port {layout.clickhouse_port}",
            pid_file=layout.pid_file("clickhouse"),
            log_file=layout.logs_dir / "clickhouse.log",
            ready=lambda: _answers(f"{layout.clickhouse_url}/ping", b"Ok.\n"),
            env=env,
        ),
        processes.Service(
            name="aws",
            command=[sys.executable, "-m", "moto.server", "-H", layout.host, "-p", str(layout.aws_port)],
            marker=f"moto.server -H {layout.host} -p {layout.aws_port}",
            pid_file=layout.pid_file("aws"),
            log_file=layout.logs_dir / "aws.log",
            ready=lambda: _answers(f"{layout.aws_endpoint_url}/moto-api/"),
            env=env,
        ),
    ]


def up(layout: Layout, fresh: bool) -> None:
    services = _services(layout)
    if fresh:
        down(layout)
        shutil.rmtree(layout.data_dir, ignore_errors=True)
    started = [(service, processes.start(service)) for service in services]
    for service, process in started:
        processes.wait_ready(service, process, _READY_TIMEOUT_SECONDS)
        print(f"{service.name}: {'started' if process else 'already running'}")

    # Imported here so that `down` works without boto3 installed.
    from .aws import provision

    provisioned = provision(layout.aws_endpoint_url)
    _write_env(
        layout,
        {
            "CLICKHOUSE_URL": layout.clickhouse_url,
            "CLICKHOUSE_USER": os.environ.get("ADHOUSE_DEV_CLICKHOUSE_USER", "default"),
            "CLICKHOUSE_PASSWORD": os.environ.get("ADHOUSE_DEV_CLICKHOUSE_PASSWORD", ""),
            "AWS_ENDPOINT_URL": layout.aws_endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIAL,
            "ADHOUSE_BUCKET": provisioned.bucket,
            "ADHOUSE_QUEUE_URL": provisioned.queue_url,
            "ADHOUSE_DLQ_URL": provisioned.dead_letter_queue_url,
            # The same, as adhouse's own configuration keys.
            "ADHOUSE__CLICKHOUSE__URL": layout.clickhouse_url,
            "ADHOUSE__INGEST__QUEUE_URL": provisioned.queue_url,
        },
    )
    print(f"stack up: ClickHouse {layout.clickhouse_url}, AWS {layout.aws_endpoint_url}; source {layout.env_file}")


def _write_env(layout: Layout, values: dict[str, str]) -> None:
    layout.env_file.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    layout.env_file.write_text("\n".join(lines) + "\n")


def down(layout: Layout) -> None:
    for service in _services(layout):
        print(f"{service.name}: {'stopped' if processes.stop(service) else 'not running'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="start the stack if needed and provision it")
    up_parser.add_argument("--fresh", action="store_true", help="stop everything and wipe ClickHouse data first")
    commands.add_parser("down", help="stop the stack")
    args = parser.parse_args(argv)

    layout = layout_from_env()
    try:
        if args.command == "up":
            up(layout, args.fresh)
        else:
            down(layout)
    except RuntimeError as error:
        sys.exit(f"devstack: {error}")


if __name__ == "__main__":
    main()
