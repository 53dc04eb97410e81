//! Insights rows as Meta sends them, and their conversion into [`DailyRow`]s.
//!
//! Fields: <https://developers.facebook.com/docs/marketing-api/reference/adgroup/insights/>.
//! Every number arrives as a JSON string; each is converted exactly (no
//! floating point), and a row without the id of its level is an error, never
//! a row keyed by an empty id (which would collapse entities together).

use std::collections::BTreeMap;

use adhouse_core::money::money_micros;
use adhouse_core::settings::MoneyUnit;
use serde::Deserialize;
use time::Date;
use time::macros::format_description;

use crate::error::{Error, Result};
use crate::model::{Account, DailyRow, Level, PlatformId};

/// The action type counted as a conversion, in `actions` (count) and
/// `action_values` (value): a purchase reported by the Meta pixel. Meta also
/// sends `omni_purchase`, the same purchases across channels, so adding both
/// would count each twice.
pub(crate) const CONVERSION_ACTION: &str = "offsite_conversion.fb_pixel_purchase";
/// In `video_play_actions`: plays of the ad's video.
const VIDEO_VIEW_ACTION: &str = "video_view";

/// Meta's name of a level (`level=`).
pub(crate) fn level_name(level: Level) -> &'static str {
    match level {
        Level::Account => "account",
        Level::Campaign => "campaign",
        Level::AdGroup => "adset",
        Level::Ad => "ad",
    }
}

/// The `fields=` of a request at `level`: the level's own id and name (ids of
/// other levels are not asked for, so that no row is keyed by the wrong one),
/// then the measures.
pub(crate) fn fields(level: Level) -> String {
    let name = level_name(level);
    format!("{name}_id,{name}_name,impressions,clicks,spend,reach,actions,action_values,video_play_actions")
}

/// Every effective status an object of `level` can have, as Meta's SDK
/// lists them (facebook-python-business-sdk, `adobjects/campaign.py`,
/// `adset.py`, `ad.py`: `EffectiveStatus`); a value of another object's list
/// is refused (100/1487561).
fn effective_statuses(level: Level) -> &'static [&'static str] {
    match level {
        Level::Account => &[],
        Level::Campaign => &["ACTIVE", "PAUSED", "DELETED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"],
        Level::AdGroup => &["ACTIVE", "PAUSED", "DELETED", "CAMPAIGN_PAUSED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES"],
        Level::Ad => &[
            "ACTIVE", "PAUSED", "DELETED", "PENDING_REVIEW", "DISAPPROVED", "PREAPPROVED", "PENDING_BILLING_INFO",
            "CAMPAIGN_PAUSED", "ARCHIVED", "ADSET_PAUSED", "IN_PROCESS", "WITH_ISSUES",
        ],
    }
}

