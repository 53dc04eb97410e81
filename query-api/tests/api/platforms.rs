//! `"dataset": "platforms"` against stored platform rows: every answer is
//! compared with an independent computation over the same rows, keeping only
//! the latest fetch of each (account, level, entity, day) — the restated one.

use std::collections::BTreeMap;

use adhouse_connectors::store::{AccountStatus, LinkedAccount, Store};
use adhouse_connectors::{DailyRow, Level};
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime};

use crate::support::Api;

/// One account's rows as the test wrote them, latest fetch only.
struct Account {
    tenant: &'static str,
    platform: &'static str,
    id: &'static str,
    currency: &'static str,
    campaigns: &'static [&'static str],
}

const ACCOUNTS: [Account; 3] = [
    Account { tenant: "acme", platform: "meta", id: "1001", currency: "USD", campaigns: &["11", "12", "13"] },
    Account { tenant: "acme", platform: "google", id: "2002", currency: "EUR", campaigns: &["21", "22"] },
    // Same id as acme's Meta account, in another tenant, with far larger numbers.
    Account { tenant: "globex", platform: "meta", id: "1001", currency: "USD", campaigns: &["11"] },
];

const DAYS: i64 = 45;

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

/// A deterministic campaign-day; `version` 2 is the restatement.
fn campaign_day(account: usize, campaign: usize, day: i64, version: u64) -> DailyRow {
    let seed = mix((account as u64) << 40 ^ (campaign as u64) << 32 ^ (day as u64) << 8 ^ version);
    let scale = if ACCOUNTS[account].tenant == "globex" { 1_000 } else { 1 };
    let impressions = (1_000 + seed % 9_000) * scale;
    let clicks = impressions / (20 + seed % 30);
    let name = match (campaign, day) {
        (0, d) if d < 20 => "Spring".to_owned(),
        (0, _) => "Spring sale".to_owned(),
        (c, _) => format!("Campaign {c}"),
    };
    DailyRow {
        level: Level::Campaign,
        entity_id: ACCOUNTS[account].campaigns[campaign].to_owned(),
        entity_name: name,
        date: Date::from_ordinal_date(2000, 1).unwrap(),
        impressions,
        clicks,
        spend_micros: (seed % 50_000_000_000) as i64 + 1,
        conversions_micros: (clicks as i64 / 7) * 1_000_000 + (seed % 3) as i64 * 500_000,
        conversion_value_micros: (seed % 90_000_000_000) as i64,
        reach: impressions * 2 / 3,
        video_views: seed % 500,
        organic: Default::default(),
        extra: BTreeMap::new(),
    }
}

/// The account-level row of a day: what the platform reports for the
/// account, here the sum of its campaigns (reach excepted: not additive).
fn account_day(account: usize, campaigns: &[DailyRow]) -> DailyRow {
    let mut row = DailyRow { level: Level::Account, entity_id: ACCOUNTS[account].id.to_owned(), entity_name: "Account".into(), ..campaigns[0].clone() };
    row.impressions = campaigns.iter().map(|c| c.impressions).sum();
    row.clicks = campaigns.iter().map(|c| c.clicks).sum();
    row.spend_micros = campaigns.iter().map(|c| c.spend_micros).sum();
    row.conversions_micros = campaigns.iter().map(|c| c.conversions_micros).sum();
    row.conversion_value_micros = campaigns.iter().map(|c| c.conversion_value_micros).sum();
    row.video_views = campaigns.iter().map(|c| c.video_views).sum();
    row.reach = campaigns.iter().map(|c| c.reach).max().unwrap_or(0) + 17;
    row
}

/// The oracle: (account index, level, entity, date) → the latest row.
type Oracle = BTreeMap<(usize, Level, String, Date), DailyRow>;

