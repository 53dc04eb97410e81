"""The oldest ClickHouse adhouse claims (README: "ClickHouse 24.8 or later"),
proven on ClickHouse 24.8.4.1: PyPI's `chdb==2.1.1` behind chserver's
adapter (dev/chserver/legacy_chdb.py), in a venv of its own (.venv-ch248,
`make venv`), started on a free port for this module.

A reduced matrix, since 24.8 here runs one query at a time: the real
`adhouse-ingester migrate` applies every migration and then reports them
applied; a real `replay` through the local stack's S3 stores an object's rows
exactly once in events and every rollup, and after its ledger is lost the
chunks it inserts again are dropped by their de-duplication tokens. Not run on
24.8: concurrent workers, kill/resume mid-object, the query API's matrix.
"""

import json
import socket
import subprocess
import time
import uuid

import boto3
import pytest
import requests

from deploycheck import REPO, binary, clean_env

PYTHON_248 = REPO / ".venv-ch248" / "bin" / "python"
CHUNK_LINES = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ch248(tmp_path_factory):
    assert PYTHON_248.is_file(), f"{PYTHON_248} is missing: `make venv-ch248` (make test does)"
    port, data = free_port(), tmp_path_factory.mktemp("clickhouse-248")
    log = open(data / "chserver.log", "w")
    server = subprocess.Popen([PYTHON_248, "-m", "chserver", "--port", str(port), "--path", str(data / "data")],
                              cwd=REPO / "dev", stdout=log, stderr=subprocess.STDOUT, env=clean_env({"PYTHONPATH": str(REPO / "dev")}))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/ping", timeout=1).ok:
                break
        except requests.ConnectionError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, (data / "chserver.log").read_text()
        time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=60)
    log.close()


def sql(url: str, query: str) -> str:
    response = requests.post(url, data=query.encode(), timeout=60)
    assert response.status_code == 200, f"{query}\n{response.text}"
    return response.text


def ingester(url: str, database: str, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = clean_env({"ADHOUSE__CLICKHOUSE__URL": url, "ADHOUSE__CLICKHOUSE__DATABASE": database, **extra})
    return subprocess.run([binary("adhouse-ingester"), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def test_the_engine_is_clickhouse_24_8(ch248):
    assert sql(ch248, "SELECT version()").startswith("24.8.")


def test_every_migration_applies_on_24_8_and_then_stands_applied(ch248):
    database = f"m_{uuid.uuid4().hex[:8]}"
    done = ingester(ch248, database, "migrate")
    assert done.returncode == 0, done.stderr
    status = ingester(ch248, database, "migrate", "--status")
    lines = status.stdout.splitlines()
    assert lines and all(" applied " in line and "differs" not in line for line in lines), status.stdout
    assert "up to date" in ingester(ch248, database, "migrate").stdout
    for table in sql(ch248, f"SELECT name FROM system.tables WHERE database = '{database}'").split():
        assert "CREATE" in sql(ch248, f"SHOW CREATE TABLE `{database}`.`{table}`")


def vast_lines(count: int) -> tuple[bytes, int]:
    """JSON lines in the shape of ingester/examples/sources/vast-jsonl.toml, an hour old; and how many are impressions."""
    ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 3600))
    lines = [json.dumps({"ts": ts, "ev": "imp" if n % 3 else "clk", "pub": f"pub-{n % 4}", "plc": "plc-1", "dp": "rubicon",
                         "fmt": "video", "price": "0.001000", "cost": "0.000500", "err": 0}) for n in range(count)]
    return ("\n".join(lines) + "\n").encode(), sum(1 for n in range(count) if n % 3)


@pytest.mark.parametrize("compression", ["lz4", "none"])
def test_a_replayed_object_is_stored_once_and_a_lost_ledger_is_absorbed_by_dedup_tokens(ch248, stack, compression):
    database, tenant = f"r_{uuid.uuid4().hex[:8]}", f"t{uuid.uuid4().hex[:8]}"
    assert ingester(ch248, database, "migrate").returncode == 0
    body, impressions = vast_lines(5 * CHUNK_LINES)
    s3 = boto3.client("s3", endpoint_url=stack["AWS_ENDPOINT_URL"], region_name=stack["AWS_REGION"],
                      aws_access_key_id=stack["AWS_ACCESS_KEY_ID"], aws_secret_access_key=stack["AWS_SECRET_ACCESS_KEY"])
    bucket = stack["ADHOUSE_BUCKET"]
    s3.put_object(Bucket=bucket, Key=f"logs/{tenant}/vast/2026/12/01/00-0.jsonl", Body=body)
    settings = {
        "ADHOUSE__INGEST__SOURCES_DIR": str(REPO / "ingester" / "examples" / "sources"),
        "ADHOUSE__INGEST__CHUNK_LINES": str(CHUNK_LINES),
        "ADHOUSE__INGEST__RETRY_FOR_SECS": "5",  # a failure fails the test, not minutes of retries
        "ADHOUSE__CLICKHOUSE__COMPRESSION": compression,
        **{name: stack[name] for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")},
    }

    def replay() -> None:
        done = ingester(ch248, database, "replay", f"s3://{bucket}/logs/{tenant}/", **settings)
        assert done.returncode == 0, done.stderr

    def counts() -> tuple[int, ...]:
        where = f"WHERE tenant = '{tenant}'"
        return tuple(int(sql(ch248, f"SELECT {measure} FROM `{database}`.{table} {where}")) for table, measure in (
            ("events", "count()"), ("events_1m", "sum(impressions)"), ("events_1h", "sum(impressions)"), ("events_1d", "sum(impressions)")))

    expected = (5 * CHUNK_LINES, impressions, impressions, impressions)
    replay()
    assert counts() == expected
    # The ledger says done: a second replay skips the object.
    replay()
    assert counts() == expected
    # Lose the ledger, as if every record of the object had been lost after its
    # inserts: it is ingested again under the same tokens, and 24.8 drops every block.
    sql(ch248, f"TRUNCATE TABLE `{database}`.ingest_files")
    replay()
    assert counts() == expected
    assert int(sql(ch248, f"SELECT count() FROM `{database}`.ingest_files FINAL WHERE key LIKE 'logs/{tenant}/%' AND status = 'done'")) == 1
