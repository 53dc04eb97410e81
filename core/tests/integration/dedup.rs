use crate::common::{TestDb, days_ago, synthetic_events};

const ROLLUPS: [&str; 3] = ["events_1m", "events_1h", "events_1d"];

#[tokio::test]
async fn a_block_inserted_twice_with_the_same_token_is_stored_once_in_events_and_rollups() {
    let db = TestDb::migrated("dedup").await;
    let block = synthetic_events(7, days_ago(2), 1, 5_000, 1_000);

    db.insert(&block, Some("s3://test/a.jsonl@etag1#0")).await;
    db.insert(&block, Some("s3://test/a.jsonl@etag1#0")).await;
    assert_eq!(db.count("SELECT count() FROM events").await, 5_000);
    for rollup in ROLLUPS {
        let sql = format!("SELECT sum(requests + impressions + clicks + video_starts + video_first_quartiles + video_midpoints + video_third_quartiles + video_completes + errors) FROM {rollup}");
        assert_eq!(db.count(&sql).await, 5_000, "{rollup}");
    }

    // The same rows under another token are another chunk and count again.
    db.insert(&block, Some("s3://test/a.jsonl@etag2#0")).await;
    assert_eq!(db.count("SELECT count() FROM events").await, 10_000);
}
