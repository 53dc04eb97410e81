"""Fixtures for tests that talk to the running dev stack over real sockets.

`make test-dev` starts a fresh stack, runs these tests and stops it; with a
stack already up (`make dev-up`), `pytest -c dev/pytest.ini` works too.  The
addresses come from `.dev/env`, which `devstack up` writes.
"""

import shlex
import uuid

import pytest
import requests

from devstack.layout import STATE_DIR


class ClickHouse:
    """A thin HTTP caller for the shim: SQL in, `requests.Response` out."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()

    def post(self, sql: str, data=None, headers=None, **params) -> requests.Response:
        """Sends `sql` as the body, or as the `query` parameter when `data` is the body."""
        if data is None:
            return self.http.post(self.url, params=params, data=sql.encode(), headers=headers)
        return self.http.post(self.url, params={"query": sql, **params}, data=data, headers=headers)

    def text(self, sql: str, **params) -> str:
        response = self.post(sql, **params)
        assert response.status_code == 200, response.text
        return response.text


def _stack_env() -> dict[str, str]:
    env_file = STATE_DIR / "env"
    if not env_file.exists():
        pytest.exit(f"{env_file} is missing: start the stack with `make dev-up` or run `make test-dev`", 2)
    values = {}
    for line in env_file.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    return values


@pytest.fixture(scope="session")
def stack() -> dict[str, str]:
    env = _stack_env()
    try:
        requests.get(f"{env['CLICKHOUSE_URL']}/ping", timeout=5).raise_for_status()
    except requests.RequestException as error:
        pytest.exit(f"the dev stack does not answer ({error}): run `make dev-up` or `make test-dev`", 2)
    return env


@pytest.fixture(scope="session")
def clickhouse_url(stack) -> str:
    return stack["CLICKHOUSE_URL"]


@pytest.fixture
def ch(clickhouse_url) -> ClickHouse:
    return ClickHouse(clickhouse_url)


@pytest.fixture
def database(ch) -> str:
    """A database of the test's own, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    ch.text(f"CREATE DATABASE {name}")
    yield name
    ch.text(f"DROP DATABASE IF EXISTS {name}")
