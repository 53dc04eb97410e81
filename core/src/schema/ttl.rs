//! The retention each table really keeps. A migration renders the TTL into
//! a table once, when it creates it: raising `schema.*_ttl_days` later
//! changes the setting, not the table (the migrator only warns on the
//! drift), and a table answers zeros for days it has dropped. So the query
//! API's planner and the ingester read the TTLs from ClickHouse at start-up
//! and go by the smaller of setting and table. In cluster mode the TTL is on each shard's storage
//! table (`<table>_local`); the Distributed table over them has none.

use std::collections::BTreeMap;

use super::LOCAL_SUFFIX;
use crate::settings::SchemaSettings;
use clickhouse::{Client, Row};
use serde::Deserialize;

/// A table's TTL as its `engine_full` states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableTtl {
    None,
    Days(u32),
    /// A TTL clause of another shape than `… + toIntervalDay(n)`.
    Unknown,
}

#[derive(Row, Deserialize)]
struct TableRow {
    name: String,
    engine_full: String,
}

/// The TTL of each of `tables` whose storage exists in the client's
/// database, keyed by the table's name.
pub async fn read(client: &Client, schema: &SchemaSettings, tables: &[&str]) -> clickhouse::error::Result<BTreeMap<String, TableTtl>> {
    let suffix = if schema.cluster.is_empty() { "" } else { LOCAL_SUFFIX };
    let storage: Vec<String> = tables.iter().map(|table| format!("{table}{suffix}")).collect();
    let rows = client
        .query("SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {tables:Array(String)}")
        .param("tables", &storage)
        .fetch_all::<TableRow>()
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.name.strip_suffix(suffix).unwrap_or(&row.name).to_owned(), parse(&row.engine_full)))
        .collect())
}

/// ClickHouse normalizes `INTERVAL n DAY` to `toIntervalDay(n)` in
/// `engine_full`: `… TTL bucket + toIntervalDay(30) SETTINGS …`.
fn parse(engine_full: &str) -> TableTtl {
    let Some((_, clause)) = engine_full.split_once(" TTL ") else {
        return TableTtl::None;
    };
    let clause = clause.split(" SETTINGS ").next().unwrap_or(clause);
    clause
        .split_once("toIntervalDay(")
        .and_then(|(_, days)| days.split_once(')'))
        .and_then(|(days, _)| days.parse().ok())
        .map_or(TableTtl::Unknown, TableTtl::Days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ttl_is_read_from_the_engine_clause_as_clickhouse_normalizes_it() {
        let engine = |ttl: &str| format!("AggregatingMergeTree PARTITION BY toDate(bucket) ORDER BY (tenant, bucket){ttl} SETTINGS ttl_only_drop_parts = 1, index_granularity = 8192");
        assert_eq!(parse(&engine(" TTL bucket + toIntervalDay(30)")), TableTtl::Days(30));
        assert_eq!(parse(&engine(" TTL toDateTime(ts) + toIntervalDay(3650)")), TableTtl::Days(3_650));
        assert_eq!(parse(&engine("")), TableTtl::None);
        assert_eq!(parse(&engine(" TTL bucket + toIntervalMonth(1)")), TableTtl::Unknown);
    }
}
