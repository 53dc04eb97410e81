"""docker-compose.yml, parsed and held to what the image and the binaries
really accept: commands are the binaries' subcommands, variables are their
settings, the ingester's and the API's environment (the image's ENV, then the
service's) passes their own `check-config`, and names shared between
services (queue, bucket, ports, credentials) agree. No Docker engine runs."""

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from deploycheck import REPO, check_config, copies, default_setting, image_env, known_env_names, port_of, stages, subcommands

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())  # PyYAML resolves the `<<` merges
SERVICES = COMPOSE["services"]
# The services that run the image the Dockerfile builds.
ADHOUSE = {name: service for name, service in SERVICES.items() if service.get("build") == "."}


def environment(service: dict) -> dict[str, str]:
    """What a container of `service` sees: the image's ENV, then the service's `environment`."""
    return {**image_env(), **{name: str(value) for name, value in service.get("environment", {}).items()}}


def image_paths() -> dict[str, Path]:
    """Paths in the image that come from the repository (COPY without --from), mapped back to it."""
    return {dest.rstrip("/"): REPO / sources[0] for stage in stages() for source_stage, sources, dest in copies(stage)
            if source_stage is None and sources != ["."]}


def on_this_machine(env: dict[str, str]) -> dict[str, str]:
    paths = image_paths()
    return {name: str(paths.get(value.rstrip("/"), value)) for name, value in env.items()}


def test_the_file_has_only_compose_top_level_keys_and_declares_its_volumes():
    assert set(COMPOSE) - {"services", "volumes", "networks", "configs", "secrets", "name"} <= {k for k in COMPOSE if k.startswith("x-")}
    used = {mount.split(":")[0] for service in SERVICES.values() for mount in service.get("volumes", []) if not mount.startswith((".", "/"))}
    assert used == set(COMPOSE["volumes"])


def test_the_adhouse_services_run_real_subcommands_with_known_variables():
    assert set(ADHOUSE) == {"migrate", "ingester", "api"}
    for name, service in ADHOUSE.items():
        program, command, *args = service["command"]
        assert command in subcommands(program), (name, service["command"])
        assert not args, name
        unknown = set(service["environment"]) - known_env_names()
        assert not unknown, (name, sorted(unknown))


@pytest.mark.parametrize("name", ["ingester", "api"])
def test_the_long_running_services_pass_their_own_check_config(name, tmp_path):
    program = SERVICES[name]["command"][0]
    done = check_config(program, on_this_machine(environment(SERVICES[name])), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    if name == "ingester":
        assert "log source(s)" in done.stdout and "vast-jsonl" in done.stdout


def test_a_wrong_setting_in_a_service_would_fail_that_check(tmp_path):
    env = on_this_machine({**environment(SERVICES["ingester"]), "ADHOUSE__INGEST__WORKERS": "0"})
    done = check_config("adhouse-ingester", env, tmp_path)
    assert done.returncode != 0 and "ingest.workers" in done.stderr


def test_published_ports_are_the_ones_the_programs_listen_on():
    for name, variable in (("ingester", "ADHOUSE__INGEST__METRICS_ADDR"), ("api", "ADHOUSE__API__LISTEN_ADDR")):
        env = environment(SERVICES[name])
        [published] = SERVICES[name]["ports"]
        assert int(published.split(":")[1]) == port_of(env[variable]) and env[variable].startswith("0.0.0.0:"), name


def test_dependencies_wait_for_what_they_need():
    for name, service in SERVICES.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in SERVICES, (name, target)
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[target], (name, target)
            elif rule["condition"] == "service_completed_successfully":
                assert "restart" not in SERVICES[target], (name, target)  # a one-shot job
    # The schema before any program that reads it; the queue before the ingester.
    assert "migrate" in SERVICES["api"]["depends_on"] and {"migrate", "provision"} <= set(SERVICES["ingester"]["depends_on"])


def test_queue_bucket_and_credentials_agree_between_services():
    script = SERVICES["provision"]["command"][0]
    queues = re.findall(r"create-queue --queue-name (\S+)", script)
    [bucket] = set(re.findall(r"--bucket (\S+)", script))
    queue_url = SERVICES["ingester"]["environment"]["ADHOUSE__INGEST__QUEUE_URL"]
    assert queue_url.rsplit("/", 1)[1] in queues
    # The queue's visibility timeout is the one the ingester heartbeats against.
    assert re.search(r'"VisibilityTimeout": "(\d+)"', script).group(1) == str(default_setting("ingest.visibility_timeout_secs"))
    # The example sources the ingester loads read the provisioned bucket.
    sources_dir = image_paths()[SERVICES["ingester"]["environment"]["ADHOUSE__INGEST__SOURCES_DIR"]]
    assert {tomllib.loads(path.read_text())["bucket"] for path in sources_dir.glob("*.toml")} == {bucket}
    # adhouse reaches ClickHouse and moto by service name, with the credentials ClickHouse was given.
    env = SERVICES["api"]["environment"]
    clickhouse = SERVICES["clickhouse"]
    assert env["ADHOUSE__CLICKHOUSE__URL"] == "http://clickhouse:8123" and "8123:8123" in clickhouse["ports"]
    assert (env["ADHOUSE__CLICKHOUSE__USER"], env["ADHOUSE__CLICKHOUSE__PASSWORD"]) == (clickhouse["environment"]["CLICKHOUSE_USER"], clickhouse["environment"]["CLICKHOUSE_PASSWORD"])
    assert env["AWS_ENDPOINT_URL"] == "http://moto:5000" and "5000:5000" in SERVICES["moto"]["ports"]
    assert "--user adhouse --password adhouse" in shlex.join(clickhouse["healthcheck"]["test"])


def test_the_clickhouse_server_is_the_oldest_version_the_readme_promises():
    version = SERVICES["clickhouse"]["image"].rsplit(":", 1)[1]
    assert f"ClickHouse {version} or later" in (REPO / "README.md").read_text()
