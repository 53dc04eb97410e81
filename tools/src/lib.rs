//! Developer tools of adhouse, kept out of the services' crates: the
//! sample-log generator (`adhouse-gen`, also used by the ingester's pipeline
//! tests and `make demo`) and the benchmarks (`bench-ingest`, `bench-api`).
//! Errors are `anyhow`: every caller is a command line or a test.

pub mod samples;
