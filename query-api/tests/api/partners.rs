//! `"dataset": "partners"`, `POST /api/v1/discrepancy` and `GET
//! /api/v1/feeds` against stored partner rows and log events: the partners'
//! numbers are derived from the events with designed per-partner
//! differences (one partner in another currency), stored once and then
//! restated, and every answer is compared with an independent computation.

use std::collections::BTreeMap;

use adhouse_connectors::partners::store::{FeedStatus, PartnerStore, PollOf};
use adhouse_connectors::partners::{PartnerRow, Window};
use adhouse_core::event::EventType;
use adhouse_core::settings::Grain;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use time::{Duration, OffsetDateTime};

use crate::common::synthetic_events;
use crate::support::Api;

/// Partner → (impressions, revenue) difference in permille of ours, and its currency.
const DESIGN: [(&str, i64, i64, &str); 4] =
    [("appnexus", 0, 0, "EUR"), ("rubicon", 10, 5, "USD"), ("pubmatic", -50, -80, "USD"), ("openx", -30, -20, "USD")];

fn theirs(partner: &str, impressions: i64, revenue: i64) -> (i64, i64, &'static str) {
    let (_, imp, rev, currency) = DESIGN.iter().find(|(name, ..)| *name == partner).expect("a designed partner");
    (impressions * (1000 + imp) / 1000, revenue * (1000 + rev) / 1000, currency)
}

fn decimal(micros: i64) -> String {
    format!("{}{}.{:06}", if micros < 0 { "-" } else { "" }, micros.unsigned_abs() / 1_000_000, micros.unsigned_abs() % 1_000_000)
}

/// acme's impressions and revenue per (partner, hour), as the events hold them.
type Ours = BTreeMap<(String, i64), (i64, i64)>;

/// Three days of events before today, and the partners' rows for them:
/// first a wrong version, then the designed one fetched later (a restatement).
async fn stored(api: &Api) -> Ours {
    let start = api.today - Duration::days(3);
    let events = synthetic_events(31, start, 3, 60_000, 5_000);
    for chunk in events.chunks(30_000) {
        api.db.insert(chunk, None).await;
    }
    let mut ours = Ours::new();
    for event in events.iter().filter(|e| e.tenant == "acme" && e.event_type == EventType::Impression) {
        let hour = event.ts.unix_timestamp() - event.ts.unix_timestamp().rem_euclid(3_600);
        let sums = ours.entry((event.demand_partner.to_string(), hour)).or_default();
        sums.0 += 1;
        sums.1 += event.revenue_micros;
    }
    let store = PartnerStore::new(api.db.client.clone());
    for (version, skew) in [(1, 7), (2, 0)] {
        let rows: Vec<PartnerRow> = ours
            .iter()
            .map(|((partner, hour), &(impressions, revenue))| {
                let (impressions, revenue, currency) = theirs(partner, impressions, revenue);
                partner_row(partner, *hour, currency, (impressions + skew) as u64, revenue + skew)
            })
            .collect();
        let fetched_at = OffsetDateTime::now_utc() + Duration::seconds(version);
        let poll = PollOf { tenant: "acme", feed: "mediation_hourly", grain: "hour", fetched_at };
        store.put_rows(poll, &rows).await.expect("rows stored");
    }
    ours
}

/// One row of `partner` for the period starting at `period_start` (epoch seconds).
fn partner_row(partner: &str, period_start: i64, currency: &str, impressions: u64, revenue_micros: i64) -> PartnerRow {
    PartnerRow {
        partner: partner.to_owned(),
        period_start: OffsetDateTime::from_unix_timestamp(period_start).unwrap(),
        publisher_id: String::new(),
        placement_id: String::new(),
        country: String::new(),
        currency: currency.into(),
        impressions,
        revenue_micros,
        extra: Vec::new(),
    }
}

