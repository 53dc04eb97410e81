"""The oldest ClickHouse adhouse claims (README: "ClickHouse 24.8 or later"),
proven on ClickHouse 24.8.4.1: PyPI's `chdb==2.1.1` behind chserver's
adapter (dev/chserver/legacy_chdb.py), in a venv of its own (.venv-ch248,
`make venv`), started on a free port for this module.

A reduced matrix, since 24.8 here runs one query at a time: the real
`adhouse-ingester migrate` applies every migration and then reports them
applied; a real `replay` through the local stack's S3 stores an object's rows
exactly once in events and every rollup, and after its ledger is lost the
chunks it inserts again are dropped by their de-duplication tokens; the real
`adhouse-api` answers from each table (minute, hour, day rollups and raw
events) with the raw events' totals. Not run on 24.8: concurrent workers,
kill/resume mid-object, the full timezone and filter matrix of the API tests.
"""

import datetime as dt
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


class Replay:
    """One object of vast-jsonl lines in the local stack's S3, replayed by the real ingester into a 24.8 database of its own."""

    def __init__(self, url: str, stack: dict[str, str], compression: str = "lz4"):
        self.url, self.database, self.tenant = url, f"r_{uuid.uuid4().hex[:8]}", f"t{uuid.uuid4().hex[:8]}"
        assert ingester(url, self.database, "migrate").returncode == 0
        body, self.impressions = vast_lines(5 * CHUNK_LINES)
        s3 = boto3.client("s3", endpoint_url=stack["AWS_ENDPOINT_URL"], region_name=stack["AWS_REGION"],
                          aws_access_key_id=stack["AWS_ACCESS_KEY_ID"], aws_secret_access_key=stack["AWS_SECRET_ACCESS_KEY"])
        self.prefix = f"s3://{stack['ADHOUSE_BUCKET']}/logs/{self.tenant}/"
        s3.put_object(Bucket=stack["ADHOUSE_BUCKET"], Key=f"logs/{self.tenant}/vast/2026/12/01/00-0.jsonl", Body=body)
        self.settings = {
            "ADHOUSE__INGEST__SOURCES_DIR": str(REPO / "ingester" / "examples" / "sources"),
            "ADHOUSE__INGEST__CHUNK_LINES": str(CHUNK_LINES),
            "ADHOUSE__INGEST__RETRY_FOR_SECS": "5",  # a failure fails the test, not minutes of retries
            "ADHOUSE__CLICKHOUSE__COMPRESSION": compression,
            **{name: stack[name] for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")},
        }

    def run(self) -> None:
        done = ingester(self.url, self.database, "replay", self.prefix, **self.settings)
        assert done.returncode == 0, done.stderr

    def counts(self) -> tuple[int, ...]:
        where = f"WHERE tenant = '{self.tenant}'"
        return tuple(int(sql(self.url, f"SELECT {measure} FROM `{self.database}`.{table} {where}")) for table, measure in (
            ("events", "count()"), ("events_1m", "sum(impressions)"), ("events_1h", "sum(impressions)"), ("events_1d", "sum(impressions)")))


@pytest.mark.parametrize("compression", ["lz4", "none"])
def test_a_replayed_object_is_stored_once_and_a_lost_ledger_is_absorbed_by_dedup_tokens(ch248, stack, compression):
    replay = Replay(ch248, stack, compression)
    expected = (5 * CHUNK_LINES, replay.impressions, replay.impressions, replay.impressions)
    replay.run()
    assert replay.counts() == expected
    # The ledger says done: a second replay skips the object.
    replay.run()
    assert replay.counts() == expected
    # Lose the ledger, as if every record of the object had been lost after its
    # inserts: it is ingested again under the same tokens, and 24.8 drops every block.
    sql(ch248, f"TRUNCATE TABLE `{replay.database}`.ingest_files")
    replay.run()
    assert replay.counts() == expected
    done = f"SELECT count() FROM `{replay.database}`.ingest_files FINAL WHERE key LIKE 'logs/{replay.tenant}/%' AND status = 'done'"
    assert int(sql(ch248, done)) == 1


def test_the_query_apis_answers_on_each_table_equal_the_raw_events(ch248, stack, tmp_path):
    replay = Replay(ch248, stack)
    replay.run()
    env = clean_env({"ADHOUSE__CLICKHOUSE__URL": ch248, "ADHOUSE__CLICKHOUSE__DATABASE": replay.database})
    created = subprocess.run([binary("adhouse-api"), "token", "create", "--tenant", replay.tenant], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert created.returncode == 0, created.stderr
    port = free_port()
    api = subprocess.Popen([binary("adhouse-api"), "serve"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**env, "ADHOUSE__API__LISTEN_ADDR": f"127.0.0.1:{port}", "ADHOUSE_API_METRICS_ADDR": ""})
    try:
        base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {created.stdout.strip()}"}
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/readyz"):
            assert api.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        raw = json.loads(sql(ch248, f"SELECT countIf(event_type = 'impression') AS impressions, countIf(event_type = 'click') AS clicks, "
                                    f"sum(revenue_micros) AS revenue FROM `{replay.database}`.events WHERE tenant = '{replay.tenant}' FORMAT JSONEachRow"))
        # Each request is answered from another table (meta.table), all with the same totals.
        # Whole days around now (the events are now's; last_N_days end yesterday).
        today = dt.datetime.now(dt.timezone.utc).date()
        days = {"from": (today - dt.timedelta(days=1)).isoformat(), "to": (today + dt.timedelta(days=1)).isoformat()}
        requests_by_table = {
            "events_1m": {"granularity": "minute", "time_range": {"from": around(-3), "to": around(+1)}},
            "events_1h": {"granularity": "hour", "timezone": "Asia/Tokyo", "time_range": days},
            "events_1d": {"granularity": "day", "dimensions": ["creative_id"], "time_range": days},
            "events": {"granularity": "none", "dimensions": ["os"], "time_range": days},
        }
        for table, request in requests_by_table.items():
            body = {"metrics": ["impressions", "clicks", "revenue", "ctr"], "timezone": "UTC", **request}
            answer = requests.post(f"{base}/api/v1/query", json=body, headers=headers, timeout=60)
            assert answer.status_code == 200, answer.text
            answer = answer.json()
            assert answer["meta"]["table"] == table, (request, answer["meta"])
            totals = answer["totals"]
            assert (totals["impressions"], totals["clicks"]) == (int(raw["impressions"]), int(raw["clicks"])), table
            assert round(totals["revenue"] * 1e6) == int(raw["revenue"]), table
    finally:
        api.terminate()
        api.wait(timeout=30)


def around(hours: int) -> str:
    """A whole hour this many hours from now, as the API takes an instant (the rows are an hour old)."""
    return time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(time.time() + hours * 3600))


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.ConnectionError:
        return False
