//! The adhouse ingester: S3 log objects, announced through SQS, streamed into
//! ClickHouse exactly once. See DESIGN.md for the exactly-once argument.

pub mod chunker;
pub mod decode;
pub mod formats;
pub mod mapping;
pub mod r#gen;
