//! At-least-once delivery made exact: duplicates, races, crashes, odd keys.

use std::time::{Duration, Instant};

use adhouse_ingester::ingest::Outcome;
use adhouse_ingester::s3_event::ObjectCreated;
use tokio_util::sync::CancellationToken;

use crate::common::{TestStack, killed_after_inserting_chunk, one_object, one_object_with_bad_lines};

#[tokio::test]
async fn a_message_delivered_twice_is_counted_once() {
    let stack = TestStack::new("duplicate").await;
    let (object, rows) = one_object(&stack, "3000").await;
    // S3 delivered the event once; deliver it a second time, as SQS may.
    let duplicate = format!(
        r#"{{"Records":[{{"eventName":"ObjectCreated:Put","eventTime":"2026-01-01T00:00:00.000Z","s3":{{"bucket":{{"name":"{}"}},"object":{{"key":"{}","size":{},"eTag":"{}"}}}}}}]}}"#,
        object.bucket, object.key, object.size, object.etag
    );
    stack.sqs.send_message().queue_url(&stack.queue_url).message_body(duplicate).send().await.unwrap();

    let metrics = stack.run_worker_until(Duration::from_secs(60), || async { stack.messages_in(&stack.queue_url).await == 0 }).await;
    assert_eq!(stack.count("SELECT count() FROM events").await, rows);
    assert_eq!(stack.count("SELECT sum(impressions + requests + clicks + errors + video_starts + video_first_quartiles + video_midpoints + video_third_quartiles + video_completes) FROM events_1m").await, rows);
    let text = metrics.encode();
    assert!(text.contains(r#"adhouse_ingester_objects_total{outcome="already_done"} 1"#), "{text}");
    assert!(text.contains(r#"adhouse_ingester_objects_total{outcome="done"} 1"#), "{text}");
}

#[tokio::test]
async fn two_workers_racing_on_one_object_store_its_rows_once() {
    let mut stack = TestStack::new("race").await;
    // No back-off between live workers: both really process every chunk.
    stack.settings.ingest.takeover_after_secs = 0;
    let (object, rows) = one_object(&stack, "6000").await;
    let (a, b) = (stack.ingestor("worker-a"), stack.ingestor("worker-b"));
    let cancel = CancellationToken::new();
    let (first, second) = tokio::join!(a.ingest(&object, &cancel), b.ingest(&object, &cancel));
    for outcome in [first.unwrap(), second.unwrap()] {
        assert!(matches!(outcome, Outcome::Done { .. } | Outcome::AlreadyDone), "{outcome:?}");
    }
    assert_eq!(stack.count("SELECT count() FROM events").await, rows);
    assert_eq!(stack.count("SELECT sum(requests + impressions + clicks + errors + video_starts + video_first_quartiles + video_midpoints + video_third_quartiles + video_completes) FROM events_1d").await, rows);
}

#[tokio::test]
async fn a_worker_killed_mid_object_is_taken_over_and_resumed_without_double_counting() {
    let stack = TestStack::new("kill").await;
    let (object, rows) = one_object(&stack, "40000").await;
    let stack = kill_mid_object(stack, &object, rows).await;

    // A live owner is respected ...
    let survivor = stack.ingestor("survivor");
    assert_eq!(survivor.ingest(&object, &CancellationToken::new()).await.unwrap(), Outcome::OwnedElsewhere);
    // ... a stale one is taken over, from the next chunk on.
    let mut stack = stack;
    stack.settings.ingest.takeover_after_secs = 0;
    let outcome = stack.ingestor("survivor").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    assert_eq!(stack.count("SELECT count() FROM events").await, rows);
    assert_eq!(stack.count("SELECT sum(requests + impressions + clicks + errors + video_starts + video_first_quartiles + video_midpoints + video_third_quartiles + video_completes) FROM events_1h").await, rows);
    let ledger = stack.tsv("SELECT status, rows_ok, attempts FROM ingest_files FINAL").await;
    assert_eq!(ledger, format!("done\t{rows}\t2\n"));
}

/// A rolling deploy that changes `ingest.chunk_lines` while an object is
/// half done: the survivor resumes on the boundaries the object was first
/// claimed with, so no row or error row is lost or doubled.
#[tokio::test]
async fn a_killed_object_resumed_with_a_smaller_chunk_size_is_exact() {
    resumed_with_chunk_lines(200).await;
}

#[tokio::test]
async fn a_killed_object_resumed_with_a_larger_chunk_size_is_exact() {
    resumed_with_chunk_lines(5_000).await;
}

async fn resumed_with_chunk_lines(chunk_lines: u64) {
    let stack = TestStack::new(&format!("rechunk-{chunk_lines}")).await;
    let (object, rows, bad) = one_object_with_bad_lines(&stack, "40000", "97").await;
    let mut stack = kill_mid_object(stack, &object, rows).await;
    assert_ne!(stack.settings.ingest.chunk_lines, chunk_lines);
    stack.settings.ingest.chunk_lines = chunk_lines;
    stack.settings.ingest.takeover_after_secs = 0;
    let outcome = stack.ingestor("survivor").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, Outcome::Done { rows_ok: rows, rows_bad: bad, rows_expired: 0 });
    assert_eq!(stack.tsv("SELECT count(), uniqExact(line) FROM events").await, format!("{rows}\t{rows}\n"));
    assert_eq!(stack.tsv("SELECT count(), uniqExact(line) FROM ingest_errors").await, format!("{bad}\t{bad}\n"));
    let measures = "requests + impressions + clicks + errors + video_starts + video_first_quartiles + video_midpoints + video_third_quartiles + video_completes";
    assert_eq!(stack.count(&format!("SELECT sum({measures}) FROM events_1m")).await, rows);
}

/// A worker inserts a chunk and dies before its ledger update; a deploy
/// then renames the source and bumps its `mapping_version`. The resume
/// re-sends that chunk under the first claim's token, so ClickHouse drops
/// the copy: had the token followed the settings, the chunk (rows and error
/// rows) would be stored twice.
#[tokio::test]
async fn a_chunk_sent_before_a_mapping_change_is_stored_once_by_the_resume() {
    let mut stack = TestStack::new("remap-resume").await;
    let (object, rows, bad) = one_object_with_bad_lines(&stack, "1200", "7").await;
    assert_eq!(stack.settings.ingest.chunk_lines, 500, "three chunks");
    let outcome = stack.ingestor("w1").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, Outcome::Done { rows_ok: rows, rows_bad: bad, rows_expired: 0 });

    killed_after_inserting_chunk(&stack, &object, 2).await;

    let source = stack.settings.ingest.sources.iter_mut().find(|s| s.name == "vast-jsonl").unwrap();
    source.name = "vast-jsonl-v2".into();
    source.mapping_version += 1;
    let outcome = stack.ingestor("w2").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, Outcome::Done { rows_ok: rows, rows_bad: bad, rows_expired: 0 });
    assert_eq!(stack.tsv("SELECT count(), uniqExact(line) FROM events").await, format!("{rows}\t{rows}\n"));
    assert_eq!(stack.tsv("SELECT count(), uniqExact(line) FROM ingest_errors").await, format!("{bad}\t{bad}\n"));
}

/// A worker dies half-way through an object, which is then overwritten. The
/// resume finds that version gone: its ledger entry ends `superseded`,
/// released, with what it counted, where an operator lists objects, instead
/// of `processing` for ever; a late message of it ingests nothing, and the
/// new version is an object of its own.
#[tokio::test]
async fn an_object_overwritten_after_its_worker_died_ends_superseded_in_the_ledger() {
    let stack = TestStack::new("superseded").await;
    let (old, rows) = one_object(&stack, "1200").await;
    let done = stack.ingestor("w1").ingest(&old, &CancellationToken::new()).await.unwrap();
    assert_eq!(done, Outcome::Done { rows_ok: rows, rows_bad: 0, rows_expired: 0 });
    killed_after_inserting_chunk(&stack, &old, 2).await;
    // The new version: the old one's gzip member twice.
    let body = stack.s3.get_object().bucket(&stack.bucket).key(&old.key).send().await.unwrap().body.collect().await.unwrap().to_vec();
    let new = stack.put(&old.key, [body.as_slice(), &body].concat()).await;

    let listing = format!("SELECT etag = '{}', status, owner, rows_ok, error FROM ingest_files FINAL ORDER BY updated_at", new.etag);
    let superseded = format!(
        "0\tsuperseded\t\t{}\ts3://{}/{} no longer has ETag {}: it was overwritten or deleted after 2 of its chunks were committed\n",
        stack.count("SELECT count() FROM events WHERE line <= 1000").await,
        old.bucket,
        old.key,
        old.etag
    );
    for late in ["w2", "w3"] {
        assert_eq!(stack.ingestor(late).ingest(&old, &CancellationToken::new()).await.unwrap(), Outcome::Superseded);
        assert_eq!(stack.tsv(&listing).await, superseded);
    }
    assert_eq!(stack.count("SELECT count() FROM events").await, rows, "nothing of the old version ingested again");

    let done = stack.ingestor("w4").ingest(&new, &CancellationToken::new()).await.unwrap();
    assert_eq!(done, Outcome::Done { rows_ok: 2 * rows, rows_bad: 0, rows_expired: 0 });
    assert_eq!(stack.tsv(&listing).await, format!("{superseded}1\tdone\tw4\t{}\t\n", 2 * rows));
}

/// Starts `replay` of `object` in a process of its own and SIGKILLs it after
/// five committed chunks, before the end.
async fn kill_mid_object(stack: TestStack, object: &ObjectCreated, rows: u64) -> TestStack {
    let location = format!("s3://{}/{}", object.bucket, object.key);
    let mut victim = stack.ingester_command().args(["replay", &location]).spawn().unwrap();
    let started = Instant::now();
    let progress = "SELECT toUInt64(max(next_chunk)) FROM ingest_files";
    while stack.count(progress).await < 5 {
        assert!(started.elapsed() < Duration::from_secs(60), "the first worker made no progress");
        assert!(victim.try_wait().unwrap().is_none(), "the first worker finished before it could be killed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    victim.kill().unwrap(); // SIGKILL: no chance to release the object
    victim.wait().unwrap();
    let committed = stack.count("SELECT count() FROM events").await;
    assert!(committed > 0 && committed < rows, "killed mid-object ({committed} of {rows} rows)");
    stack
}

#[tokio::test]
async fn url_encoded_keys_and_the_s3_test_event_are_handled() {
    let stack = TestStack::new("keys").await;
    let (object, rows) = one_object(&stack, "100").await;
    // A key with a space, a plus and unicode: S3 form-encodes it in the event.
    let odd_key = "logs/acme/vast/2026/odd name+plus é.jsonl.gz";
    let body = stack.s3.get_object().bucket(&stack.bucket).key(&object.key).send().await.unwrap().body.collect().await.unwrap();
    stack.s3.put_object().bucket(&stack.bucket).key(odd_key).body(body.into_bytes().into()).send().await.unwrap();

    stack.run_worker_until(Duration::from_secs(60), || async { stack.messages_in(&stack.queue_url).await == 0 }).await;
    let files = stack.tsv("SELECT key FROM ingest_files FINAL WHERE status = 'done' ORDER BY key").await;
    assert_eq!(files, format!("{}\n{odd_key}\n", object.key));
    assert_eq!(stack.count("SELECT count() FROM events").await, 2 * rows);
}
