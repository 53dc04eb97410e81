//! The adhouse schema: SQL templates in `schema/`, rendered for a single
//! server or a cluster, and applied once each by the migration runner.

mod access;
mod migrations;
mod migrate;
mod render;
mod rollups;
pub mod ttl;

pub use access::{ANALYST_ROLE, ANALYST_TABLES, PRIVATE_TABLES, TenantAnalyst, analyst_access, parse_analysts};
pub use migrations::{MIGRATIONS, Migration};
pub use migrate::{MigrationState, Migrator};
pub use render::{LOCAL_SUFFIX, Rendered, render};
pub use rollups::{ROLLUPS, Retention, Rollup};
