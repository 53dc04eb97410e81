//! Settings of the live-metrics feeds: partners' reporting APIs polled by
//! `adhouse-ingester run` into `partner_metrics`. A feed is declared like a
//! log source: inline under `[[partners.feeds]]` or one TOML file per feed
//! in `partners.feeds_dir` (see ingester/examples/feeds/).

use std::collections::BTreeMap;
use serde::Deserialize;

use super::{Secret, check_identifier, invalid};
use crate::error::Result;
use crate::settings::MoneyUnit;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnersSettings {
    /// Directory of `*.toml` files, one feed each (optional).
    pub feeds_dir: String,
    /// Feeds declared inline.
    pub feeds: Vec<FeedSettings>,
}

impl PartnersSettings {
    /// Appends the feeds of `feeds_dir`, in file-name order.
    pub(super) fn load_feeds_dir(&mut self) -> Result<()> {
        for path in super::toml_files("partners.feeds_dir", &self.feeds_dir)? {
            self.feeds.push(FeedSettings::from_file(&path)?);
        }
        Ok(())
    }

    /// Every feed checked, errors naming the key (`partners.feeds[1].url`)
    /// and the feed; names unique.
    pub fn validate(&self) -> Result<()> {
        for (i, feed) in self.feeds.iter().enumerate() {
            let key = format!("partners.feeds[{i}] ({:?})", feed.name);
            feed.validate(&key)?;
            if self.feeds[..i].iter().any(|other| other.name == feed.name) {
                return invalid(&format!("{key}.name"), "is used by two feeds");
            }
        }
        Ok(())
    }
}

/// One partner reporting API and how its answer maps onto canonical rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSettings {
    /// Unique name, stored in `partner_metrics.feed`; a plain identifier.
    pub name: String,
    /// Tenant the numbers belong to.
    pub tenant: String,
    /// The demand partner of each row, as the logs' `demand_partner` names
    /// it: `{ constant = "rubicon" }`, or `{ field = "bidder" }` for an API
    /// that reports several partners (a mediation platform).
    pub partner: ValueRule,
    /// Request URL. Placeholders, filled per poll for the window re-read:
    /// `{start}`, `{end}` (RFC 3339, UTC, end exclusive), `{start_date}`,
    /// `{end_date}` (YYYY-MM-DD, end inclusive), `{start_epoch}`, `{end_epoch}`.
    pub url: String,
    #[serde(default)]
    pub method: HttpMethod,
    /// POST only: a JSON body with the same placeholders.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub auth: AuthSettings,
    /// Seconds between the starts of two polls.
    pub interval_secs: u32,
    /// Hours before now re-read on every poll: the partner restates recent
    /// hours, and the latest fetch of a period replaces the previous one.
    pub reread_hours: u32,
    /// How far back the first poll after an outage reads: the hours since
    /// the last successful poll and its re-read, at most this many. Default
    /// the larger of 168 (a week) and `reread_hours`.
    #[serde(default)]
    pub catch_up_hours: Option<u32>,
    /// Timeout of one request.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u32,
    #[serde(default)]
    pub pagination: Pagination,
    pub format: ResponseFormat,
    /// The period one row covers.
    pub grain: Grain,
    pub fields: FeedFields,
}

const DEFAULT_CATCH_UP_HOURS: u32 = 7 * 24;

fn default_request_timeout_secs() -> u32 {
    30
}