/// Stores `rows` as one poll of `feed`, whose rows cover `grain` each.
async fn put(api: &Api, feed: &str, grain: &str, rows: &[PartnerRow]) {
    let poll = PollOf { tenant: "acme", feed, grain, fetched_at: OffsetDateTime::now_utc() };
    PartnerStore::new(api.db.client.clone()).put_rows(poll, rows).await.expect("rows stored");
}

/// Three days of events before today, and `feeds` of `grain` by each of
/// which appnexus reports exactly the impressions and revenue the logs
/// counted in each of its UTC periods.
async fn agreeing_feeds(api: &Api, grain: Grain, feeds: &[&str]) {
    let events = synthetic_events(31, api.today - Duration::days(3), 3, 60_000, 5_000);
    for chunk in events.chunks(30_000) {
        api.db.insert(chunk, None).await;
    }
    let mut periods = BTreeMap::<i64, (u64, i64)>::new();
    for event in events.iter().filter(|e| e.tenant == "acme" && e.event_type == EventType::Impression && e.demand_partner == "appnexus") {
        let ts = event.ts.unix_timestamp();
        let sums = periods.entry(ts - ts.rem_euclid(grain.secs())).or_default();
        *sums = (sums.0 + 1, sums.1 + event.revenue_micros);
    }
    let rows: Vec<PartnerRow> =
        periods.iter().map(|(&start, &(impressions, revenue))| partner_row("appnexus", start, "USD", impressions, revenue)).collect();
    for feed in feeds {
        put(api, feed, grain.as_str(), &rows).await;
    }
}

#[derive(Debug, Deserialize)]
struct Report {
    currency: String,
    truncated: bool,
    partners: Vec<PartnerReport>,
}

#[derive(Debug, Deserialize)]
struct PartnerReport {
    partner: String,
    #[serde(default)]
    feed: Option<String>,
    currencies: Vec<String>,
    revenue_comparable: bool,
    totals: Compared,
    periods: Vec<Compared>,
}

#[derive(Debug, Deserialize)]
struct Compared {
    time: Option<String>,
    ours: Numbers,
    theirs: Numbers,
    difference: Differences,
    flagged: bool,
}

#[derive(Debug, Deserialize)]
struct Numbers {
    impressions: i64,
    revenue: Box<RawValue>,
}

#[derive(Debug, Deserialize)]
struct Differences {
    impressions: Difference,
    revenue: Difference,
}

#[derive(Debug, Deserialize)]
struct Difference {
    absolute: Box<RawValue>,
    percent: Option<f64>,
}

async fn discrepancy_answer(api: &Api, body: &serde_json::Value) -> (actix_web::http::StatusCode, String) {
    let request = actix_web::test::TestRequest::post()
        .uri("/api/v1/discrepancy")
        .insert_header(("Authorization", format!("Bearer {}", api.acme)))
        .set_json(body);
    let (status, _, text) = api.call(request).await;
    (status, text)
}

