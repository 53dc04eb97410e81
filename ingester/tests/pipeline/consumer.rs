//! The consumer's failure handling, seen from the queue (through
//! [`RecordingQueue`]): a failure that passes is retried in place without
//! spending the message's receives, and a lost heartbeat releases the
//! object with its progress saved. (Poison reaching the dead-letter queue
//! promptly: `failures.rs`.)

use std::sync::Arc;
use std::time::Duration;

use adhouse_ingester::consumer::Consumer;
use adhouse_ingester::objects::Handled;
use adhouse_ingester::s3_event;
use adhouse_ingester::ingest::Outcome;
use adhouse_ingester::metrics::Metrics;
use adhouse_ingester::queue::MemoryQueue;
use tokio_util::sync::CancellationToken;

use crate::common::{TestStack, one_object};
use crate::recording_queue::{Call, RecordingQueue};
use crate::restart::OwnServer;

/// How many objects ended with `outcome`, from the metrics' text.
fn objects(metrics: &Metrics, outcome: &str) -> u64 {
    let prefix = format!(r#"adhouse_ingester_objects_total{{outcome="{outcome}"}} "#);
    metrics.encode().lines().find_map(|line| line.strip_prefix(&prefix)?.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn clickhouse_down_for_a_while_is_retried_in_place_and_the_object_completes_on_its_first_receive() {
    let mut server = OwnServer::fresh("transient").await;
    let mut stack = TestStack::with_clickhouse("transient", &server.url()).await;
    stack.settings.ingest.heartbeat_secs = 5;
    let (_, rows) = one_object(&stack, "3000").await;
    server.kill();

    let queue = Arc::new(RecordingQueue::new(stack.sqs_queue()));
    let metrics = Arc::new(Metrics::new());
    let ingestor = Arc::new(stack.ingestor_with("w1", metrics.clone()));
    let consumer = Consumer::new(queue.clone(), Arc::new(stack.object_handler(ingestor)), metrics.clone(), stack.consumer_settings());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    // The object's first attempts fail (no ClickHouse); then it comes back.
    stack.wait_until(Duration::from_secs(60), || async { objects(&metrics, "error") >= 2 }).await;
    server.restart().await;
    stack.wait_until(Duration::from_secs(120), || async { objects(&metrics, "done") == 1 }).await;
    stack.wait_until(Duration::from_secs(60), || async { stack.messages_in(&stack.queue_url).await == 0 }).await;
    shutdown.cancel();
    running.await.unwrap().unwrap();

    // Every message was received once and deleted once: the retries spent
    // no receive (and so nothing of the dead-letter threshold).
    let calls = queue.calls();
    let received: Vec<&Call> = calls.iter().filter(|call| matches!(call, Call::Received { .. })).collect();
    assert!(received.iter().all(|call| matches!(call, Call::Received { receives: 1, .. })), "{calls:?}");
    let deleted = calls.iter().filter(|call| matches!(call, Call::Deleted { .. })).count();
    assert_eq!(deleted, received.len(), "{calls:?}");
    assert!(!calls.iter().any(|call| matches!(call, Call::Released { .. })), "{calls:?}");
    assert_eq!(stack.count("SELECT count() FROM events").await, rows);
    let ledger = stack.tsv("SELECT status, rows_ok, attempts FROM ingest_files FINAL").await;
    assert_eq!(ledger, format!("done\t{rows}\t1\n"), "the failed attempts never reached the ledger");
}

/// The heartbeat's first extension fails (the receipt is lost): work on the
/// message stops at the next chunk boundary, whichever that is, and what was
/// committed is exactly what the ledger says; another worker finishes it.
#[tokio::test]
async fn a_failed_heartbeat_releases_the_object_with_its_progress_saved() {
    let stack = TestStack::new("heartbeat").await;
    let (object, rows) = one_object(&stack, "40000").await;
    let queue = Arc::new(RecordingQueue::failing_extensions(MemoryQueue::of_bodies([s3_event::object_created_event(&object)])));
    let metrics = Arc::new(Metrics::new());
    let ingestor = Arc::new(stack.ingestor_with("w1", metrics.clone()));
    let mut settings = stack.consumer_settings();
    settings.heartbeat = Duration::from_millis(1);
    let (report, mut handled) = tokio::sync::mpsc::unbounded_channel();
    let handler = stack.object_handler(ingestor).reporting_to(report);
    let consumer = Consumer::new(queue.clone(), Arc::new(handler), metrics, settings);
    // A finite queue: the consumer ends once the message is settled.
    consumer.run(CancellationToken::new()).await.unwrap();

    let Handled { result, .. } = handled.recv().await.unwrap();
    assert_eq!(result.unwrap(), Outcome::Released);
    let message = "0".to_owned();
    let calls = queue.calls();
    assert_eq!(calls[0], Call::Received { message: message.clone(), receives: 1 });
    assert_eq!(calls[1], Call::Extended { message: message.clone() });
    assert_eq!(calls.last(), Some(&Call::Released { message, visible_in: Duration::ZERO }), "{calls:?}");
    assert!(!calls.iter().any(|call| matches!(call, Call::Deleted { .. })), "{calls:?}");

    let ledger = stack.tsv("SELECT status, owner, rows_ok, toUInt64(next_chunk) * 500 FROM ingest_files FINAL").await;
    let committed = stack.count("SELECT count() FROM events").await;
    assert!(committed < rows, "stopped before the end ({committed} of {rows})");
    assert_eq!(ledger, format!("processing\t\t{committed}\t{committed}\n"), "released, and its progress is what was stored");

    let outcome = stack.ingestor("w2").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    assert_eq!(stack.tsv("SELECT count(), uniqExact(line) FROM events").await, format!("{rows}\t{rows}\n"));
}
