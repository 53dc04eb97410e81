"""`adhouse-ingester migrate --print-grants`: the analysts' role, settings
profile and row policies. chDB has no access control, so the statements are
not applied here; instead ClickHouse's own parser reads every one of them,
the grants are compared with the tables a real migration creates on the local
stack, the profile's settings with the engine's `system.settings`, and the
row policies' filters are run as WHERE clauses over rows of two tenants."""

import json
import re
import subprocess

import pytest
import requests

from deploycheck import binary, clean_env

ALICE = "alice@example.com=acme,o'hara"
# What analysts must never read: token hashes, sealed credentials and grants, OAuth nonces.
SECRET_TABLES = {"api_tokens", "api_token_events", "platform_credentials", "platform_grants", "oauth_used_states", "oauth_flows"}


def print_grants(*args: str, **settings: str) -> list[str]:
    env = clean_env({f"ADHOUSE__{key.upper()}": value for key, value in settings.items()})
    done = subprocess.run([binary("adhouse-ingester"), "migrate", "--print-grants", *args], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    statements = [line.removesuffix(";") for line in done.stdout.splitlines()]
    assert statements and all(line.endswith(";") for line in done.stdout.splitlines())
    return statements


def sql(url: str, query: str) -> str:
    response = requests.post(url, data=query.encode(), timeout=30)
    assert response.status_code == 200, f"{query}\n{response.text}"
    return response.text


def granted_tables(statements: list[str]) -> set[str]:
    return {m.group(1) for s in statements if (m := re.match(r"GRANT (?:ON CLUSTER `\w+` )?SELECT ON `\w+`\.`(\w+)` TO adhouse_analyst$", s))}


@pytest.mark.parametrize("cluster", ["", "prod"])
def test_clickhouses_parser_reads_every_statement(clickhouse_url, cluster):
    statements = print_grants("--analyst", ALICE, "--analyst", "bob=globex", schema__cluster=cluster)
    kinds = []
    for statement in statements:
        kinds.append(sql(clickhouse_url, f"EXPLAIN AST {statement}").split("\n", 1)[0].strip())
    assert kinds.count("GrantQuery") == len(granted_tables(statements)) + 2  # + the role to alice and bob
    assert kinds[:2] == ["CreateRoleQuery", "CreateSettingsProfileQuery"]
    assert kinds.count("CREATE ROW POLICY or ALTER ROW POLICY query") == 4
    # The parser rejects what a broken renderer would print (the check is not vacuous).
    response = requests.post(clickhouse_url, data=b"EXPLAIN AST GRANT SELECT ON `adhouse`.`events` TO", timeout=30)
    assert response.status_code != 200 and "Syntax error" in response.text


def test_the_role_reads_every_reporting_table_a_migration_creates_and_no_secret(clickhouse_url, database, tmp_path):
    env = clean_env({"ADHOUSE__CLICKHOUSE__URL": clickhouse_url, "ADHOUSE__CLICKHOUSE__DATABASE": database})
    subprocess.run([binary("adhouse-ingester"), "migrate"], check=True, capture_output=True, env=env, cwd=tmp_path, timeout=120)
    created = set(sql(clickhouse_url, f"SELECT name FROM system.tables WHERE database = '{database}' AND engine != 'MaterializedView'").split())
    statements = print_grants(clickhouse__database=database)
    granted = granted_tables(statements)
    assert granted and granted <= created
    assert created - granted == SECRET_TABLES | {"schema_migrations"}
    assert not any(f"`{table}`" in statement for statement in statements for table in SECRET_TABLES)
    assert {"events", "events_1m", "events_1h", "events_1d", "platform_daily"} <= granted


def test_the_profile_bounds_queries_with_settings_the_engine_has(clickhouse_url):
    [profile] = [s for s in print_grants() if s.startswith("CREATE SETTINGS PROFILE")]
    names = re.findall(r"(\w+) = \d+", profile)
    assert {"readonly", "max_execution_time", "max_memory_usage"} <= set(names)
    listed = ", ".join(f"'{name}'" for name in names)
    known = set(sql(clickhouse_url, f"SELECT name FROM system.settings WHERE name IN ({listed})").split())
    assert known == set(names)
    assert re.search(r"readonly = 2\b", profile) and profile.endswith(" TO adhouse_analyst")


def test_a_tenant_analysts_row_policies_show_only_their_tenants(clickhouse_url, database, tmp_path):
    env = clean_env({"ADHOUSE__CLICKHOUSE__URL": clickhouse_url, "ADHOUSE__CLICKHOUSE__DATABASE": database})
    subprocess.run([binary("adhouse-ingester"), "migrate"], check=True, capture_output=True, env=env, cwd=tmp_path, timeout=120)
    for tenant, accounts in (("acme", 3), ("o'hara", 2), ("globex", 4)):
        quoted = "'" + tenant.replace("'", "\\'") + "'"
        rows = ", ".join(f"({quoted}, 'meta', 'act{n}', now64(3))" for n in range(accounts))
        sql(clickhouse_url, f"INSERT INTO `{database}`.platform_accounts (tenant, platform, account_id, updated_at) VALUES {rows}")
    policies = [s for s in print_grants("--analyst", ALICE, clickhouse__database=database) if s.startswith("CREATE ROW POLICY")]
    assert len(policies) == 2
    for policy in policies:
        match = re.match(r"CREATE ROW POLICY OR REPLACE `adhouse_analyst_alice@example.com` ON (.+) USING (.+) TO `alice@example.com`$", policy)
        assert match, policy
        tables, condition = match.group(1).split(", "), match.group(2)
        for table in tables:
            # The filter is valid on every table it is attached to...
            sql(clickhouse_url, f"SELECT count() FROM {table} WHERE {condition}")
        if "platform_accounts" in match.group(1):
            # ...and keeps exactly alice's tenants.
            visible = sql(clickhouse_url, f"SELECT tenant, count() AS n FROM `{database}`.platform_accounts WHERE {condition} GROUP BY tenant ORDER BY tenant FORMAT JSONEachRow")
            assert [json.loads(line) for line in visible.splitlines()] == [{"tenant": "acme", "n": 3}, {"tenant": "o'hara", "n": 2}]
        else:
            assert condition == "0" and tables == [f"`{database}`.`ingest_errors`"]  # no tenant column: nothing


def test_an_analyst_without_tenants_is_refused():
    done = subprocess.run([binary("adhouse-ingester"), "migrate", "--print-grants", "--analyst", "alice"], capture_output=True, text=True, env=clean_env())
    assert done.returncode != 0 and '--analyst "alice"' in done.stderr
    done = subprocess.run([binary("adhouse-ingester"), "migrate", "--analyst", "alice=acme"], capture_output=True, text=True, env=clean_env())
    assert done.returncode != 0 and "--print-grants" in done.stderr