impl FeedSettings {
    /// One feed from a TOML file of its own (see ingester/examples/feeds).
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        super::from_toml_file("feed", path)
    }

    pub fn catch_up_hours(&self) -> u32 {
        self.catch_up_hours.unwrap_or(self.reread_hours.max(DEFAULT_CATCH_UP_HOURS))
    }

    fn validate(&self, key: &str) -> Result<()> {
        let at = |field: &str| format!("{key}.{field}");
        check_identifier(&at("name"), &self.name)?;
        if self.tenant.is_empty() {
            return invalid(&at("tenant"), "must not be empty");
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return invalid(&at("url"), "must start with http:// or https://");
        }
        check_placeholders(&at("url"), &self.url)?;
        match (&self.method, &self.body) {
            (HttpMethod::Get, Some(_)) => return invalid(&at("body"), "is for method = \"post\" only"),
            (_, Some(body)) => check_placeholders(&at("body"), body)?,
            _ => {}
        }
        if !(10..=86_400).contains(&self.interval_secs) {
            return invalid(&at("interval_secs"), "must be between 10 and 86400");
        }
        if !(1..=24 * 90).contains(&self.reread_hours) {
            return invalid(&at("reread_hours"), "must be between 1 and 2160 (90 days)");
        }
        if !(self.reread_hours..=24 * 90).contains(&self.catch_up_hours()) {
            return invalid(&at("catch_up_hours"), "must be between reread_hours and 2160 (90 days)");
        }
        if self.request_timeout_secs == 0 || self.request_timeout_secs >= self.interval_secs {
            return invalid(&at("request_timeout_secs"), "must be at least 1 and below interval_secs");
        }
        self.auth.validate(&at("auth"))?;
        self.pagination.validate(&at("pagination"), &self.format)?;
        if let ResponseFormat::Json { rows_path } = &self.format {
            check_path(&at("format.rows_path"), rows_path, true)?;
        }
        self.partner.validate(&at("partner"))?;
        self.fields.validate(&at("fields"))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
}

/// How requests authenticate. Secrets are never in the file: each is read
/// from the environment variable the file names (`*_env`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
pub enum AuthSettings {
    #[default]
    None,
    /// A static header, e.g. `Authorization: Bearer …` or `X-Api-Key: …`.
    Header { name: String, value_env: String },
    /// HTTP basic authentication.
    Basic { user: String, password_env: String },
    /// OAuth 2.0 client credentials (RFC 6749 §4.4); the token is cached
    /// until shortly before it expires.
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret_env: String,
        #[serde(default)]
        scope: String,
    },
}

impl AuthSettings {
    fn validate(&self, key: &str) -> Result<()> {
        let env = |field: &str, name: &str| secret_from_env(&format!("{key}.{field}"), name).map(drop);
        match self {
            Self::None => Ok(()),
            Self::Header { name, value_env } => {
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return invalid(&format!("{key}.name"), "must be an HTTP header name");
                }
                env("value_env", value_env)
            }
            Self::Basic { password_env, .. } => env("password_env", password_env),
            Self::Oauth2 { token_url, client_secret_env, .. } => {
                if !(token_url.starts_with("http://") || token_url.starts_with("https://")) {
                    return invalid(&format!("{key}.token_url"), "must start with http:// or https://");
                }
                env("client_secret_env", client_secret_env)
            }
        }
    }
}

/// The secret held by the environment variable `name`; `key` names the setting.
pub fn secret_from_env(key: &str, name: &str) -> Result<Secret> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
        _ => invalid(key, &format!("names the environment variable {name:?}, which is not set")),
    }
}

/// How a window's answer spans several requests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
pub enum Pagination {
    /// One request answers the whole window.
    #[default]
    None,
    /// JSON only: the body holds the URL of the next page at `path`
    /// (dotted, e.g. `paging.next`); absent, null or empty on the last page.
    NextLink { path: String },
    /// JSON only: the body holds a cursor at `path`, sent back as the query
    /// parameter `param`; absent, null or empty on the last page.
    Cursor { param: String, path: String },
    /// Query parameter `param` counts pages from `first` (usually 1);
    /// `size_param` (optional) asks for `size` rows a page. A page with
    /// fewer than `size` rows is the last.
    Page {
        param: String,
        #[serde(default = "one")]
        first: u32,
        #[serde(default)]
        size_param: Option<String>,
        size: u32,
    },
    /// Query parameter `param` is the offset of the page's first row,
    /// `limit_param` asks for `limit` rows; a shorter page is the last.
    Offset { param: String, limit_param: String, limit: u32 },
}

