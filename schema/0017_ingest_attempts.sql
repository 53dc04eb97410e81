-- What an object's de-duplication tokens are made of, fixed at its first
-- claim like `chunk_lines` and `as_of`: a crash between a chunk's insert and
-- its ledger update is followed by a resume that re-sends that chunk, and
-- only the same token makes ClickHouse drop the copy, whatever the source's
-- name or `mapping_version` say by then (ingester/DESIGN.md). Empty: claimed
-- before this migration; the next claim pins the stem the settings then give.
-- `ingest_errors.at` is from now on the object's `as_of`, sent by the
-- ingester: its partition is part of what ClickHouse de-duplicates a block
-- by, so a retry in another month than the first attempt stored its rows
-- again when `at` was the insert's clock.
-- The second statement of each pair reaches the Distributed table in cluster
-- mode; on a single server it names the same table again and changes nothing.
ALTER TABLE ${db}.ingest_files${local} ${on_cluster}
    ADD COLUMN IF NOT EXISTS token_stem String DEFAULT ''
    COMMENT 'Hash of the object version, source, mapping_version and chunk_lines at the first claim: every chunk token is adhouse:<stem>:<chunk>; empty for objects claimed before it was recorded'
    AFTER chunk_lines;

ALTER TABLE ${db}.ingest_files ${on_cluster}
    ADD COLUMN IF NOT EXISTS token_stem String DEFAULT ''
    COMMENT 'Hash of the object version, source, mapping_version and chunk_lines at the first claim: every chunk token is adhouse:<stem>:<chunk>; empty for objects claimed before it was recorded'
    AFTER chunk_lines;

ALTER TABLE ${db}.ingest_errors${local} ${on_cluster}
    COMMENT COLUMN at 'The object''s as_of (its first claim), the same on every attempt; before migration 0017, when the error was recorded';

ALTER TABLE ${db}.ingest_errors ${on_cluster}
    COMMENT COLUMN at 'The object''s as_of (its first claim), the same on every attempt; before migration 0017, when the error was recorded';
