"""What the deployment tests (dev/tests/test_helm_chart.py, test_compose.py,
test_dockerfile.py) ask of the real programs: their settings, subcommands and
environment variables, and their own configuration checks.

Nothing here restates a setting or a flag: names come from config/default.toml
(every setting has a default there) and from the binaries' `--help`.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
BINARIES = ("adhouse-ingester", "adhouse-api")


def binary(name: str) -> Path:
    path = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "debug" / name
    assert path.is_file(), f"{path} is missing: `cargo build --workspace --bins` first (make test does)"
    return path


def _help(name: str, *args: str) -> str:
    done = subprocess.run([binary(name), *args, "--help"], capture_output=True, text=True, check=True, env=clean_env())
    return done.stdout


@functools.cache
def subcommands(name: str) -> frozenset[str]:
    """The subcommands `<name> --help` lists (clap's `Commands:` block)."""
    block = _help(name).split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return frozenset(line.split()[0] for line in block.splitlines() if line.strip()) - {"help"}


@functools.cache
def cli_env_names(name: str) -> frozenset[str]:
    """Variables the binary reads as flags (`[env: NAME=]` in its help)."""
    return frozenset(re.findall(r"\[env: ([A-Z0-9_]+)=", _help(name)))


@functools.cache
def setting_env_names() -> frozenset[str]:
    """ADHOUSE__SECTION__KEY (and ADHOUSE__A__B__KEY) of every setting in config/default.toml."""
    defaults = tomllib.loads((REPO / "config" / "default.toml").read_text())

    def walk(table: dict, path: tuple[str, ...]):
        for key, value in table.items():
            if isinstance(value, dict):
                yield from walk(value, (*path, key))
            else:
                yield "ADHOUSE__" + "__".join(part.upper() for part in (*path, key))

    return frozenset(walk(defaults, ()))


def default_setting(dotted: str):
    value = tomllib.loads((REPO / "config" / "default.toml").read_text())
    for part in dotted.split("."):
        value = value[part]
    return value


def known_env_names() -> frozenset[str]:
    """Every variable adhouse reads: settings, flags, and the AWS SDK's and tracing's own."""
    aws = {"AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    flags = frozenset().union(*(cli_env_names(name) for name in BINARIES))
    return setting_env_names() | flags | aws | {"RUST_LOG"}


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A process environment without the developer's ADHOUSE_*/AWS_* variables."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    env.update(extra or {})
    return env


def check_config(name: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """`<name> check-config` with exactly `env`, run in `cwd` (which holds no config/local.toml)."""
    assert not (cwd / "config" / "local.toml").exists()
    return subprocess.run([binary(name), "check-config"], capture_output=True, text=True, env=clean_env(env), cwd=cwd, timeout=60)


def port_of(addr: str) -> int:
    return int(addr.rsplit(":", 1)[1])


# ---- The Dockerfile, read as Docker reads it (no engine here) ----

def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    result, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        word, _, args = (pending + line).strip().partition(" ")
        result.append((word.upper(), args.strip()))
        pending = ""
    return result


def stages() -> list[dict]:
    """One entry per FROM: its name and its instructions."""
    found = []
    for word, args in instructions():
        if word == "FROM":
            parts = args.split()
            found.append({"name": parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None, "steps": []})
        elif found:
            found[-1]["steps"].append((word, args))
    return found


def copies(stage: dict) -> list[tuple[str | None, list[str], str]]:
    """(--from stage or None, sources, destination) of each COPY."""
    result = []
    for word, args in stage["steps"]:
        if word == "COPY":
            words = shlex.split(args)
            source_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
            paths = [w for w in words if not w.startswith("--")]
            result.append((source_stage, paths[:-1], paths[-1]))
    return result


def image_env() -> dict[str, str]:
    """The runtime stage's ENV: what every container of the image starts with."""
    env = {}
    for word, args in stages()[-1]["steps"]:
        if word == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
    return env
