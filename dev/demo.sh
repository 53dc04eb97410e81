#!/usr/bin/env bash
# `make demo`: the whole pipeline on the local stack. Generated ad logs go to
# S3, S3 notifies SQS, adhouse-ingester (running in the background) ingests
# them, and adhouse-api serves the dashboard on the result.
# `dev/demo.sh stop` (run by `make dev-down`) stops the two services.
set -euo pipefail
cd "$(dirname "$0")/.."

PIDS=.dev/demo
TARGET=${CARGO_TARGET_DIR:-target}
INGESTER=$TARGET/debug/adhouse-ingester
API=$TARGET/debug/adhouse-api
GEN=$TARGET/debug/adhouse-gen

stop() {
    for pidfile in "$PIDS"/*.pid; do
        [ -e "$pidfile" ] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

start() {
    local name=$1
    shift
    mkdir -p "$PIDS" .dev/logs
    nohup "$@" >".dev/logs/$name.log" 2>&1 &
    echo $! >"$PIDS/$name.pid"
}

clickhouse() {
    curl -sf "$CLICKHOUSE_URL/" --data-binary "$1"
}

if [ "${1:-}" = stop ]; then
    stop
    exit 0
fi

set -a
. ./.dev/env
ADHOUSE__INGEST__SOURCES_DIR=ingester/examples/sources
ADHOUSE__INGEST__POLL_WAIT_SECS=1
ADHOUSE__LOG__FORMAT=json
ADHOUSE__PARTNERS__FEEDS_DIR=.dev/feeds
# Its own database, raw events kept 460 days, display names of the sources.
ADHOUSE_CONFIG=dev/demo.toml
set +a

days=${DEMO_DAYS:-90}

# One live-metrics feed: the example, pointed at the fake partner reporting
# API, re-reading the demo range (at most the 90 days a feed may re-read) so
# the discrepancy view covers it.
mkdir -p .dev/feeds
sed -e "s|https://reports.partner.example|$ADHOUSE_DEV_PLATFORMS_URL/partner|" \
    -e "s|^reread_hours = .*|reread_hours = $(( days < 90 ? (days + 1) * 24 : 2160 ))|" \
    ingester/examples/feeds/mediation-hourly.toml >.dev/feeds/mediation-hourly.toml

stop
# A fresh demo each run: today's log file grows with the hour, so its object
# would differ from the one a previous run ingested under the same key.
clickhouse "DROP DATABASE IF EXISTS adhouse_demo SYNC" >/dev/null
"$INGESTER" migrate >/dev/null
start ingester "$INGESTER" run

# The last $days days up to the current hour, and the same weeks of last year
# (52 weeks back, so weekdays line up) at a quarter of the traffic.
begun=$(date +%s)
now=$(date -u +%FT%H:00:00Z)
start_day=$(date -u -d "$days days ago" +%F)
echo "generating $days days of ad logs up to $now, and the same weeks a year before, into s3://$ADHOUSE_BUCKET ..."
rm -rf .dev/sample-logs .dev/sample-logs-last-year
"$GEN" --upload "s3://$ADHOUSE_BUCKET/" --out .dev/sample-logs --start "$start_day" --days "$((days + 1))" --until "$now" \
    --files 1 --rows-per-file 5000 --bad-every 1000 >/dev/null 2>.dev/logs/gen.log
"$GEN" --upload "s3://$ADHOUSE_BUCKET/" --out .dev/sample-logs-last-year --seed 2 \
    --start "$(date -u -d "$start_day 364 days ago" +%F)" --days "$((days + 1))" --until "$(date -u -d "$now 364 days ago" +%FT%H:00:00Z)" \
    --files 1 --rows-per-file 1250 --bad-every 1000 >/dev/null 2>>.dev/logs/gen.log
keys=$(cd .dev/sample-logs && find logs -type f -printf "'%p',"; cd ../sample-logs-last-year && find logs -type f -printf "'%p',")

# The partner reports the same traffic, with its designed differences
# (dev/fakeplatforms/partner.py); the feed's next poll picks it up.
{ printf '{"manifest": '; cat .dev/sample-logs/manifest.json; printf '}'; } |
    curl -sf -X POST "$ADHOUSE_DEV_PLATFORMS_URL/_fake/partner/load" -H 'Content-Type: application/json' --data-binary @- >/dev/null
files=$(find .dev/sample-logs/logs .dev/sample-logs-last-year/logs -type f | wc -l)

echo "ingesting through SQS ($files objects) ..."
until [ "$(clickhouse "SELECT count() FROM adhouse_demo.ingest_files FINAL WHERE status = 'done' AND key IN (${keys%,})")" -ge "$files" ]; do
    kill -0 "$(cat "$PIDS/ingester.pid")" 2>/dev/null || { echo "the ingester stopped; see .dev/logs/ingester.log" >&2; exit 1; }
    sleep 1
done
clickhouse "SELECT 'events: ' || toString(count()) || ' rows, ' || toString(uniqExact(file)) || ' files' FROM adhouse_demo.events"
echo "generated and ingested in $(( $(date +%s) - begun )) s"

token=$("$API" token create --tenant acme --timezone America/New_York | tail -n 1)
start api "$API" serve
addr=$(grep -o '^listen_addr = "[^"]*"' config/default.toml | cut -d'"' -f2)
until curl -sf "http://$addr/healthz" >/dev/null; do
    kill -0 "$(cat "$PIDS/api.pid")" 2>/dev/null || { echo "the API stopped; see .dev/logs/api.log" >&2; exit 1; }
    sleep 0.5
done

echo "linking a demo Meta, Google Ads, Yahoo! JAPAN Ads and X Ads account, a Facebook Page and an Instagram account on the fake platforms ..."
.venv/bin/python dev/demo_link.py "http://$addr" "$token" meta 1001
.venv/bin/python dev/demo_link.py "http://$addr" "$token" google 1111111111
.venv/bin/python dev/demo_link.py "http://$addr" "$token" yahoo 1000000011
# X: OAuth 1.0a; the fake's "Authorize app" form works like the others'.
.venv/bin/python dev/demo_link.py "http://$addr" "$token" x 18ce54d4x5t
.venv/bin/python dev/demo_link.py "http://$addr" "$token" facebook 5001
.venv/bin/python dev/demo_link.py "http://$addr" "$token" instagram 17841400000000501

cat <<DONE

adhouse demo is running.
  Dashboard   http://$addr/   (sign in with the token below; tenant acme)
  Token       $token
  Accounts    a demo Meta, Google Ads, Yahoo! JAPAN Ads and X Ads account, a Facebook Page and an Instagram account,
              linked on the fake platforms ($ADHOUSE_DEV_PLATFORMS_URL);
              their year of daily numbers is synced by the ingester: curl -H "Authorization: Bearer $token" http://$addr/api/v1/accounts
  ClickHouse  $CLICKHOUSE_URL   database adhouse_demo, e.g. curl "$CLICKHOUSE_URL/?query=SELECT+count()+FROM+adhouse_demo.events_1h"
  Partners    one live-metrics feed (.dev/feeds/) polls the fake partner API every minute:
              curl -H "Authorization: Bearer $token" http://$addr/api/v1/feeds
              the discrepancy report: POST http://$addr/api/v1/discrepancy (the dashboard's Discrepancy view)
  Logs        .dev/logs/   Ingester metrics: http://127.0.0.1:9464/metrics
  Stop        make dev-down
DONE
