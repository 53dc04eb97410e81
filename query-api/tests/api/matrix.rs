//! The API's numbers equal an independent aggregate over raw `events`,
//! exactly, for each granularity, several timezones, each comparison mode,
//! grouped and filtered, and the expected table answers.

use std::collections::HashMap;

use adhouse_api::money;
use clickhouse::Row;
use serde::Deserialize;
use serde_json::json;

use crate::support::{Answer, Api};

/// Base metrics checked exactly, then two ratios recomputed from them.
const BASE: [&str; 8] = ["requests", "impressions", "clicks", "video_completes", "errors", "revenue", "cost", "users"];

const RAW_MEASURES: &str = "[toInt64(countIf(event_type = 'request')), toInt64(countIf(event_type = 'impression')), \
    toInt64(countIf(event_type = 'click')), toInt64(countIf(event_type = 'video_complete')), \
    toInt64(countIf(event_type = 'error')), sum(revenue_micros), sum(cost_micros), \
    toInt64(uniqCombined64If(user_id_hash, user_id_hash != 0))]";

#[derive(Debug, Row, Deserialize)]
struct OracleRow {
    t: u32,
    g: Vec<String>,
    v: Vec<i64>,
}

struct Case {
    tenant: &'static str,
    granularity: &'static str,
    timezone: &'static str,
    dimensions: &'static [&'static str],
    filters: serde_json::Value,
    /// The same filter, written independently as SQL over `events`.
    filter_sql: &'static str,
    days: (i64, i64),
    compare: &'static str,
    use_rollups: bool,
    table: &'static str,
    comparison_table: Option<&'static str>,
}

/// Where the buckets of `granularity` start in `timezone`, found by walking
/// the time line minute by minute and cutting wherever the local calendar
/// unit changes (and, for minutes and hours, wherever the UTC offset
/// changes): written independently of the API's arithmetic.
fn boundaries(granularity: &str, timezone: &str, from: i64, to: i64) -> Vec<u32> {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap();
    let key = |t: i64| {
        let instant = jiff::Timestamp::from_second(t).unwrap();
        let local = tz.to_datetime(instant);
        let offset = tz.to_offset(instant).seconds();
        let date = local.date();
        match granularity {
            "minute" => (date, local.hour(), local.minute(), offset),
            "hour" => (date, local.hour(), 0, offset),
            "day" => (date, 0, 0, 0),
            "week" => (date.checked_sub(jiff::Span::new().days(i64::from(date.weekday().to_monday_zero_offset()))).unwrap(), 0, 0, 0),
            "month" => (date.first_of_month(), 0, 0, 0),
            "quarter" => (jiff::civil::date(date.year(), (date.month() - 1) / 3 * 3 + 1, 1), 0, 0, 0),
            "year" => (date.first_of_year(), 0, 0, 0),
            other => panic!("{other}"),
        }
    };
    // Offsets change on whole minutes, and midnights fall on quarter hours.
    let (step, lookback_days) = match granularity {
        "minute" | "hour" => (60, 1),
        "day" => (900, 2),
        "week" => (900, 8),
        "month" => (900, 32),
        _ => (900, 367),
    };
    let start = from - from.rem_euclid(step) - lookback_days * 86_400;
    (start..to).step_by(step as usize).filter(|&t| key(t) != key(t - step)).map(|t| u32::try_from(t).unwrap()).collect()
}

/// The oracle's period: whole local days (`from..=to`, parsed by
/// ClickHouse), or instants `[from, to)`.
#[derive(Debug, Clone, Copy)]
pub enum Period<'a> {
    Days(&'a str, &'a str),
    Instants(i64, i64),
}

