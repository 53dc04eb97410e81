//! The JSON answer of `POST /api/v1/query`.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::time::{Granularity, ResolvedRange};
use crate::metrics_catalog::{Metric, MetricValue, Unit};
use crate::db::Stats;
use crate::rollups::BeyondRetention;

#[derive(Debug, Serialize)]
pub struct QueryResponse {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub totals: ByMetric<MetricValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// Display names of ids in `rows` (dimension → id → name): platforms'
    /// accounts, campaigns, ad groups and ads; logs' sources where
    /// `api.source_labels` names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<super::labels::Labels>,
    pub meta: Meta,
}

#[derive(Debug, Serialize)]
pub struct Column {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: ColumnKind,
    /// JSON type of the cells: `timestamp` (RFC 3339 string), `string`,
    /// `integer`, `decimal` (exact JSON number) or `number` (float).
    #[serde(rename = "type")]
    pub value_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Time,
    Dimension,
    Metric,
}

impl Column {
    pub fn metric(metric: &'static Metric) -> Self {
        let value_type = match metric.unit {
            Unit::Currency | Unit::Decimal => "decimal",
            Unit::Percent | Unit::Ratio => "number",
            Unit::Count => "integer",
        };
        Self { name: metric.name, label: metric.label, kind: ColumnKind::Metric, value_type, unit: Some(metric.unit) }
    }
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Metric(MetricValue),
}

/// Metric name → `T`, in the order of the request's metrics.
#[derive(Debug)]
pub struct ByMetric<T>(pub Vec<(&'static str, T)>);

impl<T: Serialize> Serialize for ByMetric<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// The comparison period: answered, or unavailable with the reason.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Comparison {
    Answered {
        time_range: ResolvedRange,
        /// Same columns and groups as `rows`, over the comparison period.
        rows: Vec<Vec<Cell>>,
        totals: ByMetric<MetricValue>,
        change: ByMetric<Change>,
    },
    /// No table still holding the period can answer it; never shown as zeros.
    Unavailable { time_range: ResolvedRange, unavailable: Unavailable },
}

/// Why a comparison period has no numbers.
#[derive(Debug, Serialize)]
pub struct Unavailable {
    /// Stable: `beyond_retention`.
    pub code: &'static str,
    pub reason: String,
    /// The settings key of the retention that decided it, and its value.
    pub setting: &'static str,
    pub retention_days: u32,
}

impl Unavailable {
    pub fn beyond_retention(beyond: BeyondRetention) -> Self {
        Self {
            code: "beyond_retention",
            reason: format!(
                "raw events are kept {} days ({}), and no rollup that keeps this period longer has every \
                 dimension grouped or filtered by at the time cuts of this query",
                beyond.retention_days, beyond.setting
            ),
            setting: beyond.setting,
            retention_days: beyond.retention_days,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Change {
    /// `totals - comparison.totals`; percentage points for percent metrics.
    pub absolute: MetricValue,
    /// Relative change in percent; null when the comparison value is zero.
    pub percent: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Meta {
    /// The table that answered the main period.
    pub table: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison_table: Option<&'static str>,
    /// Platforms: the report level read (account, campaign, ad_group, ad).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<&'static str>,
    /// The currency of every money value, when money was asked for: the
    /// tenant's reporting currency for logs, the accounts' for platforms
    /// (when rows matched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub granularity: Granularity,
    pub time_range: ResolvedRange,
    pub clickhouse: Stats,
}