fn one() -> u32 {
    1
}

impl Pagination {
    fn validate(&self, key: &str, format: &ResponseFormat) -> Result<()> {
        let json_only = |path: &str| match format {
            ResponseFormat::Json { .. } => check_path(&format!("{key}.path"), path, false),
            ResponseFormat::Csv => invalid(&format!("{key}.type"), "next_link and cursor read the JSON body; a CSV feed pages by page or offset"),
        };
        let check_size = |field: &str, size: u32| {
            if (1..=100_000).contains(&size) { Ok(()) } else { invalid(&format!("{key}.{field}"), "must be between 1 and 100000") }
        };
        match self {
            Self::None => Ok(()),
            Self::NextLink { path } => json_only(path),
            Self::Cursor { param, path } => {
                check_param(&format!("{key}.param"), param)?;
                json_only(path)
            }
            Self::Page { param, size, size_param, .. } => {
                check_param(&format!("{key}.param"), param)?;
                if let Some(size_param) = size_param {
                    check_param(&format!("{key}.size_param"), size_param)?;
                }
                check_size("size", *size)
            }
            Self::Offset { param, limit_param, limit } => {
                check_param(&format!("{key}.param"), param)?;
                check_param(&format!("{key}.limit_param"), limit_param)?;
                check_size("limit", *limit)
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// A JSON body whose rows (objects) are the array at `rows_path`
    /// (dotted, e.g. `data.rows`; empty for a body that is the array).
    Json { rows_path: String },
    /// CSV with a header row (RFC 4180 quoting).
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    Hour,
    Day,
}

impl Grain {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    pub fn secs(self) -> i64 {
        match self {
            Self::Hour => 3_600,
            Self::Day => 86_400,
        }
    }
}

/// A value taken from each row, or the same for every row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ValueRule {
    Field(String),
    Constant(String),
}

impl ValueRule {
    fn validate(&self, key: &str) -> Result<()> {
        match self {
            Self::Field(name) | Self::Constant(name) if name.is_empty() => invalid(key, "must not be empty"),
            _ => Ok(()),
        }
    }
}

/// Which field of a row fills each canonical column. Names are JSON keys
/// (dotted for nested objects) or CSV header names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedFields {
    /// Start of the row's period.
    pub period: String,
    /// How `period` is written: `rfc3339`, `date` (YYYY-MM-DD, UTC day),
    /// `epoch_s` or `epoch_ms`.
    pub period_format: PeriodFormat,
    pub impressions: String,
    pub revenue: String,
    /// The unit of `revenue`, converted exactly to micros.
    pub revenue_unit: MoneyUnit,
    /// ISO 4217 currency of the revenue: `{ field = "currency" }` or `{ constant = "USD" }`.
    pub currency: ValueRule,
    #[serde(default)]
    pub publisher: Option<String>,
    #[serde(default)]
    pub placement: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    /// Further measures under their own names (e.g. `bids = "bid_count"`),
    /// exact decimals stored as millionths.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodFormat {
    Rfc3339,
    Date,
    EpochS,
    EpochMs,
}

impl FeedFields {
    fn validate(&self, key: &str) -> Result<()> {
        let named = [("period", &self.period), ("impressions", &self.impressions), ("revenue", &self.revenue)];
        for (field, name) in named {
            if name.is_empty() {
                return invalid(&format!("{key}.{field}"), "must name a field");
            }
        }
        self.currency.validate(&format!("{key}.currency"))?;
        if let ValueRule::Constant(code) = &self.currency
            && !is_currency(code)
        {
            return invalid(&format!("{key}.currency.constant"), "must be an ISO 4217 code such as USD");
        }
        for name in self.extra.keys() {
            check_identifier(&format!("{key}.extra.{name}"), name)?;
        }
        Ok(())
    }
}

/// The window placeholders a URL or body may hold.
const PLACEHOLDERS: [&str; 6] = ["start", "end", "start_date", "end_date", "start_epoch", "end_epoch"];

fn check_placeholders(key: &str, template: &str) -> Result<()> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return invalid(key, "has an unclosed `{`");
        };
        let name = &rest[open + 1..open + close];
        if !PLACEHOLDERS.contains(&name) {
            return invalid(key, &format!("has the unknown placeholder {{{name}}}; known: {}", PLACEHOLDERS.join(", ")));
        }
        rest = &rest[open + close + 1..];
    }
    Ok(())
}