/// Writes every day of every account at both levels, then restates the last
/// ten days with new numbers (a later fetch), as a daily re-sync would.
async fn stored(api: &Api) -> Oracle {
    let store = Store::new(api.db.client.clone());
    let mut oracle = Oracle::new();
    let today = api.today.date();
    for (a, spec) in ACCOUNTS.iter().enumerate() {
        let mut linked = LinkedAccount {
            tenant: spec.tenant.into(),
            platform: spec.platform.into(),
            account_id: spec.id.into(),
            kind: String::new(),
            manager_id: String::new(),
            name: format!("{} {} account", spec.tenant, spec.platform),
            currency: spec.currency.into(),
            timezone: "UTC".into(),
            status: AccountStatus::Active,
            status_detail: String::new(),
            linked_at: OffsetDateTime::now_utc(),
            backfill_since: today - Duration::days(DAYS),
            backfill_until: today - Duration::days(1),
            last_sync_at: None,
            last_error: String::new(),
            updated_at: OffsetDateTime::now_utc(),
        };
        store.put_account(&mut linked).await.expect("account stored");
        for version in [1, 2] {
            let days = if version == 1 { 1..=DAYS } else { 1..=10 };
            let mut rows = Vec::new();
            for back in days {
                let date = today - Duration::days(back);
                let campaigns: Vec<DailyRow> = (0..spec.campaigns.len())
                    .map(|c| DailyRow { date, ..campaign_day(a, c, DAYS - back, version) })
                    .collect();
                rows.push(account_day(a, &campaigns));
                rows.extend(campaigns);
            }
            let fetched_at = OffsetDateTime::now_utc() + Duration::seconds(version as i64);
            store.put_daily(&linked, &rows, fetched_at).await.expect("rows stored");
            for row in rows {
                oracle.insert((a, row.level, row.entity_id.clone(), row.date), row);
            }
        }
    }
    oracle
}

fn decimal(micros: i64) -> String {
    format!("{}{}.{:06}", if micros < 0 { "-" } else { "" }, micros.unsigned_abs() / 1_000_000, micros.unsigned_abs() % 1_000_000)
}

/// The summed measures of `rows`, as the API must print each metric.
fn expected(rows: &[&DailyRow], metrics: &[&str]) -> Vec<String> {
    let sum = |f: fn(&DailyRow) -> i128| rows.iter().map(|row| f(row)).sum::<i128>();
    let (impressions, clicks) = (sum(|r| r.impressions.into()), sum(|r| r.clicks.into()));
    let (spend, conversions, value) = (sum(|r| r.spend_micros.into()), sum(|r| r.conversions_micros.into()), sum(|r| r.conversion_value_micros.into()));
    let rounded = |n: i128, d: i128| if d == 0 { "null".to_owned() } else { decimal(((2 * n + d.signum() * d) / (2 * d)) as i64) };
    let rate = |n: f64, d: f64| if d == 0.0 { "null".to_owned() } else { format!("{:.9}", n / d) };
    metrics
        .iter()
        .map(|metric| match *metric {
            "impressions" => impressions.to_string(),
            "clicks" => clicks.to_string(),
            "spend" => decimal(spend as i64),
            "conversions" => decimal(conversions as i64),
            "conversion_value" => decimal(value as i64),
            "video_views" => sum(|r| r.video_views.into()).to_string(),
            "reach" => if rows.len() == 1 { rows[0].reach.to_string() } else { "null".to_owned() },
            "ctr" => rate(clicks as f64 * 100.0, impressions as f64),
            "cpc" => rounded(spend, clicks),
            "cpm" => rounded(spend * 1_000, impressions),
            "cpa" => rounded(spend * 1_000_000, conversions),
            "roas" => rate(value as f64, spend as f64),
            "conversion_rate" => rate(conversions as f64 / 1e6 * 100.0, clicks as f64),
            other => panic!("no oracle for {other}"),
        })
        .collect()
}

const RATES: [&str; 3] = ["ctr", "roas", "conversion_rate"];

/// A cell as the oracle prints it: rates (floats) to 9 decimals, which
/// both sides agree to; counts, money and names exactly as the JSON text.
fn shown(metric: &str, cell: &serde_json::value::RawValue) -> String {
    match cell.get().parse::<f64>() {
        Ok(rate) if RATES.contains(&metric) => format!("{rate:.9}"),
        _ => cell.get().trim_matches('"').to_owned(),
    }
}

/// A row's cells after `skip` leading ones (time), dimensions as text, then `metrics`.
fn shown_row(cells: &[Box<serde_json::value::RawValue>], skip: usize, metrics: &[&str]) -> Vec<String> {
    let dimensions = cells.len() - skip - metrics.len();
    let names = std::iter::repeat_n("", dimensions).chain(metrics.iter().copied());
    cells[skip..].iter().zip(names).map(|(cell, metric)| shown(metric, cell)).collect()
}

fn shown_totals(totals: &BTreeMap<String, Box<serde_json::value::RawValue>>, metrics: &[&str]) -> Vec<String> {
    metrics.iter().map(|metric| shown(metric, &totals[*metric])).collect()
}