/// `(bucket, group) → measures` and the totals, over `period`.
async fn oracle(api: &Api, case: &Case, period: Period<'_>, group: bool) -> (HashMap<(i64, Vec<String>), Vec<i64>>, Vec<i64>) {
    let dims = case.dimensions.iter().map(|d| format!("toString({d})")).collect::<Vec<_>>().join(", ");
    let dims = if group && !dims.is_empty() { format!("[{dims}]") } else { "emptyArrayString()".to_owned() };
    let bucket = if group && case.granularity != "none" { "{b:Array(UInt32)}[arrayCount(x -> x <= toUnixTimestamp(ts), {b:Array(UInt32)})]" } else { "toUInt32(0)" };
    let (range_sql, from, to) = match period {
        Period::Days(from, to) => (
            "ts >= toDateTime({from:String}, {tz:String}) AND ts < toDateTime({to:String}, {tz:String}) + INTERVAL 1 DAY",
            format!("{from} 00:00:00"),
            format!("{to} 00:00:00"),
        ),
        Period::Instants(from, to) => ("ts >= toDateTime(toUInt32({from:String})) AND ts < toDateTime(toUInt32({to:String}))", from.to_string(), to.to_string()),
    };
    let (scan_from, scan_to) = match period {
        Period::Days(from, to) => (day_epoch(from) - 86_400, day_epoch(to) + 2 * 86_400),
        Period::Instants(from, to) => (from, to),
    };
    let sql = format!(
        "SELECT {bucket} AS t, {dims} AS g, {RAW_MEASURES} AS v FROM events \
         WHERE tenant = {{tenant:String}} AND {range_sql} {} GROUP BY t, g",
        case.filter_sql
    );
    let mut query = api.db.client.query(&sql).param("tenant", case.tenant).param("tz", case.timezone).param("from", from).param("to", to);
    if bucket.contains("{b:") {
        query = query.param("b", boundaries(case.granularity, case.timezone, scan_from, scan_to));
    }
    let rows: Vec<OracleRow> = query.fetch_all().await.unwrap_or_else(|err| panic!("{sql}: {err}"));
    let totals = if group { Vec::new() } else { rows.first().map_or(vec![0; BASE.len()], |row| row.v.clone()) };
    (rows.into_iter().map(|row| ((i64::from(row.t), row.g), row.v)).collect(), totals)
}

fn expected_cell(metric: &str, value: i64) -> String {
    match metric {
        "revenue" | "cost" => money::decimal(value),
        _ => value.to_string(),
    }
}

/// Checks one period's rows against the oracle: equal where the oracle has
/// a row, zero elsewhere (dense), and the two ratios consistent.
fn check_rows(case: &Case, answer_columns: &[String], rows: &[Vec<Box<serde_json::value::RawValue>>], expected: &HashMap<(i64, Vec<String>), Vec<i64>>, what: &str) {
    let has_time = case.granularity != "none";
    let dims = case.dimensions.len();
    let metric_at = |name: &str| answer_columns.iter().position(|c| c == name).unwrap_or_else(|| panic!("column {name}"));
    let mut seen = 0;
    for row in rows {
        let t = if has_time {
            let text: String = serde_json::from_str(row[0].get()).unwrap();
            text.parse::<jiff::Timestamp>().unwrap().as_second()
        } else {
            0
        };
        let offset = usize::from(has_time);
        let group: Vec<String> = row[offset..offset + dims].iter().map(|cell| serde_json::from_str(cell.get()).unwrap()).collect();
        let values = match expected.get(&(t, group.clone())) {
            Some(values) => {
                seen += 1;
                values.clone()
            }
            None => vec![0; BASE.len()],
        };
        for (i, metric) in BASE.iter().enumerate() {
            assert_eq!(row[metric_at(metric)].get(), expected_cell(metric, values[i]), "{what}: {metric} at {t} {group:?}");
        }
        let (clicks, impressions, revenue) = (values[2], values[1], values[5]);
        let ctr = row[metric_at("ctr")].get();
        if impressions == 0 {
            assert_eq!(ctr, "null", "{what}: ctr without impressions");
            assert_eq!(row[metric_at("ecpm")].get(), "null");
        } else {
            let expected_ctr = clicks as f64 * 100.0 / impressions as f64;
            assert!((ctr.parse::<f64>().unwrap() - expected_ctr).abs() < 1e-9, "{what}: ctr {ctr} vs {expected_ctr}");
            let ecpm = money::decimal(money::divide_rounded(i128::from(revenue) * 1000, i128::from(impressions)));
            assert_eq!(row[metric_at("ecpm")].get(), ecpm, "{what}: ecpm");
        }
    }
    assert_eq!(seen, expected.len(), "{what}: every group and bucket with data is in the answer");
}

