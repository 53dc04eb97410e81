//! GAQL queries and the typed rows of their `searchStream` answers.
//!
//! The REST API writes the proto3 JSON mapping: camelCase names, int64 as
//! strings, doubles as numbers. Conversions are doubles; their decimal text is
//! turned into millionths exactly (`money_micros`), never through `f64`.

use std::collections::BTreeMap;

use adhouse_core::money::money_micros;
use adhouse_core::settings::MoneyUnit;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use time::Date;
use time::macros::format_description;

use crate::error::{Error, Result};
use crate::model::{DailyRow, DateRange, Level, PlatformId};

/// One `searchStream` batch (at most 10,000 rows).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Batch<T> {
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
}

/// The GAQL resource and its id and name fields at `level`.
fn entity_fields(level: Level) -> (&'static str, &'static str, &'static str) {
    match level {
        Level::Account => ("customer", "customer.id", "customer.descriptive_name"),
        Level::Campaign => ("campaign", "campaign.id", "campaign.name"),
        Level::AdGroup => ("ad_group", "ad_group.id", "ad_group.name"),
        Level::Ad => ("ad_group_ad", "ad_group_ad.ad.id", "ad_group_ad.ad.name"),
    }
}

/// `video_trueview_views` replaced `video_views` (field 154 of
/// common/metrics.proto up to v21) in v22, and Google refuses a query naming
/// a field its version lacks (`UNRECOGNIZED_FIELD`). v21 and older are
/// sunset, and `platforms.google.api_url` must name v22 or later
/// ([`super::FIRST_API_VERSION`]), so every version adhouse calls has it.
const METRICS: &str = "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, \
                       metrics.conversions_value, metrics.video_trueview_views";

/// The daily report of `level` over `range` (account-local days).
pub(super) fn daily_query(level: Level, range: DateRange) -> String {
    let (resource, id, name) = entity_fields(level);
    let day = format_description!("[year]-[month]-[day]");
    let since = range.since.format(&day).expect("a date formats");
    let until = range.until.format(&day).expect("a date formats");
    format!("SELECT segments.date, {id}, {name}, {METRICS} FROM {resource} WHERE segments.date BETWEEN '{since}' AND '{until}'")
}

/// The customer itself (level 0) and, on a manager, every client below it.
pub(super) const CUSTOMER_CLIENTS: &str = "SELECT customer_client.id, customer_client.descriptive_name, \
     customer_client.manager, customer_client.currency_code, customer_client.time_zone, customer_client.status \
     FROM customer_client";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ClientRow {
    pub customer_client: CustomerClient,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CustomerClient {
    #[serde(deserialize_with = "int64_text")]
    pub id: String,
    #[serde(default)]
    pub descriptive_name: String,
    #[serde(default)]
    pub manager: bool,
    pub currency_code: String,
    pub time_zone: String,
    pub status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReportRow {
    segments: Segments,
    customer: Option<Entity>,
    campaign: Option<Entity>,
    ad_group: Option<Entity>,
    ad_group_ad: Option<AdGroupAd>,
    metrics: Metrics,
}

#[derive(Deserialize)]
struct Segments {
    date: String,
}

#[derive(Deserialize)]
struct Entity {
    #[serde(deserialize_with = "int64_text")]
    id: String,
    /// `name` on campaigns and ad groups, `descriptiveName` on customers.
    #[serde(default, alias = "descriptiveName")]
    name: String,
}

#[derive(Deserialize)]
struct AdGroupAd {
    ad: Entity,
}

/// Absent metrics are zero (proto3 JSON may leave default values out).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metrics {
    #[serde(default, deserialize_with = "int64")]
    impressions: i64,
    #[serde(default, deserialize_with = "int64")]
    clicks: i64,
    #[serde(default, deserialize_with = "int64")]
    cost_micros: i64,
    #[serde(default, deserialize_with = "millionths")]
    conversions: i64,
    #[serde(default, deserialize_with = "millionths")]
    conversions_value: i64,
    #[serde(default, deserialize_with = "int64")]
    video_trueview_views: i64,
}

impl ReportRow {
    /// The row in the unified model, keyed by the entity of `level`.
    pub(super) fn into_daily(self, level: Level) -> Result<DailyRow> {
        let entity = match level {
            Level::Account => self.customer,
            Level::Campaign => self.campaign,
            Level::AdGroup => self.ad_group,
            Level::Ad => self.ad_group_ad.map(|a| a.ad),
        }
        .ok_or_else(|| decode(format!("a {} row without its {} fields", level.as_str(), entity_fields(level).0)))?;
        let date = Date::parse(&self.segments.date, format_description!("[year]-[month]-[day]"))
            .map_err(|err| decode(format!("segments.date {:?}: {err}", self.segments.date)))?;
        let m = self.metrics;
        Ok(DailyRow {
            level,
            entity_id: entity.id,
            entity_name: entity.name,
            date,
            impressions: count(m.impressions)?,
            clicks: count(m.clicks)?,
            spend_micros: m.cost_micros,
            conversions_micros: m.conversions,
            conversion_value_micros: m.conversions_value,
            // Google reports no daily reach at these levels.
            reach: 0,
            video_views: count(m.video_trueview_views)?,
            organic: Default::default(),
            extra: BTreeMap::new(),
        })
    }
}

fn decode(detail: String) -> Error {
    Error::Decode { remote: PlatformId::Google.into(), detail }
}

fn count(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| decode(format!("a negative count {value}")))
}

