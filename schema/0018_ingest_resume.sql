-- The time limits an object's rows are judged by, fixed at its first claim
-- like `as_of`: a deploy may change them between a crash and its resume, and
-- the chunk re-sent then is dropped as a copy of its token, so it must make
-- the same rows, expired rows and rejections as the copy stored, or the
-- ledger's counts and `ingest_errors` describe other rows than `events` holds
-- (ingester/DESIGN.md). 0: claimed before this migration; the next claim pins
-- the settings then in force.
-- `superseded` ends the entry of a version S3 no longer has (overwritten or
-- deleted) when a claim finds it gone, instead of leaving it `processing`
-- for ever; its counts say what of it stays in `events`.
-- The second statement reaches the Distributed table in cluster mode; on a
-- single server it names the same table again and changes nothing.
ALTER TABLE ${db}.ingest_files${local} ${on_cluster}
    ADD COLUMN IF NOT EXISTS events_ttl_days UInt32 DEFAULT 0
    COMMENT 'schema.events_ttl_days at the first claim: older rows (as of `as_of`) are expired; 0 for objects claimed before it was recorded'
    AFTER as_of,
    ADD COLUMN IF NOT EXISTS timestamp_max_age_days UInt32 DEFAULT 0
    COMMENT 'ingest.timestamp_max_age_days at the first claim: older rows are timestamp_out_of_range; 0 for objects claimed before it was recorded'
    AFTER events_ttl_days,
    ADD COLUMN IF NOT EXISTS timestamp_max_ahead_secs UInt32 DEFAULT 0
    COMMENT 'ingest.timestamp_max_ahead_secs at the first claim: rows further ahead are timestamp_out_of_range; 0 for objects claimed before it was recorded'
    AFTER timestamp_max_age_days,
    MODIFY COLUMN status Enum8('processing' = 1, 'done' = 2, 'failed' = 3, 'superseded' = 4)
    COMMENT 'processing: a worker owns it; done: all rows committed; failed: see error; superseded: S3 no longer has this version, see error',
    COMMENT COLUMN error 'Why the object failed or was superseded, empty otherwise';

ALTER TABLE ${db}.ingest_files ${on_cluster}
    ADD COLUMN IF NOT EXISTS events_ttl_days UInt32 DEFAULT 0
    COMMENT 'schema.events_ttl_days at the first claim: older rows (as of `as_of`) are expired; 0 for objects claimed before it was recorded'
    AFTER as_of,
    ADD COLUMN IF NOT EXISTS timestamp_max_age_days UInt32 DEFAULT 0
    COMMENT 'ingest.timestamp_max_age_days at the first claim: older rows are timestamp_out_of_range; 0 for objects claimed before it was recorded'
    AFTER events_ttl_days,
    ADD COLUMN IF NOT EXISTS timestamp_max_ahead_secs UInt32 DEFAULT 0
    COMMENT 'ingest.timestamp_max_ahead_secs at the first claim: rows further ahead are timestamp_out_of_range; 0 for objects claimed before it was recorded'
    AFTER timestamp_max_age_days,
    MODIFY COLUMN status Enum8('processing' = 1, 'done' = 2, 'failed' = 3, 'superseded' = 4)
    COMMENT 'processing: a worker owns it; done: all rows committed; failed: see error; superseded: S3 no longer has this version, see error',
    COMMENT COLUMN error 'Why the object failed or was superseded, empty otherwise';
