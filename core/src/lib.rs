//! What every adhouse service shares: configuration, the ClickHouse client,
//! the schema and its migrations, and telemetry set-up.

pub mod clickhouse;
pub mod error;
pub mod event;
pub mod money;
pub mod schema;
pub mod settings;
pub mod telemetry;

pub use error::{Error, Result};
pub use settings::Settings;
