//! The ingester's pure parts, without services: chunking, conversions, key
//! patterns, S3 event shapes and record parsers.

mod chunker;
mod convert;
mod decode;
mod events;
mod parquet;
mod records;
