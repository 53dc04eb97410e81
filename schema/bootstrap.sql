-- Run before every migration: the database and the record of which
-- migrations have been applied.
CREATE DATABASE IF NOT EXISTS ${db} ${on_cluster};

CREATE TABLE IF NOT EXISTS ${db}.schema_migrations ${on_cluster}
(
    version     UInt32                COMMENT 'Number of the migration file in schema/',
    name        String                COMMENT 'Name of the migration file',
    checksum    String                COMMENT 'SHA-256 of the statements as applied',
    applied_at  DateTime64(3, 'UTC')  COMMENT 'When the migration finished'
)
ENGINE = ${replicated}ReplacingMergeTree(applied_at)
ORDER BY version
COMMENT 'Schema migrations applied by adhouse-ingester migrate';
