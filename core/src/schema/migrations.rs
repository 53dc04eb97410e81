//! The migrations, compiled into the binaries so that a deployed service
//! needs nothing but its configuration.

use crate::error::MigrationId;

/// One numbered file of `schema/`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub id: MigrationId,
    pub template: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            id: MigrationId { version: $version, name: $name },
            template: include_str!(concat!("../../../schema/", stringify!($version), "_", $name, ".sql")),
        }
    };
}

/// Every migration, in the order it is applied. Append only: an applied
/// migration is never edited (the runner reports drift if it is).
#[expect(clippy::zero_prefixed_literal, reason = "versions are written as in the file names")]
pub const MIGRATIONS: &[Migration] = &[
    migration!(0001, "events"),
    migration!(0002, "rollups"),
    migration!(0003, "ingest_ledger"),
    migration!(0004, "api_tokens"),
    migration!(0005, "ingest_chunking"),
    migration!(0006, "api_token_lifecycle"),
    migration!(0007, "ingest_retention"),
    migration!(0008, "platform_accounts"),
    migration!(0009, "platform_account_kind"),
    migration!(0010, "grant_expiry"),
    migration!(0011, "oauth_flows"),
    migration!(0012, "partner_metrics"),
    migration!(0013, "platform_organic"),
    migration!(0014, "rollup_projections"),
    migration!(0015, "events_by_source"),
    migration!(0016, "rollup_by_publisher"),
    migration!(0017, "ingest_attempts"),
    migration!(0018, "ingest_resume"),
];

/// Shared column lists that several migrations splice in as `${name}`.
pub(crate) const FRAGMENTS: &[(&str, &str)] = &[
    ("rollup_columns", include_str!("../../../schema/fragments/rollup_columns.sql")),
    ("rollup_measures", include_str!("../../../schema/fragments/rollup_measures.sql")),
    ("rollup_sums", include_str!("../../../schema/fragments/rollup_sums.sql")),
];

/// Creates the database and `schema_migrations`; run before any migration,
/// never recorded.
pub const BOOTSTRAP: Migration = Migration {
    id: MigrationId { version: 0, name: "bootstrap" },
    template: include_str!("../../../schema/bootstrap.sql"),
};
