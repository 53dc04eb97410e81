//! Settings of `adhouse-api`.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Address the HTTP server binds to.
    pub listen_addr: String,
}
