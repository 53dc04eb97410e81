-- Rows outside the raw retention are counted, not stored (ingester/DESIGN.md,
-- "Rows outside the retention"): `rows_expired` counts them per object, and
-- `as_of` is the moment an object's rows are judged against (retention, and
-- how far back or ahead a timestamp may plausibly be), fixed at its first
-- claim so that every attempt makes the same rows and error rows. Objects
-- claimed before this migration are judged against their S3 event time.
-- The second pair reaches the Distributed table in cluster mode; on a single
-- server it names the same table again and changes nothing.
ALTER TABLE ${db}.ingest_files${local} ${on_cluster}
    ADD COLUMN IF NOT EXISTS rows_expired UInt64 DEFAULT 0
    COMMENT 'Rows older than schema.events_ttl_days as of `as_of`: not stored in events or any rollup'
    AFTER rows_bad,
    ADD COLUMN IF NOT EXISTS as_of DateTime64(3, 'UTC') DEFAULT event_time
    COMMENT 'The moment rows are judged against (retention, timestamp_out_of_range): the first claim'
    AFTER event_time;

ALTER TABLE ${db}.ingest_files ${on_cluster}
    ADD COLUMN IF NOT EXISTS rows_expired UInt64 DEFAULT 0
    COMMENT 'Rows older than schema.events_ttl_days as of `as_of`: not stored in events or any rollup'
    AFTER rows_bad,
    ADD COLUMN IF NOT EXISTS as_of DateTime64(3, 'UTC') DEFAULT event_time
    COMMENT 'The moment rows are judged against (retention, timestamp_out_of_range): the first claim'
    AFTER event_time;
