"""The Helm chart, checked by Helm's own engine (helm-python-sdk binds Helm v4's
Go SDK: lint, schema validation and rendering as `helm install` does them),
every rendered manifest validated strictly against the current Kubernetes
API (kubernetes-validate), and the rendered configuration checked by the
adhouse binaries themselves.

Needs no cluster and no running stack; the binaries come from `cargo build`.
"""

import base64
import copy
import hashlib
import re
import subprocess
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from deploycheck import REPO, check_config, default_setting, known_env_names, port_of, subcommands

CHART = REPO / "helm" / "adhouse"
KUBE_VERSION = kubernetes_validate.utils.latest_version()  # the newest API the validator knows
RELEASE, NAMESPACE = "adhouse", "adhouse"
# The source the README installs with --set-file.
SET_FILE = "ingester.sources.vast-jsonl\\.toml=ingester/examples/sources/vast-jsonl.toml"
# Kinds of CRDs the chart may render; kubernetes-validate knows only built-in kinds.
CRD_API_VERSIONS = {"keda.sh/v1alpha1", "monitoring.coreos.com/v1"}
# What an operator's existing Secrets hold (values files name them).
EXISTING_SECRETS = {
    "adhouse-clickhouse": {"password": "from-the-operators-secret", "ch-password": "from-the-operators-secret"},
    "adhouse-platforms": {
        "state_secret": "an-hmac-key-of-well-over-sixteen-characters",
        "vault_keys": "k1:" + base64.b64encode(bytes(range(32))).decode(),
        "meta_client_secret": "meta-app-secret",
        "google_client_secret": "google-oauth-secret",
    },
}


def deep_merge(base: dict, extra: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def values(name: str, **overrides) -> dict:
    """helm/adhouse/ci/<name>-values.yaml plus the README's --set-file source (through Helm's own parser)."""
    with_sources = deep_merge(yaml.safe_load((CHART / "ci" / f"{name}-values.yaml").read_text()), helm.parse_set_file(SET_FILE))
    return deep_merge(with_sources, overrides)


@pytest.fixture(scope="module")
def chart():
    helm.disable_logging()
    return helm.Chart.load(str(CHART))


def render(chart, vals: dict) -> list[dict]:
    """The manifests `helm install` would apply (hooks included), NOTES.txt
    left out; like install, the SDK's render checks values.schema.json first."""
    docs = []
    for path, text in sorted(chart.render(vals, name=RELEASE, namespace=NAMESPACE, is_install=True).items()):
        if not path.endswith("NOTES.txt"):
            docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def notes(chart, vals: dict) -> str:
    return chart.render(vals, name=RELEASE, namespace=NAMESPACE, is_install=True)["adhouse/templates/NOTES.txt"]


def by_kind(docs, kind: str) -> list[dict]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs, kind: str, name: str) -> dict:
    [doc] = [doc for doc in by_kind(docs, kind) if doc["metadata"]["name"] == name]
    return doc


def pod_specs(docs) -> dict[str, dict]:
    """Workload name -> pod spec, for every Deployment, Job and CronJob."""
    specs = {}
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            specs[doc["metadata"]["name"]] = doc["spec"]["template"]["spec"]
        elif doc["kind"] == "CronJob":
            specs[doc["metadata"]["name"]] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def secret_value(docs, name: str, key: str) -> str | None:
    for secret in by_kind(docs, "Secret"):
        if secret["metadata"]["name"] == name:
            return base64.b64decode(secret["data"][key]).decode()
    return EXISTING_SECRETS.get(name, {}).get(key)


def materialize(docs, spec: dict, container: dict, root: Path) -> dict[str, str]:
    """The container's environment as the kubelet would build it, with its
    ConfigMap volumes written under `root` and paths in the environment moved
    there too."""
    env = {}
    for source in container.get("envFrom", []):
        env.update(EXISTING_SECRETS[source["secretRef"]["name"]])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
            continue
        ref = var["valueFrom"]["secretKeyRef"]
        found = secret_value(docs, ref["name"], ref["key"])
        assert found is not None or ref.get("optional"), f"{var['name']}: no Secret {ref['name']}/{ref['key']}"
        if found is not None:
            env[var["name"]] = found
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        local = root / mount["mountPath"].lstrip("/")
        local.mkdir(parents=True, exist_ok=True)
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            for file, content in one(docs, "ConfigMap", volume["configMap"]["name"])["data"].items():
                (local / file).write_text(content)
        env = {name: value.replace(mount["mountPath"], str(local), 1) if value.startswith(mount["mountPath"]) else value for name, value in env.items()}
    return env


