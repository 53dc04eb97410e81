# syntax=docker/dockerfile:1
#
# One image, two programs: adhouse-ingester and adhouse-api.
#
#   docker build -t adhouse .
#   docker run --rm adhouse                              # adhouse-api serve (the default CMD)
#   docker run --rm adhouse adhouse-ingester migrate
#   docker run --rm adhouse adhouse-ingester run
#
# There is no ENTRYPOINT, so the command names the program; whichever runs is
# PID 1 and gets SIGTERM directly (the ingester finishes its chunk in hand, the
# API drains its connections). Configuration is ADHOUSE__SECTION__KEY
# environment variables or a TOML file in ADHOUSE_CONFIG (README "Configuration").

ARG RUST_VERSION=1.95
ARG NODE_VERSION=22

# ---- Rust: both binaries ---------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS rust
# aws-lc-sys (TLS of the AWS SDK and the ClickHouse client) builds C with cmake.
# Unpinned (DL3008): Debian bookworm's versions move with security updates, and a
# pin would break the build at the next point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# target/ is a cache mount, so the binaries are copied out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p adhouse-ingester -p adhouse-api --bin adhouse-ingester --bin adhouse-api \
    && mkdir -p /out \
    && cp target/release/adhouse-ingester target/release/adhouse-api /out/

# ---- Node: the dashboard ---------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS dashboard
WORKDIR /src/dashboards
COPY dashboards/ ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund && npm run build

# ---- Runtime ---------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: TLS to ClickHouse Cloud and AWS uses the system roots
# (unpinned for the reason above).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 adhouse \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app adhouse
WORKDIR /app
COPY --from=rust /out/adhouse-ingester /out/adhouse-api /usr/local/bin/
# config/default.toml is compiled into the binaries; the copy is the reference
# for operators. config/local.toml is never in the image (.dockerignore).
COPY config/ /app/config/
COPY ingester/examples/sources/ /app/examples/sources/
COPY --from=dashboard /src/dashboards/dist/ /app/dashboards/dist/
# Containers listen on every interface; the defaults (127.0.0.1) suit a laptop.
# The log sources stay unset: mount your own directory and set
# ADHOUSE__INGEST__SOURCES_DIR (/app/examples/sources holds the examples).
ENV ADHOUSE__API__LISTEN_ADDR=0.0.0.0:8080 \
    ADHOUSE_API_METRICS_ADDR=0.0.0.0:9465 \
    ADHOUSE__API__STATIC_DIR=/app/dashboards/dist \
    ADHOUSE__INGEST__METRICS_ADDR=0.0.0.0:9464
USER 10001:10001
EXPOSE 8080 9465 9464
CMD ["adhouse-api", "serve"]
