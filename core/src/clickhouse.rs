//! Construction of the ClickHouse client from settings.

use clickhouse::{Client, Compression};

use crate::settings::{self, ClickHouseSettings};

/// A client for the configured server, scoped to the adhouse database.
pub fn client(settings: &ClickHouseSettings) -> Client {
    server_client(settings).with_database(&settings.database)
}

/// A client without a default database, for DDL that creates it.
pub fn server_client(settings: &ClickHouseSettings) -> Client {
    Client::default()
        .with_url(&settings.url)
        .with_user(&settings.user)
        .with_password(settings.password.expose())
        .with_compression(match settings.compression {
            settings::WireCompression::None => Compression::None,
            settings::WireCompression::Lz4 => Compression::Lz4,
        })
}

/// The settings that make an insert a de-duplicated write into `events`
/// under `token`: a retry with the same token is dropped by `events` and by
/// every rollup (schema/0002_rollups.sql explains why both are needed).
pub fn deduplication_settings(token: &str) -> [(&'static str, &str); 2] {
    [("insert_deduplication_token", token), ("deduplicate_blocks_in_dependent_materialized_views", "1")]
}

/// Makes `insert` a de-duplicated write under `token` ([`deduplication_settings`]).
pub fn deduplicated<T>(insert: clickhouse::insert::Insert<T>, token: &str) -> clickhouse::insert::Insert<T> {
    deduplication_settings(token).into_iter().fold(insert, |insert, (name, value)| insert.with_setting(name, value))
}
