//! The adhouse ingester: S3 log objects, announced through SQS, streamed into
//! ClickHouse exactly once. See DESIGN.md for the exactly-once argument.

pub mod chunker;
pub mod consumer;
pub mod decode;
pub mod error;
pub mod feeds;
pub mod formats;
pub mod http;
pub mod ingest;
pub mod ledger;
pub mod mapping;
pub mod objects;
pub mod queue;
pub mod metrics;
pub mod preview;
pub mod s3_event;
mod text;
pub mod store;
pub mod sync;

