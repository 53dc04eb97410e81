//! Audit reproductions (audit-api): the discrepancy report.

use adhouse_connectors::partners::PartnerRow;
use adhouse_connectors::partners::store::{PartnerStore, PollOf};
use adhouse_core::event::EventType;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::common::synthetic_events;
use crate::support::Api;

async fn report(api: &Api, body: serde_json::Value) -> serde_json::Value {
    let request = actix_web::test::TestRequest::post()
        .uri("/api/v1/discrepancy")
        .insert_header(("Authorization", format!("Bearer {}", api.acme)))
        .set_json(&body);
    let (status, _, text) = api.call(request).await;
    assert_eq!(status, 200, "{body}\n→ {text}");
    serde_json::from_str(&text).unwrap()
}

fn row(partner: &str, hour: i64, impressions: u64) -> PartnerRow {
    PartnerRow {
        partner: partner.to_owned(),
        period_start: OffsetDateTime::from_unix_timestamp(hour).unwrap(),
        publisher_id: String::new(),
        placement_id: String::new(),
        country: String::new(),
        currency: "USD".into(),
        impressions,
        revenue_micros: 0,
        extra: Vec::new(),
    }
}

/// A daily-grain feed (`grain = "day"`) that agrees with the logs on every
/// UTC day: the dashboard asks the report for hours on a one- or two-day
/// range, and the whole day lands in its 00:00 hour, so every hour differs.
#[actix_web::test]
async fn audit_discrepancy_by_hour_of_a_daily_feed_puts_the_day_in_its_first_hour() {
    let api = Api::empty("audit_disc_daily").await;
    let start = api.today - Duration::days(2);
    let events = synthetic_events(32, start, 2, 20_000, 5_000);
    for chunk in events.chunks(30_000) {
        api.db.insert(chunk, None).await;
    }
    let mut days = std::collections::BTreeMap::<i64, u64>::new();
    for event in events.iter().filter(|e| e.tenant == "acme" && e.event_type == EventType::Impression && e.demand_partner == "appnexus") {
        let ts = event.ts.unix_timestamp();
        *days.entry(ts - ts.rem_euclid(86_400)).or_default() += 1;
    }
    let rows: Vec<PartnerRow> = days.iter().map(|(&day, &impressions)| row("appnexus", day, impressions)).collect();
    let store = PartnerStore::new(api.db.client.clone());
    store.put_rows(PollOf { tenant: "acme", feed: "daily", grain: "day", fetched_at: OffsetDateTime::now_utc() }, &rows).await.unwrap();
    let body = |granularity: &str| json!({ "time_range": { "from": api.date(-1), "to": api.date(-1) }, "timezone": "UTC", "granularity": granularity, "partners": ["appnexus"] });
    let daily = report(&api, body("day")).await;
    assert_eq!(daily["partners"][0]["totals"]["difference"]["impressions"]["absolute"], 0, "the day agrees: {daily}");
    let hourly = report(&api, body("hour")).await;
    let periods = hourly["partners"][0]["periods"].as_array().unwrap();
    let differing = periods.iter().filter(|p| p["difference"]["impressions"]["absolute"] != 0).count();
    assert_eq!(differing, 0, "hours of a daily feed are refused or not compared, never shown as differing: {} of 24 differ; first: {}", differing, periods[0]["difference"]["impressions"]);
}
