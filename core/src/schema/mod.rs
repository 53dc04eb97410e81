//! The adhouse schema: SQL templates in `schema/`, rendered for a single
//! server or a cluster, and applied once each by the migration runner.

mod catalog;
mod migrate;
mod render;
mod rollups;

pub use catalog::{MIGRATIONS, Migration};
pub use migrate::{MigrationState, Migrator};
pub use render::{Rendered, render};
pub use rollups::{ROLLUPS, Retention, Rollup};