fn check_path(key: &str, path: &str, empty_ok: bool) -> Result<()> {
    if (path.is_empty() && !empty_ok) || path.split('.').any(|part| part.is_empty() && !path.is_empty()) {
        return invalid(key, "must be a dotted path such as `data.rows`");
    }
    Ok(())
}

fn check_param(key: &str, param: &str) -> Result<()> {
    if param.is_empty() || !param.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') {
        return invalid(key, "must be a query parameter name");
    }
    Ok(())
}

pub(super) fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(extra: &str) -> std::result::Result<PartnersSettings, String> {
        let text = format!(
            r#"
feeds_dir = ""
[[feeds]]
name = "rubicon_hourly"
tenant = "acme"
partner = {{ constant = "rubicon" }}
url = "http://127.0.0.1:1/report?from={{start}}&to={{end}}"
interval_secs = 60
reread_hours = 6
grain = "hour"
format = {{ type = "json", rows_path = "data.rows" }}
[feeds.fields]
period = "hour"
period_format = "rfc3339"
impressions = "imps"
revenue = "revenue"
revenue_unit = "units"
currency = {{ constant = "USD" }}
{extra}
"#
        );
        let settings: PartnersSettings = config::Config::builder()
            .add_source(config::File::from_str(&text, config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|err| err.to_string())?;
        settings.validate().map_err(|err| err.to_string())?;
        Ok(settings)
    }

    #[test]
    fn a_valid_feed_passes() {
        feed("").expect("valid");
    }

    #[test]
    fn errors_name_the_key_of_the_feed() {
        let err = feed("extra = { \"bad name\" = \"x\" }").expect_err("bad extra");
        assert!(err.contains("partners.feeds[0] (\"rubicon_hourly\").fields.extra.bad name"), "{err}");
        let err = feed("unknown = 1").expect_err("unknown key");
        assert!(err.contains("unknown"), "{err}");
    }

    #[test]
    fn the_catch_up_after_an_outage_reaches_at_least_the_reread() {
        let settings = feed("").unwrap();
        assert_eq!(settings.feeds[0].catch_up_hours(), 168, "a week by default");
        let mut long = settings.clone();
        long.feeds[0].reread_hours = 2_160;
        long.validate().expect("the default follows a longer re-read");
        assert_eq!(long.feeds[0].catch_up_hours(), 2_160);
        let mut bad = settings;
        bad.feeds[0].catch_up_hours = Some(5);
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains(".catch_up_hours") && err.contains("between reread_hours and 2160"), "{err}");
    }

    #[test]
    fn unknown_placeholders_and_unset_secrets_are_refused() {
        let settings = feed("").unwrap();
        let mut bad = settings.clone();
        bad.feeds[0].url = "http://x/?d={day}".into();
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains(".url has the unknown placeholder {day}"), "{err}");
        let mut bad = settings;
        bad.feeds[0].auth = AuthSettings::Header { name: "X-Api-Key".into(), value_env: "ADHOUSE_TEST_UNSET_SECRET".into() };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains(".auth.value_env names the environment variable \"ADHOUSE_TEST_UNSET_SECRET\""), "{err}");
    }
}
