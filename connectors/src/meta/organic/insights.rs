//! Insights answers as Graph sends them, and their values put into the
//! day rows of an account.
//!
//! `{"data":[{"name","period":"day","values":[{"value":12,"end_time":"2026-11-04T08:00:00+0000"}]}]}`
//! for daily series; `{"data":[{"name","period":"day","total_value":{"value":12}}]}`
//! for Instagram's totals over the request's range. A day's `end_time` is
//! its end, midnight Pacific time (07:00 or 08:00 UTC of the next date):
//! the value belongs to the date before it.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::Date;
use time::macros::format_description;

use super::metrics::{Column, Metric};
use crate::error::{Error, Result};
use crate::model::{Account, DailyRow, Level, PlatformId};

#[derive(Debug, Deserialize)]
pub(crate) struct Insight {
    name: String,
    #[serde(default)]
    values: Vec<DayValue>,
    total_value: Option<Total>,
}

#[derive(Debug, Deserialize)]
struct DayValue {
    value: u64,
    end_time: String,
}

#[derive(Debug, Deserialize)]
struct Total {
    value: u64,
}

/// An account's rows being filled, one per day that has a value.
pub(crate) struct Days<'a> {
    platform: PlatformId,
    account: &'a Account,
    rows: BTreeMap<Date, DailyRow>,
}

impl<'a> Days<'a> {
    pub fn new(platform: PlatformId, account: &'a Account) -> Self {
        Self { platform, account, rows: BTreeMap::new() }
    }

    /// Puts the values of `insights` (answers for `metrics`) into their
    /// days; a total counts for `total_day`, the one day it was asked for.
    pub fn add(&mut self, metrics: &[&Metric], insights: Vec<Insight>, total_day: Option<Date>) -> Result<()> {
        for insight in insights {
            let metric = metrics
                .iter()
                .find(|m| m.name == insight.name)
                .ok_or_else(|| self.decode(format!("insights for {:?}, which was not asked for", insight.name)))?;
            match (insight.total_value, total_day) {
                (Some(total), Some(day)) => self.set(day, metric.column, total.value),
                (None, None) => {
                    for value in insight.values {
                        let day = self.day_of(&value.end_time)?;
                        self.set(day, metric.column, value.value);
                    }
                }
                _ => return Err(self.decode(format!("{}: a total where a series was asked for, or the other way round", insight.name))),
            }
        }
        Ok(())
    }

    pub fn into_rows(self) -> Vec<DailyRow> {
        self.rows.into_values().collect()
    }

    fn day_of(&self, end_time: &str) -> Result<Date> {
        let date = end_time.get(..10).and_then(|text| Date::parse(text, format_description!("[year]-[month]-[day]")).ok());
        date.and_then(Date::previous_day).ok_or_else(|| self.decode(format!("end_time {end_time:?}")))
    }

    fn set(&mut self, date: Date, column: Column, value: u64) {
        let row = self.rows.entry(date).or_insert_with(|| DailyRow::empty(Level::Account, self.account.id.clone(), self.account.name.clone(), date));
        match column {
            Column::Views => row.impressions = value,
            Column::Reach => row.reach = value,
            Column::VideoViews => row.video_views = value,
            Column::Followers => row.organic.followers = Some(value),
            Column::Follows => row.organic.follows = value,
            Column::ProfileViews => row.organic.profile_views = value,
            Column::Engagements => row.organic.engagements = value,
        }
    }

    fn decode(&self, detail: String) -> Error {
        Error::Decode { remote: self.platform.into(), detail }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::super::metrics::{Product, for_version};
    use super::*;

    fn account() -> Account {
        Account { id: "5001".into(), kind: String::new(), name: "Page".into(), currency: String::new(), timezone: "America/Los_Angeles".into(), manager_id: String::new(), active: true }
    }

    #[test]
    fn series_values_land_on_the_day_before_their_end_time_and_totals_on_their_day() {
        let pages = for_version(Product::Pages, 25);
        let series: Vec<Insight> = serde_json::from_str(
            r#"[{"name":"page_follows","period":"day","values":[{"value":120,"end_time":"2026-11-02T08:00:00+0000"},{"value":125,"end_time":"2026-11-03T08:00:00+0000"}]},
                {"name":"page_media_view","period":"day","values":[{"value":7,"end_time":"2026-11-03T08:00:00+0000"}]}]"#,
        )
        .unwrap();
        let account = account();
        let mut days = Days::new(PlatformId::Facebook, &account);
        days.add(&pages, series, None).unwrap();
        let rows = days.into_rows();
        assert_eq!(rows.iter().map(|r| (r.date, r.organic.followers, r.impressions)).collect::<Vec<_>>(), [(date!(2026 - 11 - 01), Some(120), 0), (date!(2026 - 11 - 02), Some(125), 7)]);

        let instagram = for_version(Product::Instagram, 25);
        let total: Vec<Insight> = serde_json::from_str(r#"[{"name":"profile_views","period":"day","total_value":{"value":9}}]"#).unwrap();
        let mut days = Days::new(PlatformId::Instagram, &account);
        days.add(&instagram, total, Some(date!(2026 - 11 - 05))).unwrap();
        assert_eq!(days.into_rows()[0].organic.profile_views, 9);
    }

    #[test]
    fn a_metric_not_asked_for_or_an_unreadable_end_time_is_refused() {
        let pages = for_version(Product::Pages, 25);
        let account = account();
        let stranger: Vec<Insight> = serde_json::from_str(r#"[{"name":"page_fans","values":[]}]"#).unwrap();
        assert!(matches!(Days::new(PlatformId::Facebook, &account).add(&pages, stranger, None), Err(Error::Decode { .. })));
        let garbled: Vec<Insight> = serde_json::from_str(r#"[{"name":"page_follows","values":[{"value":1,"end_time":"yesterday"}]}]"#).unwrap();
        assert!(matches!(Days::new(PlatformId::Facebook, &account).add(&pages, garbled, None), Err(Error::Decode { .. })));
    }
}
