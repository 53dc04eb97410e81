-- Aggregate projections on the rollups for the dashboard's access paths
-- (query-api/src/rollups/DESIGN.md, "Projections"): totals per bucket (tiles,
-- charts), per bucket and country, and per bucket, publisher and placement
-- (the breakdown table's defaults). A projection is a smaller copy of a part,
-- pre-aggregated by its GROUP BY, that ClickHouse reads instead of the table
-- when a plain GROUP BY query needs only its keys and sums; the answers are
-- the same sums, so nothing about exactness changes, and the table names the
-- API reports stay those of the rollups.
--
-- Each projection lists every measure with the aggregate the API reads it
-- with (`sum`, `uniqCombined64Merge`), so that any mix of metrics matches.
-- AggregatingMergeTree merges rows, so its projections are rebuilt on merge
-- (deduplicate_merge_projection_mode = 'rebuild').
--
-- Rebuild of existing data, losing nothing: ADD PROJECTION changes no row
-- and applies to new parts; MATERIALIZE PROJECTION then builds it for the
-- parts already there as a background mutation. Until a part has it, queries
-- read that part's rows as before (a query may mix parts with and without).
-- Sorting keys are unchanged: every access path of the API starts with
-- (tenant, bucket), which already leads each rollup's key (the EXPLAIN
-- indexes = 1 evidence is in the design note).

ALTER TABLE ${db}.events_1m${local} ${on_cluster}
    MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';

ALTER TABLE ${db}.events_1m${local} ${on_cluster}
    ADD PROJECTION IF NOT EXISTS totals (SELECT tenant, bucket,
${rollup_sums}
    GROUP BY tenant, bucket);

ALTER TABLE ${db}.events_1m${local} ${on_cluster} MATERIALIZE PROJECTION totals;

ALTER TABLE ${db}.events_1h${local} ${on_cluster}
    MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';

ALTER TABLE ${db}.events_1h${local} ${on_cluster}
    ADD PROJECTION IF NOT EXISTS totals (SELECT tenant, bucket,
${rollup_sums}
    GROUP BY tenant, bucket),
    ADD PROJECTION IF NOT EXISTS by_country (SELECT tenant, bucket, country,
${rollup_sums}
    GROUP BY tenant, bucket, country);

ALTER TABLE ${db}.events_1h${local} ${on_cluster} MATERIALIZE PROJECTION totals, MATERIALIZE PROJECTION by_country;

ALTER TABLE ${db}.events_1d${local} ${on_cluster}
    MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';

ALTER TABLE ${db}.events_1d${local} ${on_cluster}
    ADD PROJECTION IF NOT EXISTS totals (SELECT tenant, bucket,
${rollup_sums}
    GROUP BY tenant, bucket),
    ADD PROJECTION IF NOT EXISTS by_country (SELECT tenant, bucket, country,
${rollup_sums}
    GROUP BY tenant, bucket, country),
    ADD PROJECTION IF NOT EXISTS by_placement (SELECT tenant, bucket, publisher_id, placement_id,
${rollup_sums}
    GROUP BY tenant, bucket, publisher_id, placement_id);

ALTER TABLE ${db}.events_1d${local} ${on_cluster}
    MATERIALIZE PROJECTION totals, MATERIALIZE PROJECTION by_country, MATERIALIZE PROJECTION by_placement;
