//! Typed configuration shared by every adhouse binary.
//!
//! Sources, later ones winning: the defaults compiled in from
//! `config/default.toml`, one optional TOML file, then `ADHOUSE__SECTION__KEY`
//! environment variables. Values are validated once, at start-up, and every
//! error names the key path so the operator knows what to fix.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

mod api;
mod feeds;
mod ingest;
mod platforms;

pub use api::ApiSettings;
pub use feeds::{
    AuthSettings, FeedFields, FeedSettings, Grain, HttpMethod, Pagination, PartnersSettings, PeriodFormat, ResponseFormat,
    ValueRule, secret_from_env,
};
pub use ingest::{FieldRule, Format, IngestSettings, MoneyUnit, SourceSettings, TenantRule};
pub use platforms::{AppSettings, GoogleSettings, MetaSettings, OrganicSettings, PlatformsSettings, XSettings, YahooSettings};

const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// The local override file used when no `--config` is given and it exists.
pub const LOCAL_FILE: &str = "config/local.toml";

/// The binary that loads the settings, which decides what is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Api,
    Ingester,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub clickhouse: ClickHouseSettings,
    pub log: LogSettings,
    pub schema: SchemaSettings,
    pub ingest: IngestSettings,
    pub api: ApiSettings,
    pub platforms: PlatformsSettings,
    pub partners: PartnersSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseSettings {
    /// `http://` or `https://` endpoint of the ClickHouse HTTP interface.
    pub url: String,
    pub user: String,
    pub password: Secret,
    /// Database holding the adhouse tables; a plain identifier.
    pub database: String,
    pub compression: WireCompression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
/// Block compression between adhouse and ClickHouse (`clickhouse.compression`).
pub enum WireCompression {
    None,
    Lz4,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogOutput,
    /// A `tracing` EnvFilter directive such as `info` or `adhouse_ingester=debug`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
/// How the services write their own log lines (`log.format`).
pub enum LogOutput {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSettings {
    /// Cluster name for `ON CLUSTER` DDL; empty for a single server.
    pub cluster: String,
    pub events_ttl_days: u32,
    pub minute_ttl_days: u32,
    pub hour_ttl_days: u32,
    pub dedup_window_blocks: u32,
}

/// A value that must never reach a log line; `Debug` prints a placeholder.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

impl Settings {
    /// Loads defaults, then `file` (or [`LOCAL_FILE`] if present), then the
    /// environment, and validates the result. Only the shared sections are checked here; a binary adds its own
    /// checks with [`Settings::load_for`].
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(Error::Config(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                builder = builder.add_source(config::File::from(path));
            }
            None if Path::new(LOCAL_FILE).is_file() => {
                builder = builder.add_source(config::File::with_name(LOCAL_FILE));
            }
            None => {}
        }
        let settings: Settings = builder
            .add_source(
                config::Environment::with_prefix("ADHOUSE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|err| Error::Config(err.to_string()))?;
        settings.validate_shared()?;
        Ok(settings)
    }

    /// [`Settings::load`], then what `service` needs: the API's limits, or
    /// the ingester's loop settings, log sources (`ingest.sources_dir`) and
    /// partner feeds (`partners.feeds_dir`).
    pub fn load_for(file: Option<&Path>, service: Service) -> Result<Self> {
        let mut settings = Self::load(file)?;
        match service {
            Service::Api => settings.validate_api()?,
            Service::Ingester => {
                settings.ingest.load_sources_dir()?;
                settings.partners.load_feeds_dir()?;
                settings.validate_ingester()?;
                settings.partners.validate()?;
            }
        }
        Ok(settings)
    }

    /// What `adhouse-api` uses.
    pub fn validate_api(&self) -> Result<()> {
        self.api.validate()
    }

    /// What `adhouse-ingester` uses (its sources already loaded).
    pub fn validate_ingester(&self) -> Result<()> {
        let ingest = &self.ingest;
        if !(1..=1_000_000).contains(&ingest.chunk_lines) {
            // One chunk must stay one insert block (max_insert_block_size).
            return invalid("ingest.chunk_lines", "must be between 1 and 1000000");
        }
        if ingest.poll_wait_secs > 20 {
            return invalid("ingest.poll_wait_secs", "must be at most 20 (the SQS maximum)");
        }
        if ingest.heartbeat_secs == 0 || ingest.heartbeat_secs >= ingest.visibility_timeout_secs {
            return invalid("ingest.heartbeat_secs", "must be at least 1 and below ingest.visibility_timeout_secs");
        }
        if ingest.workers == 0 {
            return invalid("ingest.workers", "must be at least 1");
        }
        if ingest.timestamp_max_age_days == 0 {
            return invalid("ingest.timestamp_max_age_days", "must be at least 1");
        }
        Ok(())
    }

    /// The sections every binary reads: ClickHouse, logging and the schema.
    fn validate_shared(&self) -> Result<()> {
        let ch = &self.clickhouse;
        if !(ch.url.starts_with("http://") || ch.url.starts_with("https://")) {
            return invalid("clickhouse.url", "must start with http:// or https://");
        }
        check_identifier("clickhouse.database", &ch.database)?;
        if !self.schema.cluster.is_empty() {
            check_identifier("schema.cluster", &self.schema.cluster)?;
        }
        if let Err(err) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return invalid("log.level", &format!("is not a valid filter: {err}"));
        }
        for (key, days) in [
            ("schema.events_ttl_days", self.schema.events_ttl_days),
            ("schema.minute_ttl_days", self.schema.minute_ttl_days),
            ("schema.hour_ttl_days", self.schema.hour_ttl_days),
            ("schema.dedup_window_blocks", self.schema.dedup_window_blocks),
        ] {
            if days == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        Ok(())
    }
}

/// The `*.toml` files of `dir` (the setting `key`), in file-name order;
/// none when `dir` is empty.
fn toml_files(key: &str, dir: &str) -> Result<Vec<std::path::PathBuf>> {
    if dir.is_empty() {
        return Ok(Vec::new());
    }
    let unreadable = |err: &dyn fmt::Display| Error::Config(format!("{key} {dir:?} cannot be read: {err}"));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|err| unreadable(&err))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// One `what` (a log source, a feed) from a TOML file of its own.
fn from_toml_file<T: serde::de::DeserializeOwned>(what: &str, path: &Path) -> Result<T> {
    config::Config::builder()
        .add_source(config::File::from(path))
        .build()
        .and_then(config::Config::try_deserialize)
        .map_err(|err| Error::Config(format!("{what} file {}: {err}", path.display())))
}

/// Identifiers end up in DDL, where ClickHouse cannot bind them as
/// parameters, so only plain names are accepted.
pub fn check_identifier(key: &str, value: &str) -> Result<()> {
    let mut chars = value.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && value.len() <= 64;
    if valid {
        Ok(())
    } else {
        invalid(key, &format!("{value:?} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64 characters)"))
    }
}

fn invalid<T>(key: &str, problem: &str) -> Result<T> {
    Err(Error::Config(format!("{key} {problem}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_does_not_validate_ingest_only_settings() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.ingest.sources_dir = "/nonexistent/adhouse-sources".into();
        settings.ingest.workers = 0;
        assert!(settings.validate_api().is_ok());
        let err = settings.validate_ingester().expect_err("the ingester needs workers");
        assert!(err.to_string().contains("ingest.workers"), "{err}");
        let err = settings.ingest.load_sources_dir().expect_err("the ingester reads its sources");
        assert!(err.to_string().contains("ingest.sources_dir"), "{err}");
    }

    #[test]
    fn api_limits_are_checked_for_the_api_with_the_key_named() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.api.max_rows = 0;
        let err = settings.validate_api().expect_err("max_rows 0");
        assert!(err.to_string().contains("api.max_rows"), "{err}");
        assert!(settings.validate_ingester().is_ok());
    }
}
