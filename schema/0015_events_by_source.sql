-- An aggregate projection on raw events per tenant, hour and ingest source,
-- for what only raw events hold at hour resolution and above: the log
-- source (the sidebar's `GET /api/v1/sources`, a breakdown or a filter by
-- source) and the newest event's time (`GET /api/v1/freshness`). The API
-- bounds a raw-events statement by `toStartOfHour(ts)` when its range starts
-- and ends on whole UTC hours, which selects the same rows as bounding `ts`,
-- and ClickHouse can then read this projection instead of every event
-- (query-api/src/rollups/DESIGN.md, "Projections").
--
-- The aggregates are the API's raw-events measures, written as the API
-- writes them so that any mix of metrics matches, and `max(ts)`. `events` is
-- a plain MergeTree: merges keep every row, so the projection merges with
-- its part. ADD PROJECTION changes no row; MATERIALIZE PROJECTION builds it
-- for the parts already there as a background mutation, and until a part
-- has it, queries read that part's events as before.

ALTER TABLE ${db}.events${local} ${on_cluster}
    ADD PROJECTION IF NOT EXISTS by_source (SELECT tenant, toStartOfHour(ts), source,
        countIf(event_type = 'request'), countIf(event_type = 'impression'), countIf(event_type = 'click'),
        countIf(event_type = 'video_start'), countIf(event_type = 'video_first_quartile'),
        countIf(event_type = 'video_midpoint'), countIf(event_type = 'video_third_quartile'),
        countIf(event_type = 'video_complete'), countIf(event_type = 'error'),
        sum(revenue_micros), sum(cost_micros), uniqCombined64If(user_id_hash, user_id_hash != 0), max(ts)
    GROUP BY tenant, toStartOfHour(ts), source);

ALTER TABLE ${db}.events${local} ${on_cluster} MATERIALIZE PROJECTION by_source;
