//! One object whose rows span 400 days (a backfill of last year's logs): a
//! real server rejects an insert block over 100 partitions (code 252), and
//! `events` has a partition per day. The ingester cuts such chunks into
//! blocks of at most 90 days, each de-duplicated on its own.

use tokio_util::sync::CancellationToken;

use adhouse_ingester::ingest::Outcome;

use crate::common::{TestStack, local_clickhouse};

const DAYS: i64 = 400;

/// Three impressions a day for `DAYS` days up to yesterday, in a shuffled
/// order of days so that every chunk holds many days; revenue is the day
/// number in micros, so that sums are exact and say which days arrived.
fn long_log() -> (String, u64, i64) {
    let today = time::OffsetDateTime::now_utc().date();
    let (mut text, mut rows, mut revenue) = (String::new(), 0, 0);
    for i in 0..DAYS * 3 {
        let day_back = 1 + (i * 137) % DAYS;
        let day = today - time::Duration::days(day_back);
        text.push_str(&format!(
            r#"{{"ts":"{day}T{:02}:00:00Z","ev":"imp","pub":"pub-1","plc":"plc-1","dp":"dp-1","fmt":"banner","price":"0.{day_back:06}"}}"#,
            i % 24
        ));
        text.push('\n');
        rows += 1;
        revenue += day_back;
    }
    (text, rows, revenue)
}

#[tokio::test]
async fn an_object_spanning_400_days_is_stored_exactly_and_a_resent_object_adds_nothing() {
    // Retention long enough to keep every row: this test is about partitions.
    let stack = TestStack::configured("long-span", &local_clickhouse(), |settings| {
        settings.schema.events_ttl_days = 1000;
        settings.schema.minute_ttl_days = 1000;
    })
    .await;
    let (text, rows, revenue) = long_log();
    let object = stack.put("logs/acme/vast/backfill/last-year.jsonl", text.into_bytes()).await;

    let outcome = stack.ingestor("w1").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, Outcome::Done { rows_ok: rows, rows_bad: 0, rows_expired: 0 });
    let expected = format!("{rows}\t{revenue}\t{DAYS}\n");
    assert_totals(&stack, &expected).await;

    // A worker that died after its inserts, before any ledger update: the
    // next one re-sends every chunk and every block, all dropped as copies.
    stack.clickhouse.query("ALTER TABLE ingest_files DELETE WHERE 1").with_setting("mutations_sync", "1").execute().await.unwrap();
    let outcome = stack.ingestor("w2").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, Outcome::Done { rows_ok: rows, rows_bad: 0, rows_expired: 0 });
    assert_totals(&stack, &expected).await;
}

/// Rows, revenue and distinct days in `events` and in every rollup.
async fn assert_totals(stack: &TestStack, expected: &str) {
    for table in ["events", "events_1m", "events_1h", "events_1d"] {
        let (rows, day) = if table == "events" { ("count()", "ts") } else { ("sum(impressions)", "bucket") };
        let sql = format!("SELECT {rows}, sum(revenue_micros), uniqExact(toDate({day})) FROM {table}");
        assert_eq!(stack.tsv(&sql).await, expected, "{table}");
    }
}
