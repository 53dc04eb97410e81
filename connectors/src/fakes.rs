//! The oracle of the local fake platforms (`dev/fakeplatforms/`): exactly
//! what a fake serves, in the unified model, for tests to compare with what
//! a connector fetched or adhouse stored. Test support only (feature `fakes`).

use serde::Deserialize;
use time::Date;

use crate::model::{DailyRow, DateRange, Level, PlatformId};

#[derive(Deserialize)]
struct Answer {
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    entity_id: String,
    entity_name: String,
    #[serde(with = "iso_date")]
    date: Date,
    impressions: u64,
    clicks: u64,
    spend_micros: i64,
    conversions_micros: i64,
    conversion_value_micros: i64,
    reach: u64,
    video_views: u64,
}

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// `GET <base_url>/_fake/<platform>/oracle` for `account` at `level` over
/// `range`, in [`comparable`] order.
pub async fn oracle(base_url: &str, platform: PlatformId, account: &str, level: Level, range: DateRange) -> Vec<DailyRow> {
    // Each fake names levels as its platform does (Meta: ad sets).
    let level_name = match (platform, level) {
        (PlatformId::Meta, Level::AdGroup) => "adset",
        _ => level.as_str(),
    };
    let url = format!("{base_url}/_fake/{platform}/oracle");
    let query = [("account", account), ("level", level_name), ("since", &range.since.to_string()), ("until", &range.until.to_string())];
    let answer = reqwest::Client::new().get(url).query(&query).send().await.expect("the fake answers");
    let answer: Answer = answer.json().await.expect("the oracle's rows");
    comparable(
        answer
            .rows
            .into_iter()
            .map(|r| DailyRow {
                level,
                entity_id: r.entity_id,
                entity_name: r.entity_name,
                date: r.date,
                impressions: r.impressions,
                clicks: r.clicks,
                spend_micros: r.spend_micros,
                conversions_micros: r.conversions_micros,
                conversion_value_micros: r.conversion_value_micros,
                reach: r.reach,
                video_views: r.video_views,
                extra: Default::default(),
            })
            .collect(),
    )
}

/// `rows` as the oracle has them: sorted by day and entity, without the
/// platform-specific `extra` measures (which the oracle does not carry).
pub fn comparable(mut rows: Vec<DailyRow>) -> Vec<DailyRow> {
    for row in &mut rows {
        row.extra.clear();
    }
    rows.sort_by(|a, b| (a.date, &a.entity_id).cmp(&(b.date, &b.entity_id)));
    rows
}
