//! Input that cannot be ingested: a clear reason where an operator looks,
//! nothing counted twice, and the dead-letter queue for what never succeeds.

use std::sync::Arc;
use std::time::Duration;

use adhouse_ingester::ingest::Outcome;
use adhouse_ingester::s3_event::ObjectCreated;
use tokio_util::sync::CancellationToken;

use crate::common::{TestStack, yesterday};
use crate::recording_queue::{Call, RecordingQueue};

/// A generated gzip JSONL file of `rows` lines, cut to half its size and
/// uploaded under `key`.
async fn truncated_object(stack: &TestStack, rows: &str, key: &str) -> ObjectCreated {
    let manifest = stack.upload_generated(&[
        "--start", &yesterday(), "--formats", "jsonl", "--tenants", "acme", "--files", "1", "--rows-per-file", rows,
    ]).await;
    let bytes = std::fs::read(stack.dir.join(&manifest.files[0].key)).unwrap();
    let half = bytes[..bytes.len() / 2].to_vec();
    let put = stack.s3.put_object().bucket(&stack.bucket).key(key).body(half.into()).send().await.unwrap();
    ObjectCreated {
        bucket: stack.bucket.clone(),
        key: key.to_owned(),
        etag: put.e_tag().unwrap().trim_matches('"').to_owned(),
        size: (bytes.len() / 2) as u64,
        event_time: time::OffsetDateTime::now_utc(),
    }
}

#[tokio::test]
async fn a_truncated_gzip_fails_with_a_clear_reason_and_retries_count_nothing_twice() {
    let stack = TestStack::new("truncated").await;
    let object = truncated_object(&stack, "20000", "logs/acme/vast/2026/cut.jsonl.gz").await;
    let ingestor = stack.ingestor("w1");
    let select = format!("SELECT count() FROM events WHERE file = 's3://{}/{}'", object.bucket, object.key);

    let outcome = ingestor.ingest(&object, &CancellationToken::new()).await.unwrap();
    let Outcome::Failed(reason) = outcome else { panic!("{outcome:?}") };
    assert!(reason.contains("reading the object failed at line"), "{reason}");
    let committed = stack.count(&select).await;
    assert!(committed > 0 && committed % 500 == 0, "whole chunks before the damage are kept: {committed}");
    let ledger = stack.tsv(&format!("SELECT status, error != '' FROM ingest_files FINAL WHERE key = '{}'", object.key)).await;
    assert_eq!(ledger, "failed\t1\n");

    // A retry fails the same way and stores nothing again.
    let outcome = ingestor.ingest(&object, &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    assert_eq!(stack.count(&select).await, committed);
    assert_eq!(stack.count(&format!("SELECT toUInt64(attempts) FROM ingest_files FINAL WHERE key = '{}'", object.key)).await, 2);
}

#[tokio::test]
async fn poison_messages_and_objects_reach_the_dead_letter_queue_in_five_receives_without_visibility_waits() {
    let stack = TestStack::new("poison").await;
    // A 30 s visibility timeout: had the consumer waited for it between
    // receives, the dead-letter queue would be two minutes away.
    assert_eq!(stack.settings.ingest.visibility_timeout_secs, 30);
    truncated_object(&stack, "2000", "logs/acme/vast/2026/poison.jsonl.gz").await;
    stack.sqs.send_message().queue_url(&stack.queue_url).message_body("this is not an S3 event").send().await.unwrap();

    // Besides the two, the bucket's s3:TestEvent and the events of the
    // generated file and its manifest arrive; those are handled and deleted.
    let queue = Arc::new(RecordingQueue::new(stack.sqs_queue()));
    stack.run_consumer_until(queue.clone(), Duration::from_secs(90), || async { stack.messages_in(&stack.dlq_url).await == 2 }).await;
    assert_eq!(stack.messages_in(&stack.queue_url).await, 0);
    let ledger = stack.tsv("SELECT status, attempts FROM ingest_files FINAL WHERE key LIKE '%poison%'").await;
    assert_eq!(ledger, "failed\t5\n", "each receive was one attempt");

    // Per message: the good ones deleted at their first receive; each poison
    // one received exactly maxReceiveCount times, and given back every time
    // at once, never left to its visibility timeout.
    let calls = queue.calls();
    let mut messages: Vec<&str> = calls.iter().map(message_of).collect();
    messages.sort_unstable();
    messages.dedup();
    let (mut good, mut poison) = (0, 0);
    for message in messages {
        let of_it: Vec<&Call> = calls.iter().filter(|call| message_of(call) == message).collect();
        let receives: Vec<u32> =
            of_it.iter().filter_map(|call| if let Call::Received { receives, .. } = call { Some(*receives) } else { None }).collect();
        let releases: Vec<Duration> =
            of_it.iter().filter_map(|call| if let Call::Released { visible_in, .. } = call { Some(*visible_in) } else { None }).collect();
        if of_it.iter().any(|call| matches!(call, Call::Deleted { .. })) {
            good += 1;
            assert_eq!((receives, releases), (vec![1], vec![]), "{message}");
        } else {
            poison += 1;
            assert_eq!(receives, [1, 2, 3, 4, 5], "{message}");
            assert_eq!(releases, [Duration::ZERO; 5], "{message}");
        }
    }
    assert_eq!((good, poison), (3, 2));
}

fn message_of(call: &Call) -> &str {
    match call {
        Call::Received { message, .. } | Call::Extended { message } | Call::Deleted { message } | Call::Released { message, .. } => message,
    }
}

/// Gzip of `text` as one member.
fn gzip(text: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn an_over_long_line_across_gzip_members_is_one_bad_row_and_the_rest_is_ingested() {
    let stack = TestStack::new("long-line").await;
    let line = |i: u32| format!(r#"{{"ts":"{}T10:00:00Z","ev":"imp","pub":"p","plc":"l","dp":"d","fmt":"banner","price":"0.{i:06}"}}"#, yesterday()) + "\n";
    let good: Vec<String> = (1..=20).map(line).collect();
    // Line 11 is 2 MiB, and the object's second gzip member starts inside it.
    let long = format!(r#"{{"ts":"{}T10:00:00Z","junk":"{}"}}"#, yesterday(), "y".repeat(2 << 20));
    let (head, tail) = long.split_at(long.len() / 2);
    let first = [good[..10].concat().as_str(), head].concat();
    let second = [tail, "\n", good[10..].concat().as_str()].concat();
    let body = [gzip(first.as_bytes()), gzip(second.as_bytes())].concat();
    let object = stack.put("logs/acme/vast/2026/long-line.jsonl.gz", body).await;

    let outcome = stack.ingestor("w1").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, Outcome::Done { rows_ok: 20, rows_bad: 1, rows_expired: 0 });
    assert_eq!(stack.tsv("SELECT count(), sum(revenue_micros), min(line), max(line) FROM events").await, "20\t210\t1\t21\n");
    let errors = stack.tsv("SELECT line, reason, length(excerpt), startsWith(excerpt, '{\"ts\"') FROM ingest_errors").await;
    assert_eq!(errors, "11\tline_too_long\t1024\t1\n");
}
