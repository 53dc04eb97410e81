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
            settings::Compression::None => Compression::None,
            settings::Compression::Lz4 => Compression::Lz4,
        })
}
