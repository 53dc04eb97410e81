"""Background services tracked by pid files: started once, found again, stopped by pid.

A pid file alone can lie (the process died and the pid was reused), so a pid
only counts as the service when that process's command line still carries the
service's marker.  Nothing is ever stopped by name.
"""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_POLL_SECONDS = 0.2
_STOP_GRACE_SECONDS = 30


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    marker: str  # appears in the command line of this service's process only
    pid_file: Path
    log_file: Path
    ready: Callable[[], bool]
    env: dict[str, str]


def running_pid(service: Service) -> int | None:
    try:
        pid = int(service.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid if service.marker in cmdline else None


def start(service: Service) -> subprocess.Popen | None:
    """Starts the service unless it already runs; returns the new process, if any."""
    if running_pid(service) is not None:
        return None
    service.pid_file.parent.mkdir(parents=True, exist_ok=True)
    service.log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(service.log_file, "ab") as log:
        process = subprocess.Popen(
            service.command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=service.env,
            # Its own session: a Ctrl-C in the terminal that ran `make dev-up` must not reach it.
            start_new_session=True,
        )
    service.pid_file.write_text(f"{process.pid}\n")
    return process


def wait_ready(service: Service, process: subprocess.Popen | None, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            service.pid_file.unlink(missing_ok=True)
            raise RuntimeError(f"{service.name} exited with {process.returncode}; see {service.log_file}")
        if service.ready():
            return
        time.sleep(_POLL_SECONDS)
    raise RuntimeError(f"{service.name} not ready after {timeout_seconds:.0f}s; see {service.log_file}")


def stop(service: Service) -> bool:
    """Stops the service if it runs (SIGTERM, then SIGKILL after a grace period)."""
    pid = running_pid(service)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, _STOP_GRACE_SECONDS):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, _STOP_GRACE_SECONDS)
    service.pid_file.unlink(missing_ok=True)
    return pid is not None


def _wait_gone(pid: int, timeout_seconds: float) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(_POLL_SECONDS)
    return False
