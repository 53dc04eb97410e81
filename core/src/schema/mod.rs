//! The adhouse schema: SQL templates in `schema/`, rendered for a single
//! server or a cluster, and applied once each by the migration runner.

mod migrations;
mod migrate;
mod render;
mod rollups;

pub use migrations::{MIGRATIONS, Migration};
pub use migrate::{MigrationState, Migrator};
pub use render::{Rendered, render};
pub use rollups::{ROLLUPS, Retention, Rollup};
