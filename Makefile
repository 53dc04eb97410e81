# adhouse: the two commands of the README are `make demo` and `make test`.
include dev/Makefile.inc

CARGO ?= cargo
# Cargo's output directory: `target/` unless CARGO_TARGET_DIR moves it.
TARGET := $(or $(CARGO_TARGET_DIR),target)
INGESTER := $(TARGET)/debug/adhouse-ingester
WITH_ENV := set -a && . ./.dev/env && set +a &&

.PHONY: build dev-up demo test test-rust

build:
	$(CARGO) build --workspace --bins

# The local stack with the schema applied.
dev-up: stack-up build
	$(WITH_ENV) $(INGESTER) migrate

# Sample logs through S3, SQS and the ingester into a database of the demo's
# own (dev/demo.sh applies its schema); the API serves the dashboard.
demo: stack-up build dashboard
	bash dev/demo.sh

# Everything, on a stack started fresh for the run and stopped afterwards.
test: venv build dashboard
	status=0; \
	$(DEV_STACK) up --fresh || status=$$?; \
	if [ $$status -eq 0 ]; then $(MAKE) --no-print-directory test-rust || status=$$?; fi; \
	if [ $$status -eq 0 ]; then $(DEV_PYTHON) -m pytest -c dev/pytest.ini dev/tests || status=$$?; fi; \
	if [ $$status -eq 0 ]; then $(MAKE) --no-print-directory test-dashboard || status=$$?; fi; \
	$(DEV_STACK) down; exit $$status

# A passing run drops its test databases; a failing one leaves them to look at.
test-rust:
	$(WITH_ENV) $(CARGO) test --workspace --no-fail-fast
	$(WITH_ENV) $(DEV_STACK) clean

# ---- Dashboard (dashboards/) ------------------------------------------------
# TypeScript + Vite + Chart.js, built into dashboards/dist, which adhouse-api
# serves at / (api.static_dir). Dependencies come from the committed
# package-lock.json; the browser tests drive Debian's chromium.
DASHBOARD_DEPS := dashboards/node_modules/.package-lock.json

.PHONY: dashboard test-dashboard test-dashboard-unit test-dashboard-e2e

$(DASHBOARD_DEPS): dashboards/package.json dashboards/package-lock.json
	cd dashboards && npm ci --no-audit --no-fund

dashboard: $(DASHBOARD_DEPS)
	cd dashboards && npm run build

test-dashboard-unit: $(DASHBOARD_DEPS)
	cd dashboards && npm test

# Needs the local stack (make dev-up); makes a database of its own in it.
test-dashboard-e2e: dashboard build
	$(WITH_ENV) cd dashboards && npm run test:e2e

test-dashboard: test-dashboard-unit test-dashboard-e2e
# ---- end of Dashboard -------------------------------------------------------

# ---- bench-ingest: ingester benchmark (not part of `make test`; README "Benchmarks: ingestion") ----
# Parse-and-encode throughput of the ingester against ClickHouse's own parser on the
# same generated files, and S3 PUT -> rows-visible freshness through the local stack.
# Prints a table and writes target/bench-ingest.txt. Extra arguments, e.g.
#   make bench-ingest BENCH_INGEST_ARGS="--rows 200000 --repeat 1"   (see --help)
BENCH_INGEST_ARGS ?=

.PHONY: bench-ingest
bench-ingest: stack-up
	$(CARGO) build --release -p adhouse-ingester -p adhouse-tools
	$(WITH_ENV) $(TARGET)/release/bench-ingest $(BENCH_INGEST_ARGS)
# ---- end bench-ingest ----

# ---- bench-feeds: live partner metrics freshness (README "Live metrics from partner APIs") ----
# A change at the fake partner API → the query API's answer, through the real poller.
BENCH_FEEDS_ARGS ?=

.PHONY: bench-feeds
bench-feeds: dev-up
	$(CARGO) build -p adhouse-ingester -p adhouse-api --bins
	$(WITH_ENV) $(DEV_PYTHON) dev/bench_feed_freshness.py $(BENCH_FEEDS_ARGS)
# ---- end bench-feeds ----

# ---- bench-api: query API latency on rollups vs raw events (README "Query API") ----
BENCH_API_ARGS ?=
.PHONY: bench-api
bench-api: dev-up
	$(CARGO) build --release -p adhouse-tools --bin bench-api -p adhouse-api --bin adhouse-api
	$(WITH_ENV) $(TARGET)/release/bench-api $(BENCH_API_ARGS)
# ---- end bench-api ----

# ---- bench-backfill: platform backfills through the sync path (README "Ad-platform accounts") ----
BENCH_BACKFILL_ARGS ?=

.PHONY: bench-backfill
bench-backfill: dev-up
	$(CARGO) build --release -p adhouse-tools --bin bench-backfill
	$(WITH_ENV) $(TARGET)/release/bench-backfill $(BENCH_BACKFILL_ARGS)
# ---- end bench-backfill ----
