-- The ingester's ledger. One row per S3 object version (bucket, key, etag):
-- the ingester appends a new row at every state change and ReplacingMergeTree
-- keeps the latest (highest updated_at). Read it with FINAL.
CREATE TABLE IF NOT EXISTS ${db}.ingest_files${local} ${on_cluster}
(
    bucket          LowCardinality(String)  COMMENT 'S3 bucket of the log file',
    key             String                  COMMENT 'S3 object key (URL-decoded)',
    etag            String                  COMMENT 'S3 ETag (or version id) identifying the object content',
    size_bytes      UInt64                  COMMENT 'Object size in bytes',
    source          LowCardinality(String)  COMMENT 'Configured ingest source that matched the key',
    tenant          LowCardinality(String)  COMMENT 'Tenant the rows were attributed to',
    status          Enum8('processing' = 1, 'done' = 2, 'failed' = 3)
                                            COMMENT 'processing: a worker owns it; done: all rows committed; failed: see error',
    owner           String                  COMMENT 'Worker id that owns (or last owned) the object',
    next_chunk      UInt32                  COMMENT 'First chunk not yet committed; a takeover resumes here',
    rows_ok         UInt64                  COMMENT 'Rows inserted into events so far',
    rows_bad        UInt64                  COMMENT 'Malformed lines sent to ingest_errors so far',
    attempts        UInt32                  COMMENT 'How many times processing of the object started',
    error           String                  COMMENT 'Why the object failed, empty otherwise',
    event_time      DateTime64(3, 'UTC')    COMMENT 'S3 event time of the object (for freshness)',
    started_at      DateTime64(3, 'UTC')    COMMENT 'When the current attempt started',
    updated_at      DateTime64(3, 'UTC')    COMMENT 'When this row was written; the ReplacingMergeTree version'
)
-- distributed by: cityHash64(bucket, key)
ENGINE = ${replicated}ReplacingMergeTree(updated_at)
ORDER BY (bucket, key, etag)
COMMENT 'Ingester ledger: state of every S3 object processed (read with FINAL)';

CREATE TABLE IF NOT EXISTS ${db}.ingest_errors${local} ${on_cluster}
(
    bucket          LowCardinality(String)  COMMENT 'S3 bucket of the log file',
    key             String                  COMMENT 'S3 object key',
    etag            String                  COMMENT 'S3 ETag of the object',
    line            UInt64                  COMMENT '1-based line (or row) number of the bad input',
    reason          LowCardinality(String)  COMMENT 'Stable error code: bad_json, column_count, bad_timestamp, unknown_enum, missing_field, ...',
    detail          String                  COMMENT 'Human-readable explanation',
    excerpt         String                  COMMENT 'The offending input, at most 1 KiB',
    at              DateTime64(3, 'UTC') DEFAULT now64(3)
                                            COMMENT 'When the error was recorded'
)
-- distributed by: cityHash64(bucket, key)
ENGINE = ${replicated}MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (bucket, key, etag, line)
TTL toDateTime(at) + toIntervalDay(${events_ttl_days})
SETTINGS ${dedup_window}
COMMENT 'Malformed input lines rejected by the ingester, with their position';