fn latest(oracle: &Oracle, keep: impl Fn(usize, Level, &str, Date) -> bool) -> Vec<&DailyRow> {
    oracle.iter().filter(|((a, level, entity, date), _)| keep(*a, *level, entity, *date)).map(|(_, row)| row).collect()
}

const MONEY_METRICS: [&str; 12] =
    ["impressions", "clicks", "spend", "conversions", "conversion_value", "video_views", "ctr", "cpc", "cpm", "cpa", "roas", "conversion_rate"];

#[actix_web::test]
async fn daily_series_totals_and_comparison_equal_the_latest_fetch_of_every_day() {
    let api = Api::empty("platforms_daily").await;
    let oracle = stored(&api).await;
    let today = api.today.date();
    let (first, last) = (today - Duration::days(30), today - Duration::days(1));
    let answer = api
        .query(&api.acme, &json!({
            "dataset": "platforms",
            "metrics": MONEY_METRICS,
            "filters": [{ "dimension": "currency", "op": "eq", "value": "USD" }],
            "time_range": { "from": api.date(-30), "to": api.date(-1) },
            "granularity": "day",
            "compare": "previous_period",
        }))
        .await;
    assert_eq!(answer.meta["table"], "platform_daily");
    assert_eq!(answer.meta["level"], "account");
    assert_eq!(answer.meta["currency"], "USD");
    let acme_meta = |a: usize| ACCOUNTS[a].tenant == "acme" && ACCOUNTS[a].currency == "USD";
    assert_eq!(answer.rows.len(), 30);
    for (i, row) in answer.rows.iter().enumerate() {
        let date = first + Duration::days(i as i64);
        let rows = latest(&oracle, |a, level, _, d| acme_meta(a) && level == Level::Account && d == date);
        assert_eq!(rows.len(), 1, "{date}: one account-day after the restatement");
        assert_eq!(shown_row(row, 1, &MONEY_METRICS), expected(&rows, &MONEY_METRICS), "{date}");
    }
    let main = latest(&oracle, |a, level, _, d| acme_meta(a) && level == Level::Account && d >= first && d <= last);
    assert_eq!(shown_totals(&answer.totals, &MONEY_METRICS), expected(&main, &MONEY_METRICS));
    let comparison = answer.comparison.expect("compared");
    let before = latest(&oracle, |a, level, _, d| acme_meta(a) && level == Level::Account && d >= first - Duration::days(30) && d < first);
    assert_eq!(before.len(), DAYS as usize - 30, "the previous period holds the days stored before it");
    assert_eq!(shown_totals(&comparison.totals, &MONEY_METRICS), expected(&before, &MONEY_METRICS));
}

#[actix_web::test]
async fn money_of_two_currencies_is_refused_while_counts_add_up_across_accounts() {
    let api = Api::empty("platforms_currencies").await;
    let oracle = stored(&api).await;
    let range = json!({ "from": api.date(-20), "to": api.date(-1) });
    for metrics in [json!(["spend"]), json!(["clicks", "cpc"]), json!(["roas"])] {
        let (status, body) = api.post(&api.acme, &json!({ "dataset": "platforms", "metrics": metrics, "time_range": range })).await;
        assert_eq!(status, 400, "{body}");
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "mixed_currencies");
        assert!(problem["detail"].as_str().unwrap().contains("EUR, USD"), "{body}");
    }
    let answer = api.query(&api.acme, &json!({ "dataset": "platforms", "metrics": ["impressions", "clicks", "ctr"], "time_range": range })).await;
    let today = api.today.date();
    let rows = latest(&oracle, |a, level, _, d| {
        ACCOUNTS[a].tenant == "acme" && level == Level::Account && d >= today - Duration::days(20) && d < today
    });
    assert_eq!(shown_totals(&answer.totals, &["impressions", "clicks", "ctr"]), expected(&rows, &["impressions", "clicks", "ctr"]));
    assert!(answer.meta.get("currency").is_none(), "no money asked for, no currency claimed");
    let euros = api
        .query(&api.acme, &json!({
            "dataset": "platforms", "metrics": ["spend"], "time_range": range,
            "dimensions": ["platform"], "filters": [{ "dimension": "currency", "op": "eq", "value": "EUR" }],
        }))
        .await;
    assert_eq!(euros.meta["currency"], "EUR");
    let google = latest(&oracle, |a, level, _, d| a == 1 && level == Level::Account && d >= today - Duration::days(20) && d < today);
    assert_eq!(shown_row(&euros.rows[0], 0, &["spend"]), ["google".to_owned(), expected(&google, &["spend"])[0].clone()]);
}