/// The `filtering=` of a request at `level`: objects of every effective
/// status. Without it, `act_<id>/insights` at campaign, ad set or ad level
/// leaves out deleted and archived objects, whose stats then show only in
/// their parents' (<https://developers.facebook.com/docs/marketing-api/best-practices/storing_adobjects>,
/// "You can query insights for DELETED objects using the ad.effective_status
/// filter"): an ad deleted after a sync would read as a day without
/// delivery, and its stored spend would be zeroed. `None` at account level,
/// which counts every object.
pub(crate) fn filtering(level: Level) -> Option<String> {
    let statuses = effective_statuses(level);
    (!statuses.is_empty()).then(|| {
        serde_json::json!([{ "field": format!("{}.effective_status", level_name(level)), "operator": "IN", "value": statuses }]).to_string()
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct InsightRow {
    date_start: String,
    date_stop: String,
    account_id: Option<String>,
    account_name: Option<String>,
    campaign_id: Option<String>,
    campaign_name: Option<String>,
    adset_id: Option<String>,
    adset_name: Option<String>,
    ad_id: Option<String>,
    ad_name: Option<String>,
    impressions: Option<String>,
    clicks: Option<String>,
    spend: Option<String>,
    reach: Option<String>,
    /// Meta leaves an action list out when it would be empty.
    #[serde(default)]
    actions: Vec<ActionStat>,
    #[serde(default)]
    action_values: Vec<ActionStat>,
    #[serde(default)]
    video_play_actions: Vec<ActionStat>,
}

#[derive(Debug, Deserialize)]
struct ActionStat {
    action_type: String,
    value: String,
}

impl InsightRow {
    /// The row in the unified format; `account` names the account-level rows.
    pub(crate) fn into_daily(self, level: Level, account: &Account) -> Result<DailyRow> {
        let format = format_description!("[year]-[month]-[day]");
        let date = Date::parse(&self.date_start, format).map_err(|err| decode(format!("date_start {:?}: {err}", self.date_start)))?;
        if self.date_stop != self.date_start {
            return Err(decode(format!("a row spans {} to {}: not one day (time_increment=1)", self.date_start, self.date_stop)));
        }
        let (id, name) = match level {
            Level::Account => (self.account_id, self.account_name.or_else(|| Some(account.name.clone()))),
            Level::Campaign => (self.campaign_id, self.campaign_name),
            Level::AdGroup => (self.adset_id, self.adset_name),
            Level::Ad => (self.ad_id, self.ad_name),
        };
        let entity_id = id.filter(|id| !id.is_empty()).ok_or_else(|| decode(format!("a {} row of {} without its id", level_name(level), self.date_start)))?;
        let mut extra = BTreeMap::new();
        for action in &self.actions {
            if action.action_type != CONVERSION_ACTION && action.action_type != VIDEO_VIEW_ACTION {
                extra.insert(format!("actions.{}", action.action_type), action.value.clone());
            }
        }
        Ok(DailyRow {
            level,
            entity_name: name.unwrap_or_default(),
            date,
            impressions: count("impressions", self.impressions.as_deref())?,
            clicks: count("clicks", self.clicks.as_deref())?,
            spend_micros: micros("spend", self.spend.as_deref())?,
            conversions_micros: micros("actions", action_value(&self.actions, CONVERSION_ACTION))?,
            conversion_value_micros: micros("action_values", action_value(&self.action_values, CONVERSION_ACTION))?,
            reach: count("reach", self.reach.as_deref())?,
            video_views: count("video_play_actions", action_value(&self.video_play_actions, VIDEO_VIEW_ACTION))?,
            organic: Default::default(),
            extra,
            entity_id,
        })
    }
}

fn action_value<'a>(actions: &'a [ActionStat], action_type: &str) -> Option<&'a str> {
    actions.iter().find(|a| a.action_type == action_type).map(|a| a.value.as_str())
}

/// A whole count sent as a string; absent is zero.
fn count(field: &str, text: Option<&str>) -> Result<u64> {
    text.map_or(Ok(0), |text| text.parse().map_err(|_| decode(format!("{field} {text:?} is not a whole count"))))
}

/// A decimal (money, or conversions that may be fractional) in millionths;
/// absent is zero.
fn micros(field: &str, text: Option<&str>) -> Result<i64> {
    text.map_or(Ok(0), |text| money_micros(text, MoneyUnit::Units).ok_or_else(|| decode(format!("{field} {text:?} is not a decimal"))))
}

fn decode(detail: String) -> Error {
    Error::Decode { remote: PlatformId::Meta.into(), detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn account() -> Account {
        Account { id: "1".into(), kind: String::new(), name: "Acct".into(), currency: "EUR".into(), timezone: "Europe/Berlin".into(), manager_id: String::new(), active: true }
    }

    fn row(json: &str) -> InsightRow {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_row_converts_every_string_number_exactly() {
        let daily = row(r#"{"date_start":"2026-11-03","date_stop":"2026-11-03","adset_id":"239","adset_name":"Set",
            "impressions":"18446744073709551615","clicks":"12","spend":"5339.5","reach":"900",
            "actions":[{"action_type":"link_click","value":"7"},{"action_type":"offsite_conversion.fb_pixel_purchase","value":"1.5"},
                       {"action_type":"omni_purchase","value":"1.5"}],
            "action_values":[{"action_type":"offsite_conversion.fb_pixel_purchase","value":"0.07"}],
            "video_play_actions":[{"action_type":"video_view","value":"44"}]}"#)
        .into_daily(Level::AdGroup, &account())
        .unwrap();
        assert_eq!((daily.entity_id.as_str(), daily.entity_name.as_str(), daily.date), ("239", "Set", date!(2026 - 11 - 03)));
        assert_eq!((daily.impressions, daily.clicks, daily.reach, daily.video_views), (u64::MAX, 12, 900, 44));
        assert_eq!((daily.spend_micros, daily.conversions_micros, daily.conversion_value_micros), (5_339_500_000, 1_500_000, 70_000));
        assert_eq!(daily.extra, BTreeMap::from([("actions.link_click".to_owned(), "7".to_owned()), ("actions.omni_purchase".to_owned(), "1.5".to_owned())]));
    }

    #[test]
    fn a_row_without_its_levels_id_or_spanning_days_is_refused() {
        let no_id = row(r#"{"date_start":"2026-11-03","date_stop":"2026-11-03","campaign_id":"1","impressions":"1"}"#);
        assert!(matches!(no_id.into_daily(Level::Ad, &account()), Err(Error::Decode { .. })));
        let span = row(r#"{"date_start":"2026-11-03","date_stop":"2026-11-04","ad_id":"1"}"#);
        assert!(matches!(span.into_daily(Level::Ad, &account()), Err(Error::Decode { .. })));
        let float = row(r#"{"date_start":"2026-11-03","date_stop":"2026-11-03","ad_id":"1","impressions":"1.0"}"#);
        assert!(matches!(float.into_daily(Level::Ad, &account()), Err(Error::Decode { .. })));
    }

    #[test]
    fn every_level_below_the_account_asks_for_deleted_and_archived_objects_too() {
        assert_eq!(filtering(Level::Account), None);
        for level in [Level::Campaign, Level::AdGroup, Level::Ad] {
            let filters: serde_json::Value = serde_json::from_str(&filtering(level).unwrap()).unwrap();
            assert_eq!(filters[0]["field"], format!("{}.effective_status", level_name(level)));
            let statuses = filters[0]["value"].as_array().unwrap();
            assert!(statuses.contains(&"DELETED".into()) && statuses.contains(&"ARCHIVED".into()), "{level:?}");
        }
    }

    #[test]
    fn account_rows_are_keyed_by_the_account_and_named_after_it() {
        let daily = row(r#"{"date_start":"2026-11-03","date_stop":"2026-11-03","account_id":"1"}"#).into_daily(Level::Account, &account()).unwrap();
        assert_eq!((daily.entity_id.as_str(), daily.entity_name.as_str(), daily.spend_micros), ("1", "Acct", 0));
    }
}
