//! `EventsInsert` encodes rows itself: what it stores must be exactly what
//! the client's `Insert<Event>` stores with its check against the table's
//! schema on.

use std::borrow::Cow;

use adhouse_core::event::{Event, EventType};
use adhouse_ingester::ingest::EventsInsert;

use crate::common::TestStack;

/// Rows that exercise every column's encoding: long and non-ASCII strings
/// (multi-byte lengths), extreme integers, negative money, every event type.
fn events(file: &'static str, count: u64) -> Vec<Event<'static>> {
    let day = time::OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
    (0..count)
        .map(|i| Event {
            tenant: Cow::Owned(format!("tenant-{}", i % 3)),
            ts: day + time::Duration::milliseconds(i as i64 * 7_919 + 1),
            event_type: EventType::ALL[i as usize % EventType::ALL.len()],
            publisher_id: Cow::Borrowed("pub-é"),
            placement_id: Cow::Owned("p".repeat((i % 300) as usize)),
            demand_partner: Cow::Borrowed(""),
            campaign_id: Cow::Owned(format!("c{i}")),
            creative_id: Cow::Owned("ü".repeat((i % 90) as usize)),
            ad_format: Cow::Borrowed("video"),
            country: Cow::Borrowed("DE"),
            device_type: Cow::Borrowed("ctv"),
            os: Cow::Borrowed("tvOS"),
            domain: Cow::Owned(format!("{i}.example\t\"quoted\"")),
            user_id_hash: if i % 2 == 0 { u64::MAX - i } else { i },
            revenue_micros: if i % 5 == 0 { i64::MIN + i as i64 } else { i as i64 * 1_234 },
            cost_micros: -(i as i64),
            error_code: if i % 7 == 0 { u16::MAX } else { i as u16 },
            source: Cow::Borrowed("test-source"),
            file: Cow::Borrowed(file),
            line: i + 1,
        })
        .collect()
}

#[tokio::test]
async fn events_insert_stores_exactly_what_the_validated_client_insert_stores() {
    let stack = TestStack::new("events_insert").await;
    // Several blocks, so that rows cross the sending task's block boundaries.
    let count = 6_000;
    let mut validated = stack.clickhouse.insert::<Event<'_>>("events").await.expect("validated insert starts");
    for event in events("validated", count) {
        validated.write(&event).await.unwrap();
    }
    validated.end().await.unwrap();
    let mut direct = EventsInsert::new(&stack.clickhouse, "test:direct");
    for event in events("direct", count) {
        direct.write(&event).await.unwrap();
    }
    direct.end().await.unwrap();

    let rows = |file: &str| format!("SELECT * EXCEPT (file, ingested_at) FROM events WHERE file = '{file}' ORDER BY line");
    let expected = stack.tsv(&rows("validated")).await;
    assert_eq!(expected.lines().count(), count as usize);
    assert_eq!(stack.tsv(&rows("direct")).await, expected);
}

#[tokio::test]
async fn an_events_insert_dropped_unfinished_stores_none_of_its_rows() {
    let stack = TestStack::new("events_insert_dropped").await;
    let mut dropped = EventsInsert::new(&stack.clickhouse, "test:dropped");
    // Past the first blocks, which the sending task has sent by now.
    for event in events("dropped", 6_000) {
        dropped.write(&event).await.unwrap();
    }
    drop(dropped);
    let mut ended = EventsInsert::new(&stack.clickhouse, "test:ended");
    for event in events("ended", 10) {
        ended.write(&event).await.unwrap();
    }
    ended.end().await.unwrap();
    assert_eq!(stack.count("SELECT count() FROM events WHERE file = 'dropped'").await, 0);
    assert_eq!(stack.count("SELECT count() FROM events WHERE file = 'ended'").await, 10);
}

#[tokio::test]
async fn an_events_insert_without_rows_stores_nothing_and_succeeds() {
    let stack = TestStack::new("events_insert_empty").await;
    EventsInsert::new(&stack.clickhouse, "test:empty").end().await.unwrap();
    assert_eq!(stack.count("SELECT count() FROM events").await, 0);
}
