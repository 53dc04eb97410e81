//! Every rollup must answer exactly what the same question asked of raw
//! `events` answers. The raw side is written here independently of the
//! schema's materialized views.

use adhouse_core::event::EventType;
use crate::common::{TestDb, days_ago, synthetic_events};

struct Rollup {
    table: &'static str,
    bucket: &'static str,
    dimensions: &'static str,
}

const LOW: &str = "publisher_id, demand_partner, ad_format, country, device_type";
const ROLLUPS: [Rollup; 3] = [
    Rollup { table: "events_1m", bucket: "toStartOfMinute(ts)", dimensions: LOW },
    Rollup {
        table: "events_1h",
        bucket: "toStartOfHour(ts)",
        dimensions: "publisher_id, demand_partner, ad_format, country, device_type, placement_id, campaign_id",
    },
    Rollup {
        table: "events_1d",
        bucket: "toStartOfDay(ts)",
        dimensions: "publisher_id, demand_partner, ad_format, country, device_type, placement_id, campaign_id, creative_id, domain",
    },
];

/// Measures computed from raw events.
fn raw_measures() -> String {
    let counts: Vec<String> = EventType::ALL
        .iter()
        .map(|t| format!("countIf(event_type = '{}')", t.as_str()))
        .collect();
    format!(
        "{}, sum(revenue_micros), sum(cost_micros), uniqCombined64If(user_id_hash, user_id_hash != 0)",
        counts.join(", ")
    )
}

/// The same measures merged from a rollup's partial aggregates.
fn rollup_measures() -> String {
    let counts: Vec<String> = EventType::ALL.iter().map(|t| format!("sum({}s)", t.as_str())).collect();
    format!("{}, sum(revenue_micros), sum(cost_micros), uniqCombined64Merge(users)", counts.join(", "))
}

async fn loaded_db(test: &str) -> TestDb {
    let db = TestDb::migrated(test).await;
    // Three UTC days, so that every local day of the timezones below is whole.
    let events = synthetic_events(42, days_ago(4), 3, 200_000, 150_000);
    for chunk in events.chunks(50_000) {
        db.insert(chunk, None).await;
    }
    db
}

#[tokio::test]
async fn every_rollup_equals_the_same_aggregate_over_raw_events() {
    let db = loaded_db("rollups").await;
    for rollup in ROLLUPS {
        let Rollup { table, bucket, dimensions } = rollup;
        let expected = db
            .tsv(&format!(
                "SELECT tenant, toDateTime({bucket}, 'UTC') AS b, {dimensions}, {} FROM events \
                 GROUP BY tenant, b, {dimensions} ORDER BY ALL",
                raw_measures()
            ))
            .await;
        let actual = db
            .tsv(&format!(
                "SELECT tenant, bucket, {dimensions}, {} FROM {table} \
                 GROUP BY tenant, bucket, {dimensions} ORDER BY ALL",
                rollup_measures()
            ))
            .await;
        assert!(expected.lines().count() > 1_000, "{table}: the data set exercises many groups");
        assert!(expected == actual, "{table} differs from raw events");

        // Whole-tenant totals: ~70k users each, far past uniqCombined64's
        // exact mode, so this compares merged HLL sketches.
        let totals = |source: &str, measures: String| format!("SELECT tenant, {measures} FROM {source} GROUP BY tenant ORDER BY tenant");
        let expected = db.tsv(&totals("events", raw_measures())).await;
        let actual = db.tsv(&totals(table, rollup_measures())).await;
        assert_eq!(expected, actual, "{table} totals");
    }
}

#[tokio::test]
async fn local_days_from_hourly_buckets_equal_local_days_from_raw_events() {
    let db = loaded_db("tzdays").await;
    // (timezone, rollup that can answer its days, local days the 3 UTC days touch)
    for (timezone, rollup, days) in [
        ("Asia/Tokyo", "events_1h", 4),
        ("America/New_York", "events_1h", 4),
        ("UTC", "events_1d", 3),
        ("Asia/Kolkata", "events_1m", 4),
    ] {
        let expected = db
            .tsv(&format!(
                "SELECT tenant, toDate(ts, '{timezone}') AS day, {} FROM events GROUP BY tenant, day ORDER BY ALL",
                raw_measures()
            ))
            .await;
        let actual = db
            .tsv(&format!(
                "SELECT tenant, toDate(bucket, '{timezone}') AS day, {} FROM {rollup} GROUP BY tenant, day ORDER BY ALL",
                rollup_measures()
            ))
            .await;
        assert_eq!(expected.lines().count(), 2 * days, "{timezone}: 2 tenants x {days} local days");
        assert_eq!(expected, actual, "{timezone} days from {rollup}");
    }
}