# ---- Helm's lint and schema --------------------------------------------------

def lint_findings(vals: dict | None) -> list[tuple[int, str]]:
    report = helm.lint(str(CHART), vals, strict=True, kube_version=f"v{KUBE_VERSION}.0")
    return [(message["severity"], message["error"].strip()) for message in report["messages"]]


# The one finding a chart without an icon URL gets (severity 1, info).
ICON = (1, "icon is recommended")


@pytest.mark.parametrize("name", ["minimal", "full"])
def test_helm_lint_finds_nothing_in_the_minimal_and_full_values(name):
    assert lint_findings(values(name)) == [ICON]


def test_helm_lint_of_the_default_values_reports_only_the_missing_clickhouse_url():
    findings = lint_findings(None)
    assert ICON in findings
    errors = {text for severity, text in findings if severity == 3}
    assert errors and all("at '/clickhouse': missing property 'url'" in text for text in errors), findings
    assert all(severity != 2 for severity, _ in findings), findings


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"ingester": {"replicas": "two"}}, "at '/ingester/replicas': got string, want integer"),
        ({"ingestr": {"replicas": 2}}, "additional properties 'ingestr' not allowed"),
        ({"api": {"autoscaling": {"enabled": True, "maxReplica": 4}}}, "at '/api/autoscaling': additional properties 'maxReplica' not allowed"),
        ({"clickhouse": {"url": "clickhouse.internal:8123"}}, "at '/clickhouse/url'"),
        ({"image": {"digest": "latest"}}, "at '/image/digest'"),
        ({"ingester": {"sources": {"vast.yaml": "name = 'x'"}}}, "invalid propertyName 'vast.yaml'"),
        # null deletes a default in Helm: a pod without a memory limit is refused.
        ({"ingester": {"resources": {"limits": None}}}, "at '/ingester/resources': missing property 'limits'"),
    ],
)
def test_a_wrong_value_fails_with_helms_schema_message(chart, override, message):
    with pytest.raises(helm.HelmValuesError, match=re.escape(message)):
        chart.validate_schema(values("minimal", **override))


def test_a_values_file_without_clickhouse_url_fails_at_install_time(chart):
    vals = values("minimal")
    del vals["clickhouse"]["url"]
    with pytest.raises(helm.HelmValuesError, match="at '/clickhouse': missing property 'url'"):
        chart.validate_schema(vals)
    with pytest.raises(helm.HelmValuesError, match="at '/clickhouse': missing property 'url'"):
        chart.render(vals, name=RELEASE, namespace=NAMESPACE, is_install=True)


def flat_keys(tree: dict, prefix: str = "") -> set[str]:
    """Dotted paths of values.yaml's leaves; free-form maps (annotations, resources, sources...) count as one leaf."""
    free_form = {"resources", "annotations", "podAnnotations", "nodeSelector", "affinity", "labels", "sources",
                 "podSecurityContext", "securityContext"}
    keys = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and key not in free_form:
            keys |= flat_keys(value, f"{path}.")
        else:
            keys.add(path)
    return keys


