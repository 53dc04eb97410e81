-- The canonical ad event: one row per request, impression, click, video
-- quartile or error, whatever log format it arrived in.
--
-- Layout choices:
-- * PARTITION BY day: the TTL then drops whole partitions (ttl_only_drop_parts)
--   instead of rewriting parts, and 90 daily partitions stay far below the
--   point where partition counts hurt. Log files rarely span more than two
--   days, so one insert touches one or two partitions.
-- * ORDER BY (tenant, hour, event_type, publisher, placement): every query is
--   tenant-scoped and time-bounded, so the first two key columns prune
--   granules; event_type and publisher then cluster rows that compress and
--   aggregate together. `ts` itself is left out of the key: it would make the
--   key unique-ish and stop the remaining columns from compressing.
-- * LowCardinality for dimensions with at most tens of thousands of values per
--   part; plain String with ZSTD for creatives and domains, which can have
--   more. Delta+ZSTD on monotone-ish numbers (time, line), T64 on money.
-- * non_replicated_deduplication_window: the ingester inserts every chunk with
--   an insert_deduplication_token, and a retried chunk must be recognised
--   (see ingester/DESIGN.md). Replicated tables use the replicated window.
CREATE TABLE IF NOT EXISTS ${db}.events${local} ${on_cluster}
(
    tenant          LowCardinality(String)        COMMENT 'Tenant (customer) that owns the event; every query is scoped to one',
    ts              DateTime64(3, 'UTC')          COMMENT 'When the event happened, UTC, millisecond precision' CODEC(Delta, ZSTD(1)),
    event_type      Enum8('request' = 1, 'impression' = 2, 'click' = 3, 'video_start' = 4, 'video_first_quartile' = 5,
                          'video_midpoint' = 6, 'video_third_quartile' = 7, 'video_complete' = 8, 'error' = 9)
                                                  COMMENT 'Kind of event: ad request, impression, click, VAST video progress or error',
    publisher_id    LowCardinality(String)        COMMENT 'Publisher (site or app owner) that served the ad',
    placement_id    LowCardinality(String)        COMMENT 'Ad slot / placement within the publisher inventory',
    demand_partner  LowCardinality(String)        COMMENT 'Buyer: SSP, DSP or network that filled the request',
    campaign_id     LowCardinality(String)        COMMENT 'Advertiser campaign, empty when unknown',
    creative_id     String                        COMMENT 'Creative shown, empty when unknown' CODEC(ZSTD(1)),
    ad_format       LowCardinality(String)        COMMENT 'banner, video, native, audio, ...',
    country         LowCardinality(String)        COMMENT 'ISO 3166-1 alpha-2 country code of the viewer, empty when unknown',
    device_type     LowCardinality(String)        COMMENT 'desktop, mobile, tablet, ctv, ...',
    os              LowCardinality(String)        COMMENT 'Operating system of the viewer',
    domain          String                        COMMENT 'Site domain or app bundle id' CODEC(ZSTD(1)),
    user_id_hash    UInt64                        COMMENT 'Hash of the viewer id, 0 when unknown (not counted as a user)',
    revenue_micros  Int64                         COMMENT 'Revenue in micro-units (1e-6) of the tenant reporting currency' CODEC(T64, ZSTD(1)),
    cost_micros     Int64                         COMMENT 'Cost in micro-units (1e-6) of the tenant reporting currency' CODEC(T64, ZSTD(1)),
    error_code      UInt16                        COMMENT 'VAST error code, 0 when the event is not an error',
    source          LowCardinality(String)        COMMENT 'Lineage: configured ingest source that produced the row',
    file            LowCardinality(String)        COMMENT 'Lineage: s3://bucket/key of the log file',
    line            UInt64                        COMMENT 'Lineage: 1-based line (or row) number within the file' CODEC(Delta, ZSTD(1)),
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
                                                  COMMENT 'Lineage: when adhouse inserted the row' CODEC(Delta, ZSTD(1))
)
-- distributed by: sipHash64(file, line)
ENGINE = ${replicated}MergeTree
PARTITION BY toDate(ts)
ORDER BY (tenant, toStartOfHour(ts), event_type, publisher_id, placement_id)
TTL toDateTime(ts) + toIntervalDay(${events_ttl_days})
SETTINGS ttl_only_drop_parts = 1, ${dedup_window}
COMMENT 'Canonical ad events, one row per event; query the events_1m/1h/1d rollups first';
