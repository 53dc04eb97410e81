-- Pre-aggregated rollups of `events`, fed by materialized views at insert
-- time. Each keeps a count per event type, sums of money and an HLL state of
-- distinct users, so every dashboard metric (including ratios such as CTR or
-- eCPM, computed from the sums at query time) can be answered from them.
--
-- Grain and dimensions trade size against detail:
--   events_1m  minute  publisher, demand partner, ad format, country, device
--   events_1h  hour    + placement, campaign
--   events_1d  day     + creative, domain
-- Buckets are UTC. A day in any timezone whose offset is a whole number of
-- hours (Asia/Tokyo, America/New_York, ...) is an exact union of UTC hours,
-- so per-day reports in such timezones are summed from events_1h, never from
-- events_1d (whose days are UTC days). Timezones with half- or quarter-hour
-- offsets (Asia/Kolkata) need events_1m. The query API picks accordingly.
--
-- Each view reads `events` directly: the hour and day tables carry dimensions
-- the finer tables drop, so they cannot cascade.
--
-- De-duplication: ClickHouse runs the views even for a block that `events`
-- drops as a duplicate of its insert_deduplication_token. The rollups
-- therefore keep a de-duplication window too, and every insert into events
-- sets deduplicate_blocks_in_dependent_materialized_views = 1, which gives
-- each view's block a token derived from the insert's: a retried chunk is
-- then dropped by events and by every rollup alike.
-- AggregatingMergeTree merges rows with equal keys in the background: always
-- read with sum()/uniqCombined64Merge() and GROUP BY, never row by row.

CREATE TABLE IF NOT EXISTS ${db}.events_1m${local} ${on_cluster}
(
    tenant          LowCardinality(String) COMMENT 'Tenant that owns the events',
    bucket          DateTime('UTC')        COMMENT 'Start of the UTC minute',
    publisher_id    LowCardinality(String) COMMENT 'Publisher (site or app owner)',
    demand_partner  LowCardinality(String) COMMENT 'Buyer that filled the request',
    ad_format       LowCardinality(String) COMMENT 'banner, video, native, ...',
    country         LowCardinality(String) COMMENT 'ISO 3166-1 alpha-2 country code',
    device_type     LowCardinality(String) COMMENT 'desktop, mobile, tablet, ctv, ...',
${rollup_columns}
)
-- distributed by: rand()
ENGINE = ${replicated}AggregatingMergeTree
PARTITION BY toDate(bucket)
ORDER BY (tenant, bucket, publisher_id, demand_partner, ad_format, country, device_type)
TTL bucket + toIntervalDay(${minute_ttl_days})
SETTINGS ttl_only_drop_parts = 1, ${dedup_window}
COMMENT 'Per-minute rollup of events (low-cardinality dimensions only)';

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.events_1m_mv${local} ${on_cluster}
TO ${db}.events_1m${local}
AS SELECT
    tenant,
    toStartOfMinute(ts) AS bucket,
    publisher_id, demand_partner, ad_format, country, device_type,
${rollup_measures}
FROM ${db}.events${local}
GROUP BY tenant, bucket, publisher_id, demand_partner, ad_format, country, device_type;

CREATE TABLE IF NOT EXISTS ${db}.events_1h${local} ${on_cluster}
(
    tenant          LowCardinality(String) COMMENT 'Tenant that owns the events',
    bucket          DateTime('UTC')        COMMENT 'Start of the UTC hour',
    publisher_id    LowCardinality(String) COMMENT 'Publisher (site or app owner)',
    placement_id    LowCardinality(String) COMMENT 'Ad slot / placement',
    demand_partner  LowCardinality(String) COMMENT 'Buyer that filled the request',
    campaign_id     LowCardinality(String) COMMENT 'Advertiser campaign',
    ad_format       LowCardinality(String) COMMENT 'banner, video, native, ...',
    country         LowCardinality(String) COMMENT 'ISO 3166-1 alpha-2 country code',
    device_type     LowCardinality(String) COMMENT 'desktop, mobile, tablet, ctv, ...',
${rollup_columns}
)
-- distributed by: rand()
ENGINE = ${replicated}AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant, bucket, publisher_id, placement_id, demand_partner, campaign_id, ad_format, country, device_type)
TTL bucket + toIntervalDay(${hour_ttl_days})
SETTINGS ttl_only_drop_parts = 1, ${dedup_window}
COMMENT 'Per-hour rollup of events; the source of per-day reports in whole-hour timezones';

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.events_1h_mv${local} ${on_cluster}
TO ${db}.events_1h${local}
AS SELECT
    tenant,
    toStartOfHour(ts) AS bucket,
    publisher_id, placement_id, demand_partner, campaign_id, ad_format, country, device_type,
${rollup_measures}
FROM ${db}.events${local}
GROUP BY tenant, bucket, publisher_id, placement_id, demand_partner, campaign_id, ad_format, country, device_type;

CREATE TABLE IF NOT EXISTS ${db}.events_1d${local} ${on_cluster}
(
    tenant          LowCardinality(String) COMMENT 'Tenant that owns the events',
    bucket          DateTime('UTC')        COMMENT 'Start of the UTC day',
    publisher_id    LowCardinality(String) COMMENT 'Publisher (site or app owner)',
    placement_id    LowCardinality(String) COMMENT 'Ad slot / placement',
    demand_partner  LowCardinality(String) COMMENT 'Buyer that filled the request',
    campaign_id     LowCardinality(String) COMMENT 'Advertiser campaign',
    creative_id     String                 COMMENT 'Creative shown' CODEC(ZSTD(1)),
    ad_format       LowCardinality(String) COMMENT 'banner, video, native, ...',
    country         LowCardinality(String) COMMENT 'ISO 3166-1 alpha-2 country code',
    device_type     LowCardinality(String) COMMENT 'desktop, mobile, tablet, ctv, ...',
    domain          String                 COMMENT 'Site domain or app bundle id' CODEC(ZSTD(1)),
${rollup_columns}
)
-- distributed by: rand()
ENGINE = ${replicated}AggregatingMergeTree
PARTITION BY toYear(bucket)
ORDER BY (tenant, bucket, publisher_id, placement_id, demand_partner, campaign_id, creative_id, ad_format, country, device_type, domain)
SETTINGS ${dedup_window}
COMMENT 'Per-UTC-day rollup of events with every dimension but os; kept forever';

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.events_1d_mv${local} ${on_cluster}
TO ${db}.events_1d${local}
AS SELECT
    tenant,
    toStartOfDay(ts) AS bucket,
    publisher_id, placement_id, demand_partner, campaign_id, creative_id, ad_format, country, device_type, domain,
${rollup_measures}
FROM ${db}.events${local}
GROUP BY tenant, bucket, publisher_id, placement_id, demand_partner, campaign_id, creative_id, ad_format, country, device_type, domain;
