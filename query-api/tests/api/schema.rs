//! The planner's description of the rollups (`adhouse_core::schema::ROLLUPS`)
//! is what a freshly migrated database holds: the same dimension columns in
//! the sorting key, buckets of the declared width and the declared TTL; and
//! the planner trusts a table's TTL over a setting raised after it.

use adhouse_core::event::{Dimension, EventType};
use adhouse_core::schema::ROLLUPS;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::common::{TestDb, synthetic_events};
use crate::support::Api;

#[tokio::test]
async fn the_rollup_declaration_matches_the_migrated_tables() {
    let db = TestDb::migrated("rollup_declaration").await;
    let database = &db.settings.clickhouse.database;
    // One event 59 min 59 s into a UTC day: each rollup's bucket shows its width.
    let mut event = synthetic_events(1, OffsetDateTime::now_utc(), 1, 1, 1).remove(0);
    let midnight = OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
    event.ts = midnight + Duration::seconds(3_599);
    event.event_type = EventType::Impression;
    db.insert(&[event.clone()], None).await;

    for rollup in ROLLUPS {
        let columns = db
            .tsv(&format!("SELECT name FROM system.columns WHERE database = '{database}' AND table = '{}' ORDER BY position", rollup.table))
            .await;
        let dimension_columns: Vec<&str> = columns.lines().filter(|name| Dimension::by_name(name).is_some()).collect();
        let declared: Vec<&str> = rollup.dimensions.iter().map(|dimension| dimension.name()).collect();
        let mut sorted_columns = dimension_columns.clone();
        let mut sorted_declared = declared.clone();
        sorted_columns.sort_unstable();
        sorted_declared.sort_unstable();
        assert_eq!(sorted_columns, sorted_declared, "{}: dimension columns", rollup.table);

        let sorting_key = db
            .tsv(&format!("SELECT sorting_key FROM system.tables WHERE database = '{database}' AND name = '{}'", rollup.table))
            .await;
        let mut key: Vec<&str> = sorting_key.trim().split(", ").filter(|name| Dimension::by_name(name).is_some()).collect();
        key.sort_unstable();
        assert_eq!(key, sorted_declared, "{}: every dimension is in the sorting key, so rows never merge across values", rollup.table);

        let create = db
            .tsv(&format!("SELECT create_table_query FROM system.tables WHERE database = '{database}' AND name = '{}'", rollup.table))
            .await;
        match rollup.retention.days(&db.settings.schema) {
            Some(days) => assert!(create.contains(&format!("TTL bucket + toIntervalDay({days})")), "{}: TTL of {days} days in {create}", rollup.table),
            None => assert!(!create.contains("TTL"), "{}: kept forever, yet {create}", rollup.table),
        }

        let bucket = db.count(&format!("SELECT toUInt64(toUnixTimestamp(min(bucket))) FROM {}", rollup.table)).await;
        let ts = (midnight + Duration::seconds(3_599)).unix_timestamp();
        assert_eq!(bucket as i64, ts - ts.rem_euclid(rollup.bucket_secs), "{}: buckets of {} s", rollup.table, rollup.bucket_secs);
    }
}

/// `schema.minute_ttl_days` raised from 30 to 60 after the tables exist:
/// `events_1m` keeps its 30-day TTL (migrations render a TTL once), so a
/// Kolkata day 40 days back, by country, is not read from it (the audit
/// found zeros there) but from a table that still holds it.
#[actix_web::test]
async fn a_raised_ttl_setting_does_not_make_the_planner_read_days_the_table_dropped() {
    let api = Api::empty("ttl_drift").await;
    api.insert_events(41, -41, 2, 20_000).await;
    api.db.client.query("OPTIMIZE TABLE events_1m FINAL").execute().await.expect("TTL applied");
    let mut settings = api.db.settings.clone();
    settings.schema.minute_ttl_days = 60;
    let api = Api { state: actix_web::web::Data::new(adhouse_api::AppState::new(&settings).await.expect("state")), ..api };
    the_day_40_days_back_is_answered_from_raw_events(&api).await;
}

/// In cluster mode a rollup's TTL is on each shard's `<table>_local`; the
/// Distributed table the planner queries has none. On one server: the day
/// 40 days back dropped from `events_1m`, which then moves to
/// `events_1m_local` with a Merge table in its place (no TTL of its own, as
/// a Distributed table), and the minute setting raised to 60 days.
#[actix_web::test]
async fn in_cluster_mode_the_planner_reads_the_ttl_of_the_shards_storage_tables() {
    let api = Api::empty("ttl_cluster").await;
    api.insert_events(41, -41, 2, 20_000).await;
    for statement in [
        "OPTIMIZE TABLE events_1m FINAL",
        "RENAME TABLE events_1m TO events_1m_local",
        "CREATE TABLE events_1m AS events_1m_local ENGINE = Merge(currentDatabase(), '^events_1m_local$')",
    ] {
        api.db.client.query(statement).execute().await.expect(statement);
    }
    let mut settings = api.db.settings.clone();
    settings.schema.cluster = "ads".into();
    settings.schema.minute_ttl_days = 60;
    let api = Api { state: actix_web::web::Data::new(adhouse_api::AppState::new(&settings).await.expect("state")), ..api };
    the_day_40_days_back_is_answered_from_raw_events(&api).await;
}

/// By country in a half-hour zone only `events_1m` and raw events answer;
/// `events_1m` dropped the day, so raw events must.
async fn the_day_40_days_back_is_answered_from_raw_events(api: &Api) {
    let body = |use_rollups: bool| {
        json!({
            "metrics": ["impressions"],
            "dimensions": ["country"],
            "time_range": { "from": api.date(-40), "to": api.date(-40) },
            "timezone": "Asia/Kolkata",
            "use_rollups": use_rollups,
        })
    };
    let raw = api.query(&api.acme, &body(false)).await;
    let planned = api.query(&api.acme, &body(true)).await;
    assert_ne!(raw.totals["impressions"].get(), "0", "raw events hold the day");
    assert_eq!(
        (planned.meta["table"].as_str(), planned.totals["impressions"].get()),
        (Some("events"), raw.totals["impressions"].get()),
        "the minute rollup dropped the day: raw events answer it"
    );
}
