"""`python -m devstack up [--fresh]` / `python -m devstack down`  (with dev/ on PYTHONPATH)

`up` starts what is not running yet (ClickHouse HTTP on chDB, moto for S3 and
SQS), waits until both answer, provisions the bucket and queues, and writes
`.dev/env` for `source`.  `--fresh` first stops both and wipes the ClickHouse
data directory, so nothing from an earlier run remains (moto keeps its state
in memory only).  `down` stops both by their pid files.  `clean` drops the
databases the Rust test harnesses make (`t_*`), which a long-lived stack
would otherwise collect by the thousand, slowing every statement.
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
        processes.Service(
            name="platforms",
            command=[sys.executable, "-m", "fakeplatforms", "--host", layout.host, "--port", str(layout.platforms_port)],
            marker=f"fakeplatforms --host {layout.host} --port {layout.platforms_port}",
            pid_file=layout.pid_file("platforms"),
            log_file=layout.logs_dir / "platforms.log",
            ready=lambda: _answers(f"{layout.platforms_url}/_fake/health", b"ok\n"),
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
            "ADHOUSE_DEV_PLATFORMS_URL": layout.platforms_url,
            # The same, as adhouse's own configuration keys.
            "ADHOUSE__CLICKHOUSE__URL": layout.clickhouse_url,
            "ADHOUSE__INGEST__QUEUE_URL": provisioned.queue_url,
            "ADHOUSE__PLATFORMS__SYNC_QUEUE_URL": provisioned.sync_queue_url,
            **_platform_settings(layout.platforms_url),
        },
    )
    print(
        f"stack up: ClickHouse {layout.clickhouse_url}, AWS {layout.aws_endpoint_url}, "
        f"fake ad platforms {layout.platforms_url}; source {layout.env_file}"
    )


def _platform_settings(fakes: str) -> dict[str, str]:
    """adhouse's platform settings pointed at the fakes, with the fakes' app
    credentials and development-only secrets."""
    return {
        "ADHOUSE__PLATFORMS__STATE_SECRET": "dev-only-state-secret",
        # 32 bytes, base64: a development key, never a real one.
        "ADHOUSE__PLATFORMS__VAULT_KEYS": "dev1:ZGV2LW9ubHktdmF1bHQta2V5LTMyLWJ5dGVzLWxvbmc=",
        "ADHOUSE__PLATFORMS__META__ENABLED": "true",
        "ADHOUSE__PLATFORMS__META__CLIENT_ID": "fake-meta-app",
        "ADHOUSE__PLATFORMS__META__CLIENT_SECRET": "fake-meta-secret",
        "ADHOUSE__PLATFORMS__META__GRAPH_URL": f"{fakes}/meta/graph/v25.0",
        "ADHOUSE__PLATFORMS__META__DIALOG_URL": f"{fakes}/meta/www/v25.0/dialog/oauth",
        "ADHOUSE__PLATFORMS__GOOGLE__ENABLED": "true",
        "ADHOUSE__PLATFORMS__GOOGLE__CLIENT_ID": "fake-google-client.apps.googleusercontent.com",
        "ADHOUSE__PLATFORMS__GOOGLE__CLIENT_SECRET": "fake-google-secret",
        "ADHOUSE__PLATFORMS__GOOGLE__DEVELOPER_TOKEN": "fake-developer-token",
        "ADHOUSE__PLATFORMS__GOOGLE__AUTH_URL": f"{fakes}/google/accounts/o/oauth2/v2/auth",
        "ADHOUSE__PLATFORMS__GOOGLE__TOKEN_URL": f"{fakes}/google/oauth2/token",
        "ADHOUSE__PLATFORMS__GOOGLE__API_URL": f"{fakes}/google/ads/v26",
        "ADHOUSE__PLATFORMS__YAHOO__ENABLED": "true",
        "ADHOUSE__PLATFORMS__YAHOO__CLIENT_ID": "fake-yahoo-client",
        "ADHOUSE__PLATFORMS__YAHOO__CLIENT_SECRET": "fake-yahoo-secret",
        "ADHOUSE__PLATFORMS__YAHOO__AUTH_URL": f"{fakes}/yahoo/biz-oauth/oauth/v1/authorize",
        "ADHOUSE__PLATFORMS__YAHOO__TOKEN_URL": f"{fakes}/yahoo/biz-oauth/oauth/v1/token",
        "ADHOUSE__PLATFORMS__YAHOO__SEARCH_API_URL": f"{fakes}/yahoo/ads-search/api",
        "ADHOUSE__PLATFORMS__YAHOO__DISPLAY_API_URL": f"{fakes}/yahoo/ads-display/api",
        "ADHOUSE__PLATFORMS__X__ENABLED": "true",
        "ADHOUSE__PLATFORMS__X__CONSUMER_KEY": "fake-x-consumer-key",
        "ADHOUSE__PLATFORMS__X__CONSUMER_SECRET": "fake-x-consumer-secret",
        "ADHOUSE__PLATFORMS__X__AUTH_URL": f"{fakes}/x/api",
        "ADHOUSE__PLATFORMS__X__API_URL": f"{fakes}/x/ads-api",
        # The fake partner reporting API's OAuth client secret, which a feed's
        # `auth.client_secret_env` names (ingester/examples/feeds/, make demo).
        "ADHOUSE_DEV_PARTNER_CLIENT_SECRET": "fake-partner-secret",
        # Pages and Instagram share the Meta fake's Graph host and app
        # (empty client_id: [platforms.meta]'s).
        "ADHOUSE__PLATFORMS__FACEBOOK__ENABLED": "true",
        "ADHOUSE__PLATFORMS__FACEBOOK__GRAPH_URL": f"{fakes}/meta/graph",
        "ADHOUSE__PLATFORMS__FACEBOOK__DIALOG_URL": f"{fakes}/meta/www/v25.0/dialog/oauth",
        "ADHOUSE__PLATFORMS__INSTAGRAM__ENABLED": "true",
        "ADHOUSE__PLATFORMS__INSTAGRAM__GRAPH_URL": f"{fakes}/meta/graph",
        "ADHOUSE__PLATFORMS__INSTAGRAM__DIALOG_URL": f"{fakes}/meta/www/v25.0/dialog/oauth",
    }


def _write_env(layout: Layout, values: dict[str, str]) -> None:
    layout.env_file.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    layout.env_file.write_text("\n".join(lines) + "\n")


def down(layout: Layout) -> None:
    for service in _services(layout):
        print(f"{service.name}: {'stopped' if processes.stop(service) else 'not running'}")


def _clickhouse(layout: Layout, sql: str) -> str:
    """Runs `sql` on the server the tests used: `.dev/env`'s, when it is sourced."""
    url = os.environ.get("CLICKHOUSE_URL", layout.clickhouse_url)
    password = os.environ.get("CLICKHOUSE_PASSWORD", os.environ.get("ADHOUSE_DEV_CLICKHOUSE_PASSWORD", ""))
    headers = {"X-ClickHouse-User": os.environ.get("CLICKHOUSE_USER", "default"), "X-ClickHouse-Key": password}
    request = urllib.request.Request(f"{url}/", data=sql.encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode()


def clean(layout: Layout) -> None:
    names = _clickhouse(layout, r"SELECT name FROM system.databases WHERE name LIKE 't\\_%' FORMAT TSVRaw").split()
    for name in names:
        _clickhouse(layout, f"DROP DATABASE IF EXISTS `{name}`")
    print(f"clean: dropped {len(names)} test databases")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="start the stack if needed and provision it")
    up_parser.add_argument("--fresh", action="store_true", help="stop everything and wipe ClickHouse data first")
    commands.add_parser("down", help="stop the stack")
    commands.add_parser("clean", help="drop the databases left by Rust test runs (t_*)")
    args = parser.parse_args(argv)

    layout = layout_from_env()
    try:
        if args.command == "up":
            up(layout, args.fresh)
        elif args.command == "clean":
            clean(layout)
        else:
            down(layout)
    except (RuntimeError, OSError) as error:
        sys.exit(f"devstack: {error}")


if __name__ == "__main__":
    main()
