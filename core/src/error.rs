use std::fmt;

/// Everything that can go wrong in `adhouse-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad or missing configuration; the message names the key.
    #[error("configuration: {0}")]
    Config(String),
    /// A schema template that cannot be rendered (a bug in `schema/`).
    #[error("schema template {file}: {problem}")]
    Template { file: &'static str, problem: String },
    /// ClickHouse refused or failed a request.
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    /// A migration statement failed; the database may be partly migrated, and
    /// re-running is safe because every statement is idempotent.
    #[error("migration {migration} failed at statement {statement}: {source}")]
    Migration {
        migration: MigrationId,
        statement: usize,
        #[source]
        source: clickhouse::error::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `0002_rollups`-style name of a migration, for messages.
#[derive(Debug, Clone, Copy)]
pub struct MigrationId {
    pub version: u32,
    pub name: &'static str,
}

impl fmt::Display for MigrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}_{}", self.version, self.name)
    }
}
