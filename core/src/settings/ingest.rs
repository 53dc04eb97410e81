//! Settings of `adhouse-ingester`: the SQS loop and the log sources.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::Result;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// URL of the SQS queue that receives the buckets' ObjectCreated events.
    pub queue_url: String,
    /// Objects processed concurrently.
    pub workers: usize,
    /// Source lines (or rows) per insert. Each chunk is the unit of
    /// de-duplication and of resumption, so its boundaries depend on the
    /// object's content alone.
    pub chunk_lines: u64,
    /// Long-poll wait of ReceiveMessage (20 is the SQS maximum).
    pub poll_wait_secs: u32,
    /// Visibility timeout set on a message while its object is processed.
    pub visibility_timeout_secs: u32,
    /// How often that visibility timeout is renewed.
    pub heartbeat_secs: u32,
    /// A `processing` ledger entry not updated for this long belongs to a
    /// dead worker; another worker takes it over from its next chunk.
    pub takeover_after_secs: u32,
    /// How long a failure that may pass (ClickHouse or S3 unreachable) is
    /// retried in place, with backoff, before the message goes back to the
    /// queue (which counts a receive towards its dead-letter threshold).
    pub retry_for_secs: u32,
    /// A row dated more than this many days before its object's first claim
    /// is a mistake (a wrong time unit or format), not data: it goes to
    /// `ingest_errors` as `timestamp_out_of_range`.
    pub timestamp_max_age_days: u32,
    /// Likewise for a row dated more than this many seconds after it.
    pub timestamp_max_ahead_secs: u32,
    /// Address of the /metrics, /healthz and /readyz endpoints.
    pub metrics_addr: String,
    /// Directory of `*.toml` files, one log source each (optional).
    pub sources_dir: String,
    /// Log sources declared inline.
    pub sources: Vec<SourceSettings>,
}

impl IngestSettings {
    /// Appends the sources of `sources_dir`, in file-name order.
    pub(super) fn load_sources_dir(&mut self) -> Result<()> {
        for path in super::toml_files("ingest.sources_dir", &self.sources_dir)? {
            self.sources.push(SourceSettings::from_file(&path)?);
        }
        Ok(())
    }
}

impl SourceSettings {
    /// One source from a TOML file of its own (see ingester/examples/sources).
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        super::from_toml_file("source", path)
    }
}

/// Where a kind of log file lives, how to parse it and how its fields map
/// onto the `events` columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSettings {
    /// Unique name, stored in `events.source`.
    pub name: String,
    pub bucket: String,
    /// Key glob: `*` matches within a path segment, `**` across segments and
    /// `{tenant}` captures one segment as the tenant. E.g.
    /// `logs/{tenant}/vast/**/*.json.gz`.
    pub key_pattern: String,
    pub format: Format,
    /// Where the tenant comes from: `{ from_key = true }`, `{ constant = "acme" }`
    /// or `{ field = "account" }`.
    pub tenant: TenantRule,
    /// CSV/TSV only: column names when the file has no header row.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Bumped when the mapping changes meaning; part of every de-duplication
    /// token so that re-ingesting an object under a new mapping is not
    /// mistaken for a retry.
    #[serde(default)]
    pub mapping_version: u32,
    /// `events` column → how to compute it from a source record.
    pub fields: BTreeMap<String, FieldRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated, RFC 4180 quoting, header row unless `columns` is set.
    Csv,
    /// Tab-separated, header row unless `columns` is set.
    Tsv,
    /// W3C extended log format as CloudFront writes it: `#Fields:` header,
    /// tab-separated, `-` for empty.
    W3c,
    /// Apache Parquet: one chunk per row group (split into chunks of at most
    /// `chunk_lines` rows). Each row is read as a JSON object whose keys are
    /// the top-level column names; timestamps and dates become epoch
    /// milliseconds (map them with `time = "epoch_ms"`), decimals exact text.
    Parquet,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum TenantRule {
    FromKey(bool),
    Constant(String),
    Field(String),
}

/// How one `events` column is computed. Exactly one of `field`, `fields`,
/// `constant` names the input; the other keys transform it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// Source field (JSON key, CSV/W3C column).
    pub field: Option<String>,
    /// Several source fields joined by a space, e.g. CloudFront's `date` and `time`.
    pub fields: Option<Vec<String>>,
    /// A fixed value.
    pub constant: Option<String>,
    /// Take this parameter of a URL query string held by the field
    /// (W3C `cs-uri-query`), percent-decoded (`decode` times).
    pub query: Option<String>,
    /// How many times the value is percent-decoded: by default once for a
    /// `query` parameter (`+` is a space there) and never otherwise.
    /// CloudFront encodes its query strings a second time (`decode = 2`)
    /// and its user agents and referers once (`decode = 1`).
    pub decode: Option<u8>,
    /// Timestamps: `rfc3339`, `epoch_s`, `epoch_ms`, or a strftime pattern.
    pub time: Option<String>,
    /// Enumerations: source value → canonical value (e.g. `imp` → `impression`).
    pub values: Option<BTreeMap<String, String>>,
    /// Money: the unit of the source value, converted exactly to micros.
    pub money: Option<MoneyUnit>,
    /// Used when the source value is missing or empty; without it a missing
    /// value of a required column (ts, event_type) rejects the line.
    pub default: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoneyUnit {
    /// Decimal currency units, e.g. `0.0042`.
    Units,
    /// A price per thousand impressions (CPM), e.g. `4.20` for one impression
    /// worth 0.0042.
    Cpm,
    /// Already integer micros.
    Micros,
}
