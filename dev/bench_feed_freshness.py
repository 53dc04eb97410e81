"""`make bench-feeds`: how fresh live partner metrics are, end to end.

A database of its own, the real `adhouse-ingester poll FEED` (the loop
`adhouse-ingester run` runs per feed) against the fake partner API every
--interval seconds, and the real `adhouse-api`. Each round changes one hour's
impressions at the fake (a restatement) and measures the time until
`POST /api/v1/query` with `"dataset": "partners"` answers the new number.
Expected: at most one interval plus a few seconds. Prints the numbers; it
asserts nothing (it is a benchmark, not a test).

    python dev/bench_feed_freshness.py [--interval 15] [--rounds 5]
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
TENANT = "benchfeeds"
PARTNER = "rubicon"


def binary(name: str) -> str:
    path = REPO / "target" / "debug" / name
    if not path.exists():
        sys.exit(f"{path} is missing: cargo build -p adhouse-ingester -p adhouse-api --bins")
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=int, default=15, help="the feed's interval_secs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--port", type=int, default=18391, help="adhouse-api's port")
    args = parser.parse_args()
    fake = os.environ.get("ADHOUSE_DEV_PLATFORMS_URL") or sys.exit("source .dev/env first (make dev-up)")
    database = f"bench_feeds_{os.getpid()}"
    env = {**os.environ, "ADHOUSE__CLICKHOUSE__DATABASE": database, "ADHOUSE__LOG__LEVEL": "warn", "ADHOUSE_API_METRICS_ADDR": ""}

    # The partner's truth: 48 hours of a few partners, up to the current hour.
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    hours = [int((now - timedelta(hours=h)).timestamp()) for h in range(48)]
    partner_hours = [{"tenant": TENANT, "partner": p, "hour": hour, "impressions": 1000 + i, "revenue_micros": 2_000_000 + i}
                     for i, hour in enumerate(hours) for p in ("rubicon", "openx", "appnexus")]
    requests.post(f"{fake}/_fake/partner/load", json={"manifest": {"partner_hours": partner_hours}}).raise_for_status()

    feeds = Path(tempfile.mkdtemp(prefix="adhouse-bench-feeds-"))
    example = (REPO / "ingester/examples/feeds/mediation-hourly.toml").read_text()
    feed = (example.replace("https://reports.partner.example", f"{fake}/partner")
            .replace("account=acme", f"account={TENANT}").replace('tenant = "acme"', f'tenant = "{TENANT}"')
            .replace("interval_secs = 60", f"interval_secs = {args.interval}\nrequest_timeout_secs = {max(1, args.interval // 2)}").replace("reread_hours = 26", "reread_hours = 6"))
    (feeds / "bench.toml").write_text(feed)
    env["ADHOUSE__PARTNERS__FEEDS_DIR"] = str(feeds)
    env["ADHOUSE__API__LISTEN_ADDR"] = f"127.0.0.1:{args.port}"

    processes: list[subprocess.Popen] = []
    try:
        migrated = subprocess.run([binary("adhouse-ingester"), "migrate"], env=env, capture_output=True, text=True)
        if migrated.returncode != 0:
            sys.exit(f"adhouse-ingester migrate failed:\n{migrated.stderr}")
        token = subprocess.run([binary("adhouse-api"), "token", "create", "--tenant", TENANT], env=env, check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
        processes.append(subprocess.Popen([binary("adhouse-api"), "serve"], env=env))
        processes.append(subprocess.Popen([binary("adhouse-ingester"), "poll", "mediation_hourly"], env=env))
        api = f"http://127.0.0.1:{args.port}"
        headers = {"Authorization": f"Bearer {token}"}
        hour = hours[1]  # the last complete hour
        start = datetime.fromtimestamp(hour, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        end = datetime.fromtimestamp(hour + 3600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = {"dataset": "partners", "metrics": ["impressions"], "filters": [{"dimension": "partner", "op": "eq", "value": PARTNER}],
                 "time_range": {"from": start, "to": end}, "timezone": "UTC"}

        def answered() -> int | None:
            try:
                response = requests.post(f"{api}/api/v1/query", json=query, headers=headers, timeout=5)
            except requests.ConnectionError:
                return None
            return response.json()["totals"]["impressions"] if response.ok else None

        deadline = time.monotonic() + 60
        while answered() in (None, 0):
            if time.monotonic() > deadline:
                sys.exit("the first poll did not land within 60 s; see the ingester's log above")
            time.sleep(0.2)

        latencies = []
        for round_number in range(args.rounds):
            value = 50_000 + round_number
            # A change lands anywhere in the poll cycle, as a partner's would.
            time.sleep(random.uniform(0, args.interval))
            changed = time.monotonic()
            requests.post(f"{fake}/_fake/partner/restate", json={"account": TENANT, "partner": PARTNER, "hour": hour,
                                                               "impressions": value, "revenue_micros": value}).raise_for_status()
            limit = changed + 3 * args.interval + 30
            while answered() != value:
                if time.monotonic() > limit:
                    sys.exit(f"round {round_number + 1}: the change was not answered within {limit - changed:.0f} s")
                time.sleep(0.1)
            latencies.append(time.monotonic() - changed)
            print(f"round {round_number + 1}: change at the partner → API answer in {latencies[-1]:.2f} s", flush=True)
        print(f"\nfeed interval {args.interval} s, {args.rounds} rounds: freshness min {min(latencies):.2f} s, "
              f"median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
              f"(bound: one interval + a few seconds = {args.interval + 5} s)")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(feeds, ignore_errors=True)
        subprocess.run(["curl", "-sf", os.environ["ADHOUSE__CLICKHOUSE__URL"] + "/", "--data-binary", f"DROP DATABASE IF EXISTS {database}"],
                       check=False, capture_output=True)


if __name__ == "__main__":
    main()
