"""Credentials, against a second shim started with a password (the stack's own has none)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

PASSWORD = "s3cret"
DEV_DIR = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def guarded_url(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("guarded") / "chserver.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "chserver", "--port", str(port), "--path", str(tmp_path_factory.mktemp("data"))],
            env={**os.environ, "PYTHONPATH": str(DEV_DIR), "ADHOUSE_DEV_CLICKHOUSE_PASSWORD": PASSWORD},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ping(url)
        yield url
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, log_path.read_text()  # SIGTERM is a clean shutdown


def wait_for_ping(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/ping", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer /ping")


def query(url: str, **kwargs) -> requests.Response:
    return requests.post(url, data=b"SELECT currentUser()", **kwargs)


@pytest.mark.parametrize(
    "credentials",
    [
        {"headers": {"X-ClickHouse-User": "default", "X-ClickHouse-Key": PASSWORD}},
        {"auth": ("default", PASSWORD)},
        {"params": {"user": "default", "password": PASSWORD}},
    ],
    ids=["x-clickhouse-headers", "basic-auth", "url-parameters"],
)
def test_right_password_is_accepted_every_way_clickhouse_takes_it(guarded_url, credentials):
    response = query(guarded_url, **credentials)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "credentials",
    [{}, {"auth": ("default", "wrong")}, {"headers": {"X-ClickHouse-User": "nobody", "X-ClickHouse-Key": PASSWORD}}],
    ids=["missing", "wrong-password", "unknown-user"],
)
def test_bad_credentials_fail_with_code_516(guarded_url, credentials):
    response = query(guarded_url, **credentials)
    assert response.status_code == 403
    assert response.headers["X-ClickHouse-Exception-Code"] == "516"
    assert "(AUTHENTICATION_FAILED)" in response.text


def test_mixing_two_authentication_schemes_is_refused(guarded_url):
    response = query(guarded_url, auth=("default", PASSWORD), params={"password": PASSWORD})
    assert response.headers["X-ClickHouse-Exception-Code"] == "516"


def test_health_check_needs_no_credentials(guarded_url):
    assert requests.get(f"{guarded_url}/ping").text == "Ok.\n"