async fn discrepancy(api: &Api, body: serde_json::Value) -> Report {
    let (status, text) = discrepancy_answer(api, &body).await;
    assert_eq!(status, 200, "{body}\n→ {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

/// A report the API must refuse: the problem document's text.
async fn discrepancy_refused(api: &Api, body: serde_json::Value) -> String {
    let (status, text) = discrepancy_answer(api, &body).await;
    assert_eq!(status, 400, "{body}\n→ {text}");
    text
}

#[actix_web::test]
async fn daily_and_hourly_discrepancies_equal_the_designed_differences_exactly() {
    let api = Api::empty("partners_discrepancy").await;
    let ours = stored(&api).await;
    let report = discrepancy(&api, json!({
        "time_range": { "from": api.date(-3), "to": api.date(-1) },
        "timezone": "UTC",
        "granularity": "day",
        "threshold_percent": 3,
    }))
    .await;
    assert_eq!(report.currency, "USD");
    assert_eq!(report.partners.iter().map(|p| p.partner.as_str()).collect::<Vec<_>>(), ["appnexus", "openx", "pubmatic", "rubicon"]);
    for partner in &report.partners {
        let name = partner.partner.as_str();
        assert_eq!(partner.periods.len(), 3, "{name}: one period per day");
        for period in &partner.periods {
            let day = OffsetDateTime::parse(period.time.as_deref().unwrap(), &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp();
            let hours = ours.range((name.to_owned(), day)..(name.to_owned(), day + 86_400));
            let (mut ours_sum, mut theirs_sum) = ((0, 0), (0, 0));
            for ((_, _), &(impressions, revenue)) in hours {
                let (their_impressions, their_revenue, _) = theirs(name, impressions, revenue);
                ours_sum = (ours_sum.0 + impressions, ours_sum.1 + revenue);
                theirs_sum = (theirs_sum.0 + their_impressions, theirs_sum.1 + their_revenue);
            }
            assert_eq!((period.ours.impressions, period.theirs.impressions), (ours_sum.0, theirs_sum.0), "{name} {:?}", period.time);
            assert_eq!(period.difference.impressions.absolute.get(), (theirs_sum.0 - ours_sum.0).to_string());
            let percent = (theirs_sum.0 - ours_sum.0) as f64 / ours_sum.0 as f64 * 100.0;
            assert!((period.difference.impressions.percent.unwrap() - percent).abs() < 1e-9);
            if partner.revenue_comparable {
                assert_eq!(period.ours.revenue.get(), decimal(ours_sum.1));
                assert_eq!(period.theirs.revenue.get(), decimal(theirs_sum.1));
                assert_eq!(period.difference.revenue.absolute.get(), decimal(theirs_sum.1 - ours_sum.1));
            } else {
                assert_eq!((period.theirs.revenue.get(), period.difference.revenue.absolute.get()), ("null", "null"));
            }
        }
    }
    let by_name = |name: &str| report.partners.iter().find(|p| p.partner == name).unwrap();
    // appnexus reports in EUR: its revenue is never compared with the logs' USD.
    assert_eq!((by_name("appnexus").revenue_comparable, by_name("appnexus").currencies.clone()), (false, vec!["EUR".to_owned()]));
    assert!(by_name("appnexus").totals.difference.revenue.percent.is_none());
    // 5 % fewer impressions and 8 % less revenue is flagged at 3 %; 1 % more is not.
    assert!(by_name("pubmatic").totals.flagged && by_name("openx").totals.flagged);
    assert!(!by_name("rubicon").totals.flagged && !by_name("appnexus").totals.flagged);

    // Hour by hour, each period is the designed difference of that hour.
    let hourly = discrepancy(&api, json!({
        "time_range": { "from": api.date(-1), "to": api.date(-1) }, "timezone": "UTC", "granularity": "hour", "partners": ["pubmatic"],
    }))
    .await;
    assert_eq!(hourly.partners.len(), 1);
    let pubmatic = &hourly.partners[0];
    assert_eq!(pubmatic.periods.len(), 24);
    for period in &pubmatic.periods {
        let hour = OffsetDateTime::parse(period.time.as_deref().unwrap(), &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp();
        let (impressions, revenue) = ours.get(&("pubmatic".to_owned(), hour)).copied().unwrap_or_default();
        let (their_impressions, their_revenue, _) = theirs("pubmatic", impressions, revenue);
        assert_eq!((period.ours.impressions, period.theirs.impressions), (impressions, their_impressions));
        assert_eq!(period.difference.revenue.absolute.get(), decimal(their_revenue - revenue));
    }
}

/// appnexus moves to a new reporting API: its old feed and its new one both
/// report exactly what the logs counted; rubicon, in the logs too, has no
/// feed. Each feed is a row against the whole of our count (their sum
/// doubled appnexus's side: a false discrepancy), and rubicon's row says
/// no feed reports it.
#[actix_web::test]
async fn two_feeds_of_one_partner_are_two_rows_each_against_our_logs_never_summed() {
    let api = Api::empty("partners_discrepancy_two_feeds").await;
    agreeing_feeds(&api, Grain::Hour, &["appnexus_v1", "appnexus_v2"]).await;
    let report = discrepancy(&api, json!({
        "time_range": { "from": api.date(-3), "to": api.date(-1) }, "timezone": "UTC", "granularity": "day", "partners": ["appnexus", "rubicon"],
    }))
    .await;
    let rows: Vec<_> = report.partners.iter().map(|p| (p.partner.as_str(), p.feed.as_deref(), p.totals.ours.impressions, p.totals.theirs.impressions)).collect();
    let ours = |partner: &str| rows.iter().find(|row| row.0 == partner).map_or(0, |row| row.2);
    let (appnexus, rubicon) = (ours("appnexus"), ours("rubicon"));
    assert!(appnexus > 0 && rubicon > 0);
    assert_eq!(rows, [("appnexus", Some("appnexus_v1"), appnexus, appnexus), ("appnexus", Some("appnexus_v2"), appnexus, appnexus), ("rubicon", None, rubicon, 0)]);
    for row in &report.partners[..2] {
        assert_eq!(row.periods.len(), 3);
        assert!(row.periods.iter().all(|p| p.difference.impressions.absolute.get() == "0" && p.difference.revenue.absolute.get() == "0.000000" && !p.flagged), "{row:?}");
        assert_eq!(row.currencies, ["USD"]);
    }
    assert!(report.partners[2].totals.flagged && report.partners[2].currencies.is_empty(), "rubicon: reported by no feed");
}

/// 60 partners report, the first ten in two currencies: unnamed, the report
/// covers the 50 with the most impressions and says it left some out;
/// named, at most 50 may be asked for, and those are covered whole.
#[actix_web::test]
async fn a_report_of_more_than_fifty_partners_is_truncated_visibly_and_a_request_naming_more_is_refused() {
    let api = Api::empty("partners_discrepancy_cover").await;
    let hour = (api.today - Duration::days(1)).unix_timestamp() + 3 * 3_600;
    let names: Vec<String> = (0..60).map(|i| format!("partner-{i:02}")).collect();
    let mut rows: Vec<PartnerRow> = names.iter().enumerate().map(|(i, name)| partner_row(name, hour, "USD", 1_000 + 10 * i as u64, 0)).collect();
    // Their German traffic is reported in EUR.
    rows.extend(names[..10].iter().map(|name| PartnerRow { country: "DE".into(), ..partner_row(name, hour, "EUR", 1, 0) }));
    put(&api, "f", "hour", &rows).await;
    let day = api.date(-1);
    let body = |partners: &[String]| json!({ "time_range": { "from": day, "to": day }, "timezone": "UTC", "granularity": "none", "partners": partners });
    let listed = |report: &Report| report.partners.iter().map(|p| p.partner.clone()).collect::<Vec<_>>();

    let all = discrepancy(&api, body(&[])).await;
    assert!(all.truncated, "ten partners are left out, and the answer says so");
    assert_eq!(listed(&all), names[10..], "the 50 with the most impressions");

    let text = discrepancy_refused(&api, body(&names)).await;
    assert!(text.contains("invalid_value") && text.contains("\"partners\"") && text.contains("at most 50"), "{text}");

    let named = discrepancy(&api, body(&names[..50])).await;
    assert!(!named.truncated);
    assert_eq!(listed(&named), names[..50], "every named partner, those in two currencies too");
    let first = &named.partners[0];
    assert_eq!((first.currencies.clone(), first.totals.theirs.impressions), (vec!["EUR".to_owned(), "USD".to_owned()], 1_001), "both currencies' impressions");
}

/// appnexus reports exactly the impressions the logs counted in each UTC
/// hour. Where the report's hours start on the UTC hour (UTC, Asia/Tokyo)
/// every hour agrees; in Asia/Kolkata (+05:30) they start at :30 UTC,
/// inside a partner hour, so the report (and a partners query) is refused
/// rather than set half an hour of logs against a whole partner hour.
#[actix_web::test]
async fn a_half_hour_zone_is_refused_since_partner_hours_cannot_be_cut_at_half_past() {
    let api = Api::empty("partners_discrepancy_kolkata").await;
    agreeing_feeds(&api, Grain::Hour, &["hour"]).await;
    let body = |timezone: &str, granularity: &str| json!({ "time_range": { "from": api.date(-2), "to": api.date(-2) }, "timezone": timezone, "granularity": granularity, "partners": ["appnexus"] });

    for timezone in ["UTC", "Asia/Tokyo"] {
        let report = discrepancy(&api, body(timezone, "hour")).await;
        let periods = &report.partners[0].periods;
        assert_eq!(periods.len(), 24, "{timezone}");
        assert!(periods.iter().all(|p| p.difference.impressions.absolute.get() == "0" && !p.flagged), "{timezone}: every hour agrees: {periods:?}");
    }
    for granularity in ["hour", "day"] {
        let text = discrepancy_refused(&api, body("Asia/Kolkata", granularity)).await;
        assert!(text.contains("invalid_value") && text.contains("whole UTC hours") && text.contains("T00:00:00+05:30"), "{granularity}: {text}");
    }
    let (status, text) = api
        .post(&api.acme, &json!({ "dataset": "partners", "metrics": ["impressions"], "time_range": { "from": api.date(-2), "to": api.date(-2) }, "timezone": "Asia/Kolkata", "granularity": "hour" }))
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("whole UTC hours"), "{text}");
}

/// A daily feed by which appnexus agrees with the logs on every UTC day,
/// and pubmatic's hourly rows: appnexus by day in UTC agrees; by hour, or
/// by the days of a zone whose midnight is not UTC's, a partner day would
/// be split (the whole day used to land in its 00:00 hour), so it is
/// refused; pubmatic alone, with no daily rows, still answers by hour.
#[actix_web::test]
async fn hours_of_a_daily_feed_are_refused_and_its_utc_days_agree() {
    let api = Api::empty("partners_discrepancy_daily").await;
    agreeing_feeds(&api, Grain::Day, &["day"]).await;
    let hour = (api.today - Duration::days(1)).unix_timestamp() + 3_600;
    put(&api, "hourly", "hour", &[partner_row("pubmatic", hour, "USD", 10, 0)]).await;
    let body = |partner: &str, timezone: &str, granularity: &str| json!({ "time_range": { "from": api.date(-2), "to": api.date(-1) }, "timezone": timezone, "granularity": granularity, "partners": [partner] });

    let daily = discrepancy(&api, body("appnexus", "UTC", "day")).await;
    assert_eq!(daily.partners[0].periods.len(), 2);
    assert!(daily.partners[0].periods.iter().all(|p| p.difference.impressions.absolute.get() == "0" && !p.flagged), "{:?}", daily.partners[0].periods);
    for (timezone, granularity, at) in [("UTC", "hour", "T01:00:00+00:00"), ("Asia/Tokyo", "day", "T00:00:00+09:00")] {
        let text = discrepancy_refused(&api, body("appnexus", timezone, granularity)).await;
        assert!(text.contains("invalid_value") && text.contains("whole UTC days") && text.contains(at), "{timezone} by {granularity}: {text}");
    }
    let hourly = discrepancy(&api, body("pubmatic", "UTC", "hour")).await;
    assert_eq!(hourly.partners[0].periods.iter().map(|p| p.theirs.impressions).sum::<i64>(), 10);
    let (status, text) = api
        .post(&api.acme, &json!({ "dataset": "partners", "metrics": ["impressions"], "time_range": { "from": api.date(-1), "to": api.date(-1) }, "timezone": "UTC", "granularity": "hour" }))
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("whole UTC days"), "{text}");
}

#[actix_web::test]
async fn the_partners_dataset_answers_the_latest_fetch_and_refuses_mixed_currencies() {
    let api = Api::empty("partners_dataset").await;
    let ours = stored(&api).await;
    let body = |filters: serde_json::Value, metrics: serde_json::Value| json!({
        "dataset": "partners",
        "metrics": metrics,
        "dimensions": ["partner"],
        "filters": filters,
        "time_range": { "from": api.date(-3), "to": api.date(-1) },
        "timezone": "UTC",
        "granularity": "hour",
    });
    let usd = json!([{ "dimension": "currency", "op": "eq", "value": "USD" }]);
    let answer = api.query(&api.acme, &body(usd, json!(["impressions", "revenue"]))).await;
    assert_eq!(answer.meta["table"], "partner_metrics");
    assert_eq!(answer.meta["currency"], "USD");
    let (mut impressions, mut revenue) = (0, 0);
    for ((partner, _), &(i, r)) in ours.iter().filter(|((partner, _), _)| partner != "appnexus") {
        let (i, r, _) = theirs(partner, i, r);
        impressions += i;
        revenue += r;
    }
    assert_eq!(answer.totals["impressions"].get(), impressions.to_string());
    assert_eq!(answer.totals["revenue"].get(), decimal(revenue));
    assert_eq!(answer.rows.len(), 3 * 72, "three partners by 72 hours");

    let (status, text) = api.post(&api.acme, &body(json!([]), json!(["revenue"]))).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("mixed_currencies"), "{text}");
    let all = api.query(&api.acme, &body(json!([]), json!(["impressions"]))).await;
    let every: i64 = ours.iter().map(|((partner, _), &(i, r))| theirs(partner, i, r).0).sum();
    assert_eq!(all.totals["impressions"].get(), every.to_string());
    // Another tenant sees none of it.
    let globex = api.query(&api.globex, &body(json!([]), json!(["impressions"]))).await;
    assert_eq!(globex.totals["impressions"].get(), "0");
}

#[actix_web::test]
async fn feed_health_lists_the_tenants_feeds_with_their_last_success() {
    let api = Api::empty("partners_feeds").await;
    let store = PartnerStore::new(api.db.client.clone());
    let now = OffsetDateTime::now_utc().replace_millisecond(0).unwrap();
    let (window, _) = Window::to_poll(now, None, (3, 3), Grain::Hour);
    let ok = FeedStatus::after_poll(None, ("acme", "mediation_hourly"), window, now, 4, Ok((96, 1)));
    let failing = FeedStatus::after_poll(Some(&ok), ("acme", "mediation_hourly"), window, now + Duration::seconds(60), 0, Err("HTTP 503".into()));
    store.put_status(&ok).await.unwrap();
    store.put_status(&FeedStatus { updated_at: ok.updated_at + Duration::seconds(1), ..failing }).await.unwrap();
    store.put_status(&FeedStatus::after_poll(None, ("globex", "other"), window, now, 1, Ok((1, 0)))).await.unwrap();
    let request = actix_web::test::TestRequest::get().uri("/api/v1/feeds").insert_header(("Authorization", format!("Bearer {}", api.acme)));
    let (status, _, text) = api.call(request).await;
    assert_eq!(status, 200, "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    let feeds = body["feeds"].as_array().unwrap();
    assert_eq!(feeds.len(), 1, "{text}");
    assert_eq!((feeds[0]["status"].as_str(), feeds[0]["consecutive_failures"].as_u64()), (Some("failing"), Some(1)));
    assert_eq!(feeds[0]["last_error"], "HTTP 503");
    let as_of = now.format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(feeds[0]["last_success_at"], as_of.as_str());
}