/// An int64 as the REST API sends it (a string; a number is accepted too).
#[derive(Deserialize)]
#[serde(untagged)]
enum Int64 {
    Text(String),
    Number(i64),
}

fn int64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    match Int64::deserialize(deserializer)? {
        Int64::Number(n) => Ok(n),
        Int64::Text(text) => text.parse().map_err(|_| D::Error::custom(format!("int64 {text:?}"))),
    }
}

/// An int64 id, kept as its digits.
fn int64_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    int64(deserializer).map(|n| n.to_string())
}

/// A double's decimal text in millionths, exactly.
fn millionths<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    let text = raw.get().trim_matches('"');
    money_micros(text, MoneyUnit::Units).ok_or_else(|| D::Error::custom(format!("a decimal number, got {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_row_keeps_exact_millionths_and_string_int64s() {
        let json = r#"{"campaign":{"resourceName":"customers/1/campaigns/7","id":"7","name":"Spring"},
            "metrics":{"impressions":"12","clicks":"3","costMicros":"4560000","conversions":2.345678,
                       "conversionsValue":1234.5,"videoTrueviewViews":"5"},
            "segments":{"date":"2026-03-01"}}"#;
        let row: ReportRow = serde_json::from_str(json).unwrap();
        let daily = row.into_daily(Level::Campaign).unwrap();
        assert_eq!((daily.entity_id.as_str(), daily.entity_name.as_str()), ("7", "Spring"));
        assert_eq!((daily.impressions, daily.clicks, daily.spend_micros), (12, 3, 4_560_000));
        assert_eq!((daily.conversions_micros, daily.conversion_value_micros), (2_345_678, 1_234_500_000));
        assert_eq!(daily.date, time::macros::date!(2026 - 03 - 01));
        assert_eq!(daily.video_views, 5, "TrueView views land in the video_views column");
    }

    #[test]
    fn a_row_without_the_levels_entity_is_refused() {
        let json = r#"{"customer":{"id":"1","descriptiveName":"Shop"},"metrics":{},"segments":{"date":"2026-03-01"}}"#;
        let row: ReportRow = serde_json::from_str(json).unwrap();
        assert!(matches!(row.into_daily(Level::Ad), Err(Error::Decode { .. })));
    }

    #[test]
    fn the_query_names_the_levels_resource_and_the_range() {
        let range = DateRange { since: time::macros::date!(2026 - 01 - 01), until: time::macros::date!(2026 - 03 - 31) };
        assert_eq!(
            daily_query(Level::Ad, range),
            "SELECT segments.date, ad_group_ad.ad.id, ad_group_ad.ad.name, metrics.impressions, metrics.clicks, \
             metrics.cost_micros, metrics.conversions, metrics.conversions_value, metrics.video_trueview_views \
             FROM ad_group_ad WHERE segments.date BETWEEN '2026-01-01' AND '2026-03-31'"
        );
    }

    /// `metrics.video_views` (field 154 of common/metrics.proto up to v21)
    /// is gone from v22 on, replaced by `video_trueview_views` (407); the
    /// configured API is v26 (config/default.toml), and a query naming the
    /// old field would be refused at every level.
    #[test]
    fn the_report_query_asks_for_trueview_views_which_replaced_video_views_in_v22() {
        let range = DateRange { since: time::macros::date!(2026 - 01 - 01), until: time::macros::date!(2026 - 01 - 31) };
        for level in Level::ALL {
            let query = daily_query(level, range);
            assert!(!query.contains("metrics.video_views"), "v22+ has no metrics.video_views: {query}");
            assert!(query.contains("metrics.video_trueview_views"), "{query}");
        }
    }
}