fn check_totals(totals: &std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>, expected: &[i64], what: &str) {
    for (i, metric) in BASE.iter().enumerate() {
        assert_eq!(totals[*metric].get(), expected_cell(metric, expected[i]), "{what}: total {metric}");
    }
}

/// UTC midnight of `YYYY-MM-DD`, for the extent of a boundary walk.
fn day_epoch(date: &str) -> i64 {
    format!("{date}T00:00:00Z").parse::<jiff::Timestamp>().unwrap().as_second()
}

fn year_back(date: &str) -> String {
    let year: i32 = date[..4].parse().unwrap();
    format!("{}{}", year - 1, &date[4..])
}

async fn run(api: &Api, case: Case) {
    let (from, to) = (api.date(case.days.0), api.date(case.days.1));
    let token = if case.tenant == "acme" { &api.acme } else { &api.globex };
    let mut metrics: Vec<&str> = BASE.to_vec();
    metrics.extend(["ctr", "ecpm"]);
    let body = json!({
        "metrics": metrics,
        "dimensions": case.dimensions,
        "filters": case.filters,
        "time_range": { "from": from, "to": to },
        "timezone": case.timezone,
        "granularity": case.granularity,
        "compare": case.compare,
        "limit": if case.granularity == "none" { 5000 } else { 100 },
        "use_rollups": case.use_rollups,
    });
    let what = format!("{} {} {} {:?} compare={}", case.tenant, case.granularity, case.timezone, case.dimensions, case.compare);
    let answer: Answer = api.query(token, &body).await;
    assert_eq!(answer.meta["table"], case.table, "{what}: table");
    assert_eq!(answer.meta["comparison_table"].as_str(), case.comparison_table, "{what}: comparison table");
    let columns: Vec<String> = answer.columns.iter().map(|c| c.name.clone()).collect();

    let (rows, _) = oracle(api, &case, Period::Days(&from, &to), true).await;
    let (_, totals) = oracle(api, &case, Period::Days(&from, &to), false).await;
    assert!(!rows.is_empty(), "{what}: the case has data");
    check_rows(&case, &columns, &answer.rows, &rows, &what);
    check_totals(&answer.totals, &totals, &what);

    let comparison = match case.compare {
        "previous_period" => {
            let days = case.days.1 - case.days.0 + 1;
            Some((api.date(case.days.0 - days), api.date(case.days.0 - 1)))
        }
        "previous_year" => Some((year_back(&from), year_back(&to))),
        _ => None,
    };
    match (comparison, &answer.comparison) {
        (Some((from, to)), Some(compared)) => {
            let (rows, _) = oracle(api, &case, Period::Days(&from, &to), true).await;
            let (_, totals) = oracle(api, &case, Period::Days(&from, &to), false).await;
            check_rows(&case, &columns, &compared.rows, &rows, &format!("{what} (comparison)"));
            check_totals(&compared.totals, &totals, &format!("{what} (comparison)"));
            assert!(compared.time_range["from"].as_str().unwrap().starts_with(&from), "{what}: {}", compared.time_range);
            let base = totals[0];
            let expected = answer.totals["requests"].get().parse::<i64>().unwrap() - base;
            assert_eq!(compared.change["requests"]["absolute"], json!(expected), "{what}: change");
        }
        (None, None) => {}
        (expected, actual) => panic!("{what}: comparison {expected:?} vs {actual:?}"),
    }
}

