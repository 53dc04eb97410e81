//! The ingester end to end on the local stack (`make dev-up`, `source
//! .dev/env`): generated logs in S3, real S3→SQS notifications, the SQS loop
//! and ClickHouse. Each test has its own database, bucket and queues, and
//! compares what ClickHouse holds with the generator's manifest, exactly.

mod common;

mod consumer;
mod delivery;
mod events_insert;
mod failures;
mod formats;
mod long_span;
mod restart;
mod retention;
mod parquet;
mod recording_queue;
