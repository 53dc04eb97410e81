//! Settings of `adhouse-api`.

use std::collections::BTreeMap;
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
    /// ISO 4217 code of the money in the logs (revenue, cost): shown with
    /// every amount, never converted.
    pub reporting_currency: String,
    /// Tenants whose logs are in another currency: tenant → ISO 4217 code.
    #[serde(default)]
    pub tenant_currencies: BTreeMap<String, String>,
    /// Display names of log sources in the dashboard: source name (`source`
    /// in the events) → label. Queries and filters keep the names.
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
}

/// Longest display name of a log source.
const MAX_LABEL_CHARS: usize = 60;

impl ApiSettings {
    /// Checks the ranges; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let checks = [
            ("api.max_rows", self.max_rows >= 1),
            ("api.max_execution_secs", self.max_execution_secs >= 1),
            ("api.max_body_bytes", self.max_body_bytes >= 1_024),
        ];
        if let Some((key, _)) = checks.iter().find(|(_, ok)| !ok) {
            return Err(Error::Config(format!("{key} is too small")));
        }
        let currencies = std::iter::once(("api.reporting_currency".to_owned(), &self.reporting_currency))
            .chain(self.tenant_currencies.iter().map(|(tenant, code)| (format!("api.tenant_currencies.{tenant}"), code)));
        for (key, code) in currencies {
            if !super::feeds::is_currency(code) {
                return Err(Error::Config(format!("{key}: {code:?} is not an ISO 4217 currency code such as \"USD\" or \"EUR\"")));
            }
        }
        for (source, label) in &self.source_labels {
            let chars = label.trim().chars().count();
            if chars == 0 || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
                return Err(Error::Config(format!(
                    "api.source_labels.{source}: a display name is 1 to {MAX_LABEL_CHARS} characters, without control characters"
                )));
            }
        }
        Ok(())
    }

    /// The currency of `tenant`'s log money.
    pub fn currency_of(&self, tenant: &str) -> &str {
        self.tenant_currencies.get(tenant).unwrap_or(&self.reporting_currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(reporting: &str, tenants: &[(&str, &str)]) -> ApiSettings {
        ApiSettings {
            listen_addr: String::new(),
            static_dir: PathBuf::new(),
            max_rows: 10,
            max_execution_secs: 1,
            token_cache_secs: 0,
            max_body_bytes: 4_096,
            reporting_currency: reporting.to_owned(),
            tenant_currencies: tenants.iter().map(|(t, c)| ((*t).to_owned(), (*c).to_owned())).collect(),
            source_labels: BTreeMap::new(),
        }
    }

    #[test]
    fn a_tenant_has_its_own_currency_or_the_reporting_one_and_codes_are_iso_4217_shaped() {
        let api = settings("USD", &[("acme", "EUR")]);
        assert!(api.validate().is_ok());
        assert_eq!((api.currency_of("acme"), api.currency_of("globex")), ("EUR", "USD"));
        let bad = settings("USD", &[("acme", "euro")]).validate().unwrap_err().to_string();
        assert!(bad.contains("api.tenant_currencies.acme"), "{bad}");
        assert!(settings("$", &[]).validate().unwrap_err().to_string().contains("api.reporting_currency"));
    }

    #[test]
    fn a_source_label_is_a_short_line_of_text() {
        let mut api = settings("USD", &[]);
        api.source_labels.insert("ssp-csv".into(), "SSP (CSV export)".into());
        assert!(api.validate().is_ok());
        for bad in ["", "  ", "two\nlines", &"x".repeat(61)] {
            api.source_labels.insert("ssp-csv".into(), bad.to_owned());
            let error = api.validate().unwrap_err().to_string();
            assert!(error.contains("api.source_labels.ssp-csv"), "{bad:?}: {error}");
        }
    }
}