def schema_keys(node: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, sub in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        keys |= schema_keys(sub, f"{path}.") if "properties" in sub and sub.get("additionalProperties") is False else {path}
    return keys


def test_every_value_is_in_the_schema_and_the_readme(chart):
    documented = flat_keys(chart.values) | {"clickhouse.url"}  # url: commented out in values.yaml, required
    assert schema_keys(chart.schema) == documented
    readme = (REPO / "README.md").read_text()
    missing = sorted(key for key in documented if f"`{key}`" not in readme)
    assert not missing, f"values not documented in README.md (Kubernetes (Helm) table): {missing}"


# ---- Rendered manifests against Kubernetes' own API schemas ---------------------

@pytest.mark.parametrize("name", ["minimal", "full"])
def test_every_rendered_manifest_is_valid_kubernetes_in_strict_mode(chart, name):
    docs = render(chart, values(name))
    builtin = [doc for doc in docs if doc["apiVersion"] not in CRD_API_VERSIONS]
    for doc in builtin:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    kinds = sorted(doc["kind"] for doc in docs)
    if name == "minimal":
        assert kinds == ["ConfigMap", "Deployment", "Deployment", "Job", "PodDisruptionBudget", "PodDisruptionBudget", "Service", "ServiceAccount"]
    else:
        assert set(kinds) == {"ConfigMap", "CronJob", "Deployment", "HorizontalPodAutoscaler", "Ingress", "Job", "NetworkPolicy",
                              "PodDisruptionBudget", "ScaledObject", "Service", "ServiceAccount", "ServiceMonitor"}


def test_strict_validation_rejects_a_field_kubernetes_does_not_have(chart):
    deployment = one(render(chart, values("minimal")), "Deployment", "adhouse-api")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


# ---- What matters in the rendered objects ---------------------------------------

def env_of(container: dict) -> dict[str, dict]:
    return {var["name"]: var for var in container.get("env", [])}


@pytest.mark.parametrize("name", ["minimal", "full"])
def test_passwords_and_platform_secrets_reach_the_pods_only_through_secret_key_refs(chart, name):
    docs = render(chart, values(name))
    for workload, spec in pod_specs(docs).items():
        for container in spec["containers"]:
            for var_name, var in env_of(container).items():
                if any(word in var_name for word in ("PASSWORD", "SECRET", "VAULT", "TOKEN")):
                    assert set(var) == {"name", "valueFrom"} and "secretKeyRef" in var["valueFrom"], (workload, var)
            assert "ADHOUSE__CLICKHOUSE__PASSWORD" in env_of(container), workload


def test_a_password_given_as_a_value_lives_in_the_chart_secret_and_nowhere_else(chart):
    password = "pw-given-on-the-command-line"
    vals = values("minimal", clickhouse={"existingSecret": "", "password": password})
    docs = render(chart, vals)
    [secret] = by_kind(docs, "Secret")
    assert base64.b64decode(secret["data"]["password"]).decode() == password
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"  # the migration reads it
    others = yaml.safe_dump_all([doc for doc in docs if doc is not secret])
    assert password not in others and secret["data"]["password"] not in others


@pytest.mark.parametrize("name", ["minimal", "full"])
def test_every_pod_runs_as_the_images_user_on_a_read_only_root_with_resources_set(chart, name):
    user = int(next(line.split()[1].split(":")[0] for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("USER ")))
    specs = pod_specs(render(chart, values(name)))
    assert len(specs) == (3 if name == "minimal" else 4)
    for workload, spec in specs.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == user and pod["seccompProfile"]["type"] == "RuntimeDefault", workload
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False, workload
            assert security["capabilities"]["drop"] == ["ALL"], workload
            assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"], workload
            # The one writable place: an emptyDir at /tmp.
            assert {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")} == {"/tmp"}, workload


def container_ports(container) -> dict[str, int]:
    return {port["name"]: port["containerPort"] for port in container["ports"]}


def test_probes_and_scrapes_hit_the_ports_the_programs_listen_on(chart):
    docs = render(chart, values("full"))
    specs = pod_specs(docs)
    # (container, env naming the address, port name its probes and scrapes use)
    api = specs["adhouse-api"]["containers"][0]
    ingester = specs["adhouse-ingester"]["containers"][0]
    api_env, ingester_env = env_of(api), env_of(ingester)
    listen, api_metrics = api_env["ADHOUSE__API__LISTEN_ADDR"]["value"], api_env["ADHOUSE_API_METRICS_ADDR"]["value"]
    ingester_metrics = ingester_env["ADHOUSE__INGEST__METRICS_ADDR"]["value"]
    # Pods are reached from outside, so every listener binds every interface
    # (the programs' own defaults are 127.0.0.1).
    assert {listen.split(":")[0], api_metrics.split(":")[0], ingester_metrics.split(":")[0]} == {"0.0.0.0"}
    assert container_ports(api) == {"http": port_of(listen), "metrics": port_of(api_metrics)}
    assert container_ports(ingester) == {"metrics": port_of(ingester_metrics)}
    # The API serves /healthz and /readyz on its public port, the ingester on its metrics port.
    for container, port in ((api, "http"), (ingester, "metrics")):
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    for name, container in (("adhouse-api", api), ("adhouse-ingester", ingester)):
        annotations = one(docs, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]
        assert int(annotations["prometheus.io/port"]) == container_ports(container)["metrics"]
    service = one(docs, "Service", "adhouse-api")
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]  # metrics never public


def test_the_migration_is_a_pre_install_pre_upgrade_hook_after_what_it_reads(chart):
    docs = render(chart, values("full"))
    job = one(docs, "Job", "adhouse-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    [container] = job["spec"]["template"]["spec"]["containers"]
    program, command = container["command"]
    assert program == "adhouse-ingester" and command in subcommands(program) and command == "migrate"
    config_map = one(docs, "ConfigMap", "adhouse-config")  # config.toml, which the Job mounts
    assert config_map["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(config_map["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])


@pytest.mark.parametrize("name", ["minimal", "full"])
def test_the_rendered_configuration_passes_the_binaries_own_checks(chart, name, tmp_path):
    docs = render(chart, values(name))
    specs = pod_specs(docs)
    known = known_env_names()
    for workload, spec in specs.items():
        for container in spec["containers"]:
            program, command = container["command"]
            assert command in subcommands(program), (workload, container["command"])
            assert set(env_of(container)) <= known, (workload, sorted(set(env_of(container)) - known))
    # The long-running programs check exactly what they will load.
    for workload, program in (("adhouse-ingester", "adhouse-ingester"), ("adhouse-api", "adhouse-api")):
        spec = specs[workload]
        root = tmp_path / workload
        env = materialize(docs, spec, spec["containers"][0], root)
        done = check_config(program, env, root)
        assert done.returncode == 0, f"{workload}: {done.stdout}{done.stderr}"
    if name == "full":
        assert "account linking on" in check_config("adhouse-api", materialize(docs, specs["adhouse-api"], specs["adhouse-api"]["containers"][0], tmp_path / "again"), tmp_path / "again").stdout


def test_a_setting_the_api_rejects_fails_its_check_on_the_rendered_pod(chart, tmp_path):
    docs = render(chart, values("minimal", config="[api]\nmax_rows = 0\n"))
    spec = pod_specs(docs)["adhouse-api"]
    done = check_config("adhouse-api", materialize(docs, spec, spec["containers"][0], tmp_path), tmp_path)
    assert done.returncode != 0 and "api.max_rows" in done.stderr, done.stderr


def test_a_broken_log_source_fails_the_ingesters_check_on_the_rendered_pod(chart, tmp_path):
    vals = values("minimal")
    vals["ingester"]["sources"]["vast-jsonl.toml"] += "\nunknown_key = 1\n"
    docs = render(chart, vals)
    spec = pod_specs(docs)["adhouse-ingester"]
    done = check_config("adhouse-ingester", materialize(docs, spec, spec["containers"][0], tmp_path), tmp_path)
    assert done.returncode != 0 and "unknown_key" in done.stderr + done.stdout


def pod_template(docs, name: str) -> dict:
    return one(docs, "Deployment", name)["spec"]["template"]


def test_a_changed_log_source_rolls_the_ingester_and_only_it(chart):
    before = render(chart, values("minimal"))
    vals = values("minimal")
    vals["ingester"]["sources"]["vast-jsonl.toml"] = vals["ingester"]["sources"]["vast-jsonl.toml"].replace('bucket = "adhouse-logs"', 'bucket = "other-logs"')
    after = render(chart, vals)
    assert pod_template(before, "adhouse-ingester") != pod_template(after, "adhouse-ingester")
    assert pod_template(before, "adhouse-api") == pod_template(after, "adhouse-api")
    source = one(after, "ConfigMap", "adhouse-sources")["data"]["vast-jsonl.toml"]
    assert 'bucket = "other-logs"' in source


def test_a_changed_config_toml_rolls_every_deployment(chart):
    before, after = render(chart, values("minimal")), render(chart, values("minimal", config="[api]\nmax_rows = 500\n"))
    for name in ("adhouse-ingester", "adhouse-api"):
        old, new = (pod_template(docs, name)["metadata"]["annotations"]["checksum/config"] for docs in (before, after))
        assert old != new and new == hashlib.sha256(b"[api]\nmax_rows = 500\n").hexdigest()


# ---- The production options ----------------------------------------------------

def test_autoscalers_own_the_replica_counts_they_scale(chart):
    minimal, full = render(chart, values("minimal")), render(chart, values("full"))
    assert all("replicas" in doc["spec"] for doc in by_kind(minimal, "Deployment"))
    assert all("replicas" not in doc["spec"] for doc in by_kind(full, "Deployment"))
    [hpa] = by_kind(full, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "adhouse-api"}


def test_keda_scales_the_ingester_on_both_queues_and_waits_out_the_visibility_timeout(chart):
    vals = values("full")
    [scaled] = by_kind(render(chart, vals), "ScaledObject")
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {"name": "adhouse-ingester"}
    assert [t["metadata"]["queueURL"] for t in spec["triggers"]] == [vals["ingester"]["queueUrl"], vals["platforms"]["syncQueueUrl"]]
    for trigger in spec["triggers"]:
        assert trigger["type"] == "aws-sqs-queue" and trigger["authenticationRef"] == {"name": "adhouse-keda-aws"}
        assert trigger["metadata"]["scaleOnInFlight"] == "true" and trigger["metadata"]["awsRegion"] == "eu-west-1"
        assert int(trigger["metadata"]["queueLength"]) >= 1
    assert spec["cooldownPeriod"] > default_setting("ingest.visibility_timeout_secs")
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]


