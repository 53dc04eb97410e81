"""The oldest ClickHouse adhouse claims (README: "ClickHouse 24.8 or later"),
proven on ClickHouse 24.8.4.1: PyPI's `chdb==2.1.1` behind chserver's
adapter (dev/chserver/legacy_chdb.py), in a venv of its own (.venv-ch248,
`make venv-ch248`), started on a free port for this module.

Only the schema so far: the real `adhouse-ingester migrate` applies every
migration on 24.8 and then reports them applied, and every table's definition
reads back. Inserts are not proven here: chDB 2.1.1's one Session does not
survive `INSERT ... FROM INFILE` (the way chserver streams bodies) — the
session then fails every later query — so the ingester's de-duplication,
kill/resume and the query API's matrix still run on the main (26.9) engine only.
"""

import socket
import subprocess
import time
import uuid

import pytest
import requests

from deploycheck import REPO, binary, clean_env

PYTHON_248 = REPO / ".venv-ch248" / "bin" / "python"


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
