-- Live metrics from partners' reporting APIs (demand partners, SSPs), polled
-- by the ingester's feeds (`partners.feeds`). Every poll re-reads a recent
-- window and writes each row with the poll's fetch time as its version, so
-- FINAL leaves exactly the latest fetch of every period: restated partner
-- numbers replace, never add, and two ingesters polling the same feed at
-- once write the same rows twice, which FINAL collapses.
CREATE TABLE IF NOT EXISTS ${db}.partner_metrics${local} ${on_cluster}
(
    tenant          LowCardinality(String)  COMMENT 'Tenant the numbers belong to (the feed''s setting)',
    feed            LowCardinality(String)  COMMENT 'Name of the feed that fetched the row (partners.feeds[].name)',
    partner         LowCardinality(String)  COMMENT 'Demand partner as the logs'' demand_partner names it',
    grain           LowCardinality(String)  COMMENT 'hour or day: the period one row covers',
    period_start    DateTime('UTC')           COMMENT 'Start of the period (UTC; midnight UTC for daily rows)',
    publisher_id    String                  COMMENT 'Publisher as the partner reports it; empty when the feed has no such field',
    placement_id    String                  COMMENT 'Placement as the partner reports it; empty when absent',
    country         LowCardinality(String)  COMMENT 'Country as the partner reports it; empty when absent',
    currency        LowCardinality(String)  COMMENT 'ISO 4217 currency of revenue_micros; never sum across currencies',
    impressions     UInt64                  COMMENT 'Impressions the partner counted',
    revenue_micros  Int64                   COMMENT 'Revenue the partner reports, in millionths of the currency (exact)',
    extra           Map(String, Int64)      COMMENT 'Further measures under their feed-given names, in millionths (exact)',
    fetched_at      DateTime64(3, 'UTC')      COMMENT 'Version: when the poll that fetched the row started; the latest fetch wins'
)
-- distributed by: cityHash64(tenant, feed)
ENGINE = ${replicated}ReplacingMergeTree(fetched_at)
PARTITION BY toYYYYMM(period_start)
ORDER BY (tenant, feed, partner, period_start, publisher_id, placement_id, country)
COMMENT 'Partner-reported metrics per feed, partner, period and dimensions (read with FINAL)';

-- One row per feed, written after every poll: what the feed-health route,
-- the dashboard and the "data as of" label read.
CREATE TABLE IF NOT EXISTS ${db}.partner_feed_status${local} ${on_cluster}
(
    tenant          LowCardinality(String)  COMMENT 'Tenant of the feed',
    feed            LowCardinality(String)  COMMENT 'Feed name',
    status          Enum8('ok' = 1, 'failing' = 2)
                                            COMMENT 'ok: the last poll stored its window; failing: it did not (see last_error)',
    last_attempt_at DateTime64(3, 'UTC')    COMMENT 'Start of the last poll',
    last_success_at Nullable(DateTime64(3, 'UTC'))
                                            COMMENT 'Start of the last poll that stored its window: the data is as of then',
    last_error      String                  COMMENT 'Why the last poll failed; empty after a success',
    consecutive_failures UInt32             COMMENT 'Polls failed in a row since the last success',
    window_start    DateTime('UTC')           COMMENT 'First period the last poll asked for',
    window_end      DateTime('UTC')           COMMENT 'End (exclusive) of the window the last poll asked for',
    rows_stored     UInt64                  COMMENT 'Rows the last successful poll stored',
    rows_quarantined UInt64                 COMMENT 'Rows of the last poll set aside in partner_quarantine',
    requests        UInt32                  COMMENT 'HTTP requests (pages, token calls excluded) of the last poll',
    updated_at      DateTime64(3, 'UTC')    COMMENT 'Version: when this row was written'
)
-- distributed by: cityHash64(tenant, feed)
ENGINE = ${replicated}ReplacingMergeTree(updated_at)
ORDER BY (tenant, feed)
COMMENT 'Health of each live-metrics feed (read with FINAL)';

-- Rows of a partner's answer that cannot be stored (a missing or malformed
-- field, an unaligned period), with the reason, like ingest_errors for log
-- lines. A re-poll that meets the same row again replaces its entry.
CREATE TABLE IF NOT EXISTS ${db}.partner_quarantine${local} ${on_cluster}
(
    tenant          LowCardinality(String)  COMMENT 'Tenant of the feed',
    feed            LowCardinality(String)  COMMENT 'Feed name',
    reason          LowCardinality(String)  COMMENT 'Stable code: missing_field, bad_number, bad_period, unaligned_period, bad_currency, not_an_object',
    detail          String                  COMMENT 'Human-readable explanation naming the field',
    excerpt         String                  COMMENT 'The row as received, at most 1 KiB',
    fetched_at      DateTime64(3, 'UTC')    COMMENT 'Version: start of the last poll that met the row'
)
-- distributed by: cityHash64(tenant, feed)
ENGINE = ${replicated}ReplacingMergeTree(fetched_at)
ORDER BY (tenant, feed, reason, excerpt)
TTL toDateTime(fetched_at) + toIntervalDay(${events_ttl_days})
COMMENT 'Partner rows set aside with their reason (read with FINAL)';
