//! The planner's description of the rollups (`adhouse_core::schema::ROLLUPS`)
//! is what a freshly migrated database holds: the same dimension columns in
//! the sorting key, buckets of the declared width and the declared TTL.

use adhouse_core::event::{Dimension, EventType};
use adhouse_core::schema::ROLLUPS;
use time::{Duration, OffsetDateTime};

use crate::common::{TestDb, synthetic_events};

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
