//! Integration tests of `adhouse-core` against the local stack (`make dev-up`),
//! or any ClickHouse named by CLICKHOUSE_URL. Each test works in a database
//! of its own.

mod common;

mod client_compat;
mod dedup;
mod migrations;
mod rollups;
