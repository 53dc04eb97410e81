-- The chunk size an object was first claimed with. Chunk boundaries, resume
-- points and de-duplication tokens all count in chunks of this many records,
-- so an object keeps it for life, whatever `ingest.chunk_lines` later workers
-- run with (ingester/DESIGN.md). 0: claimed before this migration.
-- The second statement reaches the Distributed table in cluster mode; on a
-- single server it names the same table again and changes nothing.
ALTER TABLE ${db}.ingest_files${local} ${on_cluster}
    ADD COLUMN IF NOT EXISTS chunk_lines UInt32 DEFAULT 0
    COMMENT 'Records per chunk, fixed at the first claim; 0 for objects claimed before it was recorded'
    AFTER next_chunk;

ALTER TABLE ${db}.ingest_files ${on_cluster}
    ADD COLUMN IF NOT EXISTS chunk_lines UInt32 DEFAULT 0
    COMMENT 'Records per chunk, fixed at the first claim; 0 for objects claimed before it was recorded'
    AFTER next_chunk;