#[actix_web::test]
async fn a_campaign_breakdown_reads_the_campaign_level_with_the_latest_names() {
    let api = Api::empty("platforms_campaigns").await;
    let oracle = stored(&api).await;
    let today = api.today.date();
    let metrics = ["spend", "clicks", "cpa"];
    let answer = api
        .query(&api.acme, &json!({
            "dataset": "platforms",
            "metrics": metrics,
            "dimensions": ["campaign"],
            "filters": [{ "dimension": "platform", "op": "eq", "value": "meta" }, { "dimension": "account", "op": "eq", "value": "1001" }],
            "time_range": { "from": api.date(-DAYS), "to": api.date(-1) },
            "order_by": [{ "field": "campaign", "direction": "asc" }],
        }))
        .await;
    assert_eq!(answer.meta["level"], "campaign");
    let got: Vec<Vec<String>> = answer.rows.iter().map(|row| shown_row(row, 0, &metrics)).collect();
    let want: Vec<Vec<String>> = ACCOUNTS[0]
        .campaigns
        .iter()
        .map(|campaign| {
            let rows = latest(&oracle, |a, level, entity, d| a == 0 && level == Level::Campaign && entity == *campaign && d < today);
            std::iter::once(campaign.to_string()).chain(expected(&rows, &metrics)).collect()
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(answer.labels["campaign"], json!({ "11": "Spring sale", "12": "Campaign 1", "13": "Campaign 2" }), "the latest day's names");

    let accounts = api
        .query(&api.acme, &json!({
            "dataset": "platforms", "metrics": ["impressions"], "dimensions": ["platform", "account"],
            "time_range": { "from": api.date(-5), "to": api.date(-1) },
        }))
        .await;
    assert_eq!(accounts.labels["account"], json!({ "1001": "acme meta account", "2002": "acme google account" }));
}

#[actix_web::test]
async fn months_group_account_local_days_and_reach_is_never_summed() {
    let api = Api::empty("platforms_months").await;
    let oracle = stored(&api).await;
    let today = api.today.date();
    let first = today - Duration::days(DAYS);
    let answer = api
        .query(&api.acme, &json!({
            "dataset": "platforms", "metrics": ["impressions", "reach"], "granularity": "month",
            "filters": [{ "dimension": "platform", "op": "eq", "value": "google" }],
            "time_range": { "from": api.date(-DAYS), "to": api.date(-1) },
        }))
        .await;
    let mut months: BTreeMap<(i32, u8), Vec<&DailyRow>> = BTreeMap::new();
    for row in latest(&oracle, |a, level, _, d| a == 1 && level == Level::Account && d >= first && d < today) {
        months.entry((row.date.year(), row.date.month().into())).or_default().push(row);
    }
    let got: Vec<Vec<String>> = answer.rows.iter().map(|row| shown_row(row, 1, &["impressions", "reach"])).collect();
    let want: Vec<Vec<String>> = months.values().map(|rows| expected(rows, &["impressions", "reach"])).collect();
    assert_eq!(got, want, "reach over a month of days is null, not a sum");
    let daily = api
        .query(&api.acme, &json!({
            "dataset": "platforms", "metrics": ["reach"], "granularity": "day",
            "filters": [{ "dimension": "platform", "op": "eq", "value": "google" }],
            "time_range": { "from": api.date(-3), "to": api.date(-1) },
        }))
        .await;
    for (i, row) in daily.rows.iter().enumerate() {
        let date = today - Duration::days(3 - i as i64);
        let day = latest(&oracle, |a, level, _, d| a == 1 && level == Level::Account && d == date);
        assert_eq!(shown_row(row, 1, &["reach"]), expected(&day, &["reach"]), "{date}: one entity-day has its reach");
    }
    assert_eq!(daily.totals["reach"].get(), "null");
}

#[actix_web::test]
async fn tenants_see_only_their_own_accounts() {
    let api = Api::empty("platforms_tenants").await;
    let oracle = stored(&api).await;
    let range = json!({ "from": api.date(-DAYS), "to": api.date(-1) });
    let today = api.today.date();
    for (token, tenant) in [(&api.acme, "acme"), (&api.globex, "globex")] {
        let answer = api
            .query(token, &json!({
                "dataset": "platforms", "metrics": ["impressions"], "timezone": "UTC", "time_range": range,
                "filters": [{ "dimension": "account", "op": "eq", "value": "1001" }],
            }))
            .await;
        let rows = latest(&oracle, |a, level, _, d| ACCOUNTS[a].tenant == tenant && ACCOUNTS[a].id == "1001" && level == Level::Account && d < today);
        assert_eq!(shown_totals(&answer.totals, &["impressions"]), expected(&rows, &["impressions"]), "{tenant}");
    }
}

#[actix_web::test]
async fn requests_a_daily_dataset_cannot_answer_are_refused_with_the_field() {
    let api = Api::empty("platforms_refused").await;
    let range = json!({ "from": api.date(-3), "to": api.date(-1) });
    let cases = [
        (json!({ "dimensions": ["campaign"], "filters": [{ "dimension": "ad", "op": "eq", "value": "1" }] }), "dimensions"),
        (json!({ "granularity": "hour" }), "granularity"),
        (json!({ "use_rollups": false }), "use_rollups"),
        (json!({ "dimensions": ["country"] }), "dimensions[0]"),
        (json!({ "dataset": "ads" }), "dataset"),
        // Daily numbers cannot be cut at the current time of day.
        (json!({ "time_range": { "preset": "today" }, "compare": "previous_period_to_date" }), "compare"),
        (json!({ "time_range": { "preset": "this_month" }, "compare": "previous_year_to_date" }), "compare"),
    ];
    for (extra, field) in cases {
        let mut body = json!({ "dataset": "platforms", "metrics": ["impressions"], "time_range": range });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, text) = api.post(&api.acme, &body).await;
        assert_eq!(status, 400, "{body} → {text}");
        let problem: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(problem["field"], field, "{text}");
    }
    let (status, text) = api.post(&api.acme, &json!({ "metrics": ["spend"], "time_range": range })).await;
    assert_eq!((status.as_u16(), serde_json::from_str::<Value>(&text).unwrap()["code"].clone()), (400, json!("unknown_metric")), "spend is not a log metric");
}

/// Organic accounts: two Pages (the second stops reporting followers five
/// days before the end, as a Page whose insights lag would) and an Instagram
/// account, which has no follower history. (tenant acme)
const ORGANIC: [(&str, &str); 3] = [("facebook", "5001"), ("facebook", "5002"), ("instagram", "1784")];

fn organic_day(account: usize, back: i64, date: Date) -> DailyRow {
    let seed = mix((account as u64) << 40 ^ back as u64);
    let (platform, id) = ORGANIC[account];
    let followers = (platform == "facebook" && !(account == 1 && back <= 5)).then(|| 10_000 * (account as u64 + 1) + 900 - back as u64 * 7 + seed % 5);
    DailyRow {
        level: Level::Account,
        entity_id: id.into(),
        entity_name: format!("{platform} {id}"),
        date,
        impressions: 1_000 + seed % 500,
        clicks: 0,
        spend_micros: 0,
        conversions_micros: 0,
        conversion_value_micros: 0,
        reach: 400 + seed % 100,
        video_views: 0,
        organic: adhouse_connectors::OrganicMeasures { followers, follows: seed % 9, profile_views: seed % 40, engagements: seed % 70 },
        extra: BTreeMap::new(),
    }
}

/// The organic rows, stored twice (the second fetch of the last ten days
/// restates them), and the latest of each day.
async fn stored_organic(api: &Api) -> Vec<DailyRow> {
    let store = Store::new(api.db.client.clone());
    let today = api.today.date();
    let mut latest = BTreeMap::new();
    for (a, (platform, id)) in ORGANIC.iter().enumerate() {
        let account = adhouse_connectors::Account {
            id: (*id).into(),
            kind: String::new(),
            name: format!("{platform} {id}"),
            currency: String::new(),
            timezone: "UTC".into(),
            manager_id: String::new(),
            active: true,
        };
        let range = adhouse_connectors::DateRange { since: today - Duration::days(DAYS), until: today - Duration::days(1) };
        let platform_id = adhouse_connectors::PlatformId::parse(platform).expect("a platform");
        let mut linked = LinkedAccount::linked("acme", platform_id, &account, range, OffsetDateTime::now_utc());
        store.put_account(&mut linked).await.expect("account stored");
        for version in [0u64, 1] {
            let days = if version == 0 { 1..=DAYS } else { 1..=10 };
            let rows: Vec<DailyRow> = days
                .map(|back| {
                    let mut row = organic_day(a, back, today - Duration::days(back));
                    row.organic.follows += version * 3;
                    row.organic.followers = row.organic.followers.map(|f| f + version * 11);
                    row
                })
                .collect();
            store.put_daily(&linked, &rows, OffsetDateTime::now_utc() + Duration::seconds(version as i64)).await.expect("rows stored");
            for row in rows {
                latest.insert((a, row.date), row);
            }
        }
    }
    latest.into_values().collect()
}

/// Followers of `rows` as the gauge is defined: each entity's value on its
/// latest day with one, summed across entities; null when none has one.
fn gauge(rows: &[&DailyRow]) -> String {
    let mut last: BTreeMap<&str, (Date, u64)> = BTreeMap::new();
    for row in rows {
        if let Some(followers) = row.organic.followers {
            let entry = last.entry(&row.entity_id).or_insert((row.date, followers));
            if row.date >= entry.0 {
                *entry = (row.date, followers);
            }
        }
    }
    if last.is_empty() { "null".into() } else { last.values().map(|(_, f)| f).sum::<u64>().to_string() }
}

fn organic_expected(rows: &[&DailyRow]) -> Vec<String> {
    let sum = |f: fn(&DailyRow) -> u64| rows.iter().map(|r| f(r)).sum::<u64>().to_string();
    vec![gauge(rows), sum(|r| r.organic.follows), sum(|r| r.organic.profile_views), sum(|r| r.organic.engagements), sum(|r| r.impressions)]
}

const ORGANIC_METRICS: [&str; 5] = ["followers", "follows", "profile_views", "engagements", "impressions"];

#[actix_web::test]
async fn followers_are_a_gauge_the_last_value_of_a_range_and_its_change_while_organic_counts_add_up() {
    let api = Api::empty("platforms_organic").await;
    let rows = stored_organic(&api).await;
    let today = api.today.date();
    let within = |since: Date, until: Date| rows.iter().filter(|r| r.date >= since && r.date <= until).collect::<Vec<_>>();
    let (first, last) = (today - Duration::days(20), today - Duration::days(1));
    let answer = api
        .query(&api.acme, &json!({
            "dataset": "platforms", "metrics": ORGANIC_METRICS, "granularity": "day",
            "time_range": { "from": api.date(-20), "to": api.date(-1) }, "compare": "previous_period",
        }))
        .await;
    assert_eq!(answer.rows.len(), 20);
    for (i, row) in answer.rows.iter().enumerate() {
        let date = first + Duration::days(i as i64);
        assert_eq!(shown_row(row, 1, &ORGANIC_METRICS), organic_expected(&within(date, date)), "{date}");
    }
    // The range: each Page's last known followers (the second Page's from
    // five days before the end), summed; never the sum of the days.
    let main = within(first, last);
    assert_eq!(shown_totals(&answer.totals, &ORGANIC_METRICS), organic_expected(&main));
    let previous = within(first - Duration::days(20), first - Duration::days(1));
    let comparison = answer.comparison.expect("compared");
    assert_eq!(shown_totals(&comparison.totals, &ORGANIC_METRICS), organic_expected(&previous));
    let change = gauge(&main).parse::<i64>().unwrap() - gauge(&previous).parse::<i64>().unwrap();
    assert_eq!(comparison.change["followers"]["absolute"], json!(change), "the change of the gauge between the two ends");

    // Per account and month: the month's last value, not a sum; Instagram has none.
    let monthly = api
        .query(&api.acme, &json!({
            "dataset": "platforms", "metrics": ["followers"], "granularity": "month", "dimensions": ["account"],
            "time_range": { "from": api.date(-DAYS), "to": api.date(-1) },
        }))
        .await;
    let mut months: BTreeMap<(i32, u8, String), Vec<&DailyRow>> = BTreeMap::new();
    for row in within(today - Duration::days(DAYS), last) {
        months.entry((row.date.year(), row.date.month().into(), row.entity_id.clone())).or_default().push(row);
    }
    let mut got: Vec<Vec<String>> = monthly.rows.iter().map(|row| shown_row(row, 1, &["followers"])).collect();
    let mut want: Vec<Vec<String>> = months.iter().map(|((_, _, id), rows)| vec![id.clone(), gauge(rows)]).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    let (_, _, catalog) = api.call(actix_web::test::TestRequest::get().uri("/api/v1/catalog")).await;
    let catalog: Value = serde_json::from_str(&catalog).unwrap();
    let metrics = catalog["datasets"]["platforms"]["metrics"].as_array().unwrap();
    let combine = |name: &str| metrics.iter().find(|m| m["name"] == name).map(|m| m["combine"].clone());
    assert_eq!((combine("followers"), combine("follows"), combine("reach")), (Some(json!("gauge")), Some(json!("sum")), Some(json!("not_additive"))));
}