def test_the_daily_schedule_runs_the_ingesters_schedule_command_with_the_sync_queue(chart):
    vals = values("full")
    docs = render(chart, vals)
    [cron] = by_kind(docs, "CronJob")
    assert cron["spec"]["schedule"] == "30 2 * * *" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    [container] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["adhouse-ingester", "schedule"] and "schedule" in subcommands("adhouse-ingester")
    env = env_of(container)
    assert env["ADHOUSE__PLATFORMS__SYNC_QUEUE_URL"]["value"] == vals["platforms"]["syncQueueUrl"]
    # The API enqueues backfills on the same queue, as the same AWS identity.
    api = pod_specs(docs)["adhouse-api"]
    assert env_of(api["containers"][0])["ADHOUSE__PLATFORMS__SYNC_QUEUE_URL"] == env["ADHOUSE__PLATFORMS__SYNC_QUEUE_URL"]
    assert api["serviceAccountName"] == cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"]
    assert by_kind(render(chart, values("minimal")), "CronJob") == []  # no platform, no schedule


def test_the_service_monitor_selects_metrics_services_of_both_programs(chart):
    docs = render(chart, values("full"))
    [monitor] = by_kind(docs, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = [s for s in by_kind(docs, "Service") if selector.items() <= s["metadata"]["labels"].items()]
    assert sorted(s["metadata"]["name"] for s in selected) == ["adhouse-api-metrics", "adhouse-ingester-metrics"]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    for service in selected:
        [port] = service["spec"]["ports"]
        assert port["name"] == monitor["spec"]["endpoints"][0]["port"] == port["targetPort"] == "metrics"
        workload = service["metadata"]["name"].removesuffix("-metrics")
        template = pod_template(docs, workload)
        assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
        assert container_ports(template["spec"]["containers"][0])["metrics"] == port["port"]


def test_network_policies_admit_the_api_port_and_metrics_only_and_let_pods_reach_dns_and_https(chart):
    docs = render(chart, values("full"))
    policies = {p["metadata"]["name"]: p["spec"] for p in by_kind(docs, "NetworkPolicy")}
    everyone, api = policies["adhouse"], policies["adhouse-api"]
    pod_labels = [pod_template(docs, d["metadata"]["name"])["metadata"]["labels"] for d in by_kind(docs, "Deployment")]
    pod_labels += [d["spec"]["template"]["metadata"]["labels"] for d in by_kind(docs, "Job")]
    pod_labels += [d["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"] for d in by_kind(docs, "CronJob")]
    assert len(pod_labels) == 4 and all(everyone["podSelector"]["matchLabels"].items() <= labels.items() for labels in pod_labels)
    assert [port["port"] for rule in everyone["ingress"] for port in rule["ports"]] == ["metrics"]
    egress_ports = {port["port"] for rule in everyone["egress"] for port in rule["ports"]}
    assert {53, 443, 8443} <= egress_ports
    assert api["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert api["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}


def test_pods_spread_over_zones_and_nodes_and_disruption_budgets_cover_both_deployments(chart):
    docs = render(chart, values("minimal"))
    for name, component in (("adhouse-api", "api"), ("adhouse-ingester", "ingester")):
        template = pod_template(docs, name)
        spread = template["spec"]["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in spread] == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        assert all(c["labelSelector"]["matchLabels"].items() <= template["metadata"]["labels"].items() for c in spread)
        pdb = one(docs, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component
        assert pdb["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()


def test_an_image_digest_pins_every_container(chart):
    vals = values("full")
    for spec in pod_specs(render(chart, vals)).values():
        for container in spec["containers"]:
            assert container["image"] == f"{vals['image']['repository']}@{vals['image']['digest']}"
    for spec in pod_specs(render(chart, values("minimal"))).values():
        assert spec["containers"][0]["image"] == f"adhouse:{chart.metadata['appVersion']}"


def test_notes_print_the_dashboard_url_and_a_first_token_command_that_exists(chart):
    text = notes(chart, values("full"))
    assert "https://adhouse.example.com/" in text
    command = next(line.split(" -- ", 1)[1].split() for line in text.splitlines() if "token create" in line)
    assert command[:4] == ["adhouse-api", "token", "create", "--tenant"]
    help_text = subprocess.run([REPO / "target" / "debug" / command[0], *command[1:3], "--help"], capture_output=True, text=True, check=True).stdout
    assert "--tenant <TENANT>" in help_text
    assert "kubectl port-forward -n adhouse svc/adhouse-api 8080:80" in notes(chart, values("minimal"))


# ---- Upgrade from the previous chart -------------------------------------------

PREVIOUS_CHART_COMMIT = "ca29b29"  # chart 0.1.0, the last version before values.schema.json


def test_an_upgrade_from_chart_0_1_0_changes_no_immutable_field(chart, tmp_path):
    archive = subprocess.run(["git", "-C", REPO, "archive", PREVIOUS_CHART_COMMIT, "helm/adhouse"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"chart 0.1.0 ({PREVIOUS_CHART_COMMIT}) is not in this clone's history")
    subprocess.run(["tar", "-x", "-C", tmp_path], input=archive.stdout, check=True)
    old_chart = helm.Chart.load(str(tmp_path / "helm" / "adhouse"))
    assert old_chart.metadata["version"] == "0.1.0"
    vals = values("minimal")
    old = [doc for path, text in old_chart.render(vals, name=RELEASE, namespace=NAMESPACE).items()
           if not path.endswith("NOTES.txt") for doc in yaml.safe_load_all(text) if doc]
    new = render(chart, vals)
    for deployment in by_kind(old, "Deployment"):
        name = deployment["metadata"]["name"]
        assert one(new, "Deployment", name)["spec"]["selector"] == deployment["spec"]["selector"], name
    # The Job's template is immutable, so the hook must replace it, not patch it.
    assert "before-hook-creation" in one(new, "Job", "adhouse-migrate")["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    assert {(d["kind"], d["metadata"]["name"]) for d in old} <= {(d["kind"], d["metadata"]["name"]) for d in new}
