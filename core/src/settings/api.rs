//! Settings of `adhouse-api`.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Address the HTTP server binds to.
    pub listen_addr: String,
    /// Built dashboard files, served at `/`; a missing directory serves nothing.
    pub static_dir: PathBuf,
    /// Most rows one query response may hold (time buckets × groups).
    pub max_rows: u32,
    /// ClickHouse `max_execution_time` of every query; longer ones answer 504.
    pub max_execution_secs: u32,
    /// How long a token lookup is remembered; a revoked token keeps working
    /// for at most this long.
    pub token_cache_secs: u64,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
}

impl ApiSettings {
    /// Checks the ranges; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let checks = [
            ("api.max_rows", self.max_rows >= 1),
            ("api.max_execution_secs", self.max_execution_secs >= 1),
            ("api.max_body_bytes", self.max_body_bytes >= 1_024),
        ];
        match checks.iter().find(|(_, ok)| !ok) {
            Some((key, _)) => Err(Error::Config(format!("{key} is too small"))),
            None => Ok(()),
        }
    }
}