fn case(tenant: &'static str, granularity: &'static str, timezone: &'static str, dimensions: &'static [&'static str]) -> Case {
    Case {
        tenant,
        granularity,
        timezone,
        dimensions,
        filters: json!([]),
        filter_sql: "",
        days: (-2, 0),
        compare: "none",
        use_rollups: true,
        table: "events_1d",
        comparison_table: None,
    }
}

#[actix_web::test]
async fn every_granularity_timezone_and_comparison_matches_raw_events_exactly() {
    let api = Api::loaded("matrix").await;
    let cases = [
        Case { compare: "previous_period", comparison_table: Some("events_1d"), ..case("acme", "day", "UTC", &[]) },
        Case { compare: "previous_year", table: "events_1h", comparison_table: Some("events_1h"), ..case("globex", "day", "Asia/Tokyo", &["country"]) },
        Case {
            filters: json!([{ "dimension": "demand_partner", "op": "in", "values": ["rubicon", "openx"] }]),
            filter_sql: "AND demand_partner IN ('rubicon', 'openx')",
            days: (-3, -1),
            table: "events_1h",
            ..case("acme", "day", "America/New_York", &[])
        },
        Case { compare: "previous_period", table: "events_1m", comparison_table: Some("events_1m"), ..case("globex", "day", "Asia/Kolkata", &["device_type"]) },
        Case { days: (-1, -1), table: "events_1m", ..case("acme", "hour", "Asia/Kolkata", &[]) },
        Case {
            filters: json!([{ "dimension": "publisher_id", "op": "eq", "value": "pub-3" }]),
            filter_sql: "AND publisher_id = 'pub-3'",
            days: (-2, -1),
            compare: "previous_period",
            table: "events_1h",
            comparison_table: Some("events_1h"),
            ..case("globex", "hour", "Asia/Tokyo", &["placement_id"])
        },
        Case {
            filters: json!([{ "dimension": "country", "op": "eq", "value": "US" }]),
            filter_sql: "AND country = 'US'",
            days: (-1, -1),
            compare: "previous_period",
            table: "events_1m",
            comparison_table: Some("events_1m"),
            ..case("acme", "minute", "UTC", &[])
        },
        Case {
            filters: json!([{ "dimension": "country", "op": "not_in", "values": ["", "BR"] }]),
            filter_sql: "AND country NOT IN ('', 'BR')",
            days: (-20, 0),
            ..case("acme", "week", "UTC", &["ad_format"])
        },
        Case { days: (-40, 0), compare: "previous_year", table: "events_1h", comparison_table: Some("events_1h"), ..case("globex", "month", "America/New_York", &[]) },
        Case { days: (-200, 0), ..case("acme", "quarter", "UTC", &[]) },
        Case { days: (-400, 0), table: "events_1h", ..case("globex", "year", "Asia/Tokyo", &[]) },
        Case { days: (-5, 0), compare: "previous_period", table: "events", comparison_table: Some("events"), ..case("acme", "none", "UTC", &["os"]) },
        // By or filtered on source: raw events bounded by whole hours, which
        // ClickHouse may answer from migration 0015's projection.
        Case { days: (-5, 0), compare: "previous_period", table: "events", comparison_table: Some("events"), ..case("globex", "none", "Asia/Tokyo", &["source"]) },
        Case {
            filters: json!([{ "dimension": "source", "op": "contains", "value": "SYNTH" }]),
            filter_sql: "AND positionCaseInsensitiveUTF8(source, 'synth') > 0",
            table: "events",
            ..case("acme", "day", "America/New_York", &["source"])
        },
        Case {
            filters: json!([{ "dimension": "domain", "op": "contains", "value": "SITE1" }]),
            filter_sql: "AND lower(domain) LIKE '%site1%'",
            table: "events",
            ..case("globex", "none", "Asia/Tokyo", &["creative_id", "domain"])
        },
        Case { compare: "previous_period", use_rollups: false, table: "events", comparison_table: Some("events"), ..case("acme", "day", "UTC", &["country"]) },
        Case {
            filters: json!([{ "dimension": "campaign_id", "op": "neq", "value": "cmp-1" }]),
            filter_sql: "AND campaign_id != 'cmp-1'",
            compare: "previous_year",
            comparison_table: Some("events_1d"),
            ..case("acme", "none", "UTC", &["placement_id"])
        },
    ];
    for case in cases {
        run(&api, case).await;
    }
}

/// Half- and quarter-hour zones, for every granularity: Lord Howe Island
/// (+11:00 in its summer, +10:30 otherwise, a half-hour DST shift),
/// Kathmandu (+05:45) and Eucla (+08:45).
#[actix_web::test]
async fn half_and_quarter_hour_timezones_match_raw_events_exactly_for_every_granularity() {
    let api = Api::loaded("odd_zones").await;
    let mut cases = Vec::new();
    for timezone in ["Asia/Kathmandu", "Australia/Eucla"] {
        cases.extend([
            Case { days: (-1, -1), table: "events_1m", ..case("acme", "minute", timezone, &[]) },
            Case { table: "events_1m", ..case("globex", "hour", timezone, &["country"]) },
            Case { table: "events_1m", compare: "previous_period", comparison_table: Some("events_1m"), ..case("acme", "day", timezone, &[]) },
            Case { days: (-20, 0), table: "events_1m", ..case("globex", "week", timezone, &[]) },
            Case { days: (-40, 0), table: "events", ..case("acme", "month", timezone, &[]) },
            Case { days: (-200, 0), table: "events", ..case("globex", "quarter", timezone, &[]) },
            Case { days: (-400, 0), table: "events", ..case("acme", "year", timezone, &[]) },
            Case { days: (-5, 0), table: "events_1m", compare: "previous_period", comparison_table: Some("events_1m"), ..case("globex", "none", timezone, &["device_type"]) },
        ]);
    }
    let lord_howe = "Australia/Lord_Howe";
    cases.extend([
        Case { days: (-1, -1), table: "events_1m", ..case("acme", "minute", lord_howe, &[]) },
        Case { table: "events_1h", compare: "previous_year", comparison_table: Some("events_1h"), ..case("globex", "hour", lord_howe, &[]) },
        Case { table: "events_1h", ..case("acme", "day", lord_howe, &["placement_id"]) },
        Case { days: (-20, 0), table: "events_1h", ..case("globex", "week", lord_howe, &[]) },
        Case { days: (-40, 0), table: "events_1h", ..case("acme", "month", lord_howe, &[]) },
        Case { days: (-200, 0), table: "events", ..case("globex", "quarter", lord_howe, &[]) },
        Case { days: (-400, 0), table: "events_1h", ..case("acme", "year", lord_howe, &[]) },
        Case { days: (-5, 0), table: "events_1h", compare: "previous_year", comparison_table: Some("events_1h"), ..case("globex", "none", lord_howe, &["country"]) },
    ]);
    for case in cases {
        run(&api, case).await;
    }
}

/// The request: an hourly series over Lord Howe Island's change
/// from +10:30 to +11:00, compared with the year before (its change then
/// fell on the last day). Every hour with data is in the answer, exactly.
#[actix_web::test]
async fn an_hourly_series_across_the_lord_howe_half_hour_dst_shift_keeps_every_row() {
    let api = Api::loaded("lord_howe_dst").await;
    let tz = jiff::tz::TimeZone::get("Australia/Lord_Howe").unwrap();
    // The latest change to summer time at least a week ago, and its local date.
    let week_ago = jiff::Timestamp::from_second(api.today.unix_timestamp() - 7 * 86_400).unwrap();
    let change = tz
        .preceding(week_ago)
        .find(|transition| transition.offset().seconds() == 11 * 3_600 && tz.to_offset(transition.timestamp() - jiff::SignedDuration::from_secs(1)).seconds() == 37_800)
        .expect("Lord Howe changes to +11:00 every October");
    let change_date = tz.to_datetime(change.timestamp()).date();
    let today = jiff::civil::date(api.today.year() as i16, api.today.month() as i8, api.today.day() as i8);
    let day = change_date.since(today).unwrap().get_days() as i64;
    api.insert_events(21, day - 2, 5, 40_000).await;
    api.insert_events(22, day - 2 - 365, 6, 40_000).await;
    run(
        &api,
        Case {
            days: (day - 1, day + 1),
            compare: "previous_year",
            table: "events",
            comparison_table: Some("events"),
            ..case("acme", "hour", "Australia/Lord_Howe", &[])
        },
    )
    .await;
}

/// Timestamps with an offset, or without one in the request's timezone,
/// are instants: the answer is that hour, not the whole day.
#[actix_web::test]
async fn timestamps_with_an_offset_or_without_one_answer_exactly_that_hour() {
    let api = Api::loaded("instants").await;
    let date = api.date(-1);
    let start = day_epoch(&date);
    for (timezone, from, to, hour) in [
        ("Asia/Kolkata", format!("{date}T05:30:00+05:30"), format!("{date}T06:30:00+05:30"), start),
        ("Asia/Kolkata", format!("{date}T05:30:00"), format!("{date}T06:30:00"), start),
        ("Asia/Tokyo", format!("{date}T18:00:00+09:00"), format!("{date}T19:00:00+09:00"), start + 9 * 3_600),
        ("UTC", format!("{date}T07:00:00Z"), format!("{date}T08:00:00Z"), start + 7 * 3_600),
    ] {
        let body = json!({ "metrics": BASE, "time_range": { "from": from, "to": to }, "timezone": timezone });
        let answer = api.query(&api.acme, &body).await;
        let case = Case { timezone, ..case("acme", "none", timezone, &[]) };
        let (_, totals) = oracle(&api, &case, Period::Instants(hour, hour + 3_600), false).await;
        assert!(totals[0] > 0, "{from}: the hour has data");
        check_totals(&answer.totals, &totals, &format!("{timezone} {from}..{to}"));
        assert_eq!(answer.meta["time_range"]["to"].as_str().unwrap(), crate::support::zone(timezone).format(hour + 3_600));
    }
}

#[actix_web::test]
async fn groups_are_ranked_by_the_requested_order_and_limited() {
    let api = Api::loaded("ranking").await;
    let body = json!({
        "metrics": ["impressions", "revenue"],
        "dimensions": ["placement_id"],
        "time_range": { "from": api.date(-2), "to": api.date(0) },
        "order_by": [{ "field": "revenue", "direction": "desc" }],
        "limit": 5,
        "offset": 2,
    });
    let answer = api.query(&api.acme, &body).await;
    assert_eq!(answer.rows.len(), 5);
    let revenues: Vec<f64> = answer.rows.iter().map(|row| row[2].get().parse().unwrap()).collect();
    assert!(revenues.windows(2).all(|pair| pair[0] >= pair[1]), "{revenues:?}");
    let all = api.query(&api.acme, &json!({ "metrics": ["revenue"], "dimensions": ["placement_id"], "time_range": body["time_range"], "limit": 7 })).await;
    assert_eq!(all.rows[2][0].get(), answer.rows[0][0].get(), "offset 2 starts at the third placement");
}

#[actix_web::test]
async fn a_series_by_dimension_is_dense_for_every_ranked_group() {
    let api = Api::loaded("dense").await;
    let body = json!({
        "metrics": ["requests"],
        "dimensions": ["country"],
        "filters": [{ "dimension": "country", "op": "in", "values": ["US", "DE"] }],
        "time_range": { "from": api.date(-10), "to": api.date(0) },
        "timezone": "Asia/Tokyo",
        "granularity": "day",
    });
    let answer = api.query(&api.globex, &body).await;
    assert_eq!(answer.rows.len(), 2 * 11, "2 countries x 11 local days, zeros included");
    let zeros = answer.rows.iter().filter(|row| row[2].get() == "0").count();
    assert!(zeros >= 2 * 4, "days before the data are present as zeros: {zeros}");
    assert!(answer.rows[0][0].get().contains("T00:00:00+09:00"), "{}", answer.rows[0][0].get());
}

/// Buckets, retention and comparisons are all decided before any query,
/// whatever the zone: one statement, with dimensions or without (the ranked
/// groups, both periods' series and totals).
#[actix_web::test]
async fn the_clickhouse_statements_per_request_stay_fixed_in_every_zone() {
    let api = Api::loaded("statements").await;
    let range = json!({ "from": api.date(-2), "to": api.date(0) });
    for timezone in ["UTC", "Australia/Lord_Howe", "Asia/Kathmandu"] {
        for (body, statements) in [
            (json!({ "metrics": ["requests"], "time_range": range }), 1),
            (json!({ "metrics": ["requests"], "time_range": range, "granularity": "hour", "compare": "previous_period" }), 1),
            (json!({ "metrics": ["requests"], "dimensions": ["country"], "time_range": range }), 1),
            (json!({ "metrics": ["requests"], "dimensions": ["country"], "time_range": range, "granularity": "day", "compare": "previous_period" }), 1),
        ] {
            let mut body = body;
            body["timezone"] = json!(timezone);
            let answer = api.query(&api.acme, &body).await;
            assert_eq!(answer.meta["clickhouse"]["queries"], json!(statements), "{body}");
        }
    }
}
