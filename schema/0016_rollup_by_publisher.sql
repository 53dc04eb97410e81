-- An aggregate projection on events_1d per tenant, day and publisher, for
-- the dashboard's default breakdown (by publisher, ranked, with the
-- comparison period). Migration 0014's `by_placement` answers it too, but
-- holds every placement of each publisher: 25 rows where this one holds one,
-- which at 5,000 placements is most of what such a statement read
-- (query-api/src/rollups/DESIGN.md, "Projections"). ClickHouse reads the
-- smallest projection that holds a statement's keys, so nothing in the API
-- changes, and the sums are the same sums.
--
-- As in 0014: ADD PROJECTION changes no row and applies to new parts;
-- MATERIALIZE PROJECTION builds it for the parts already there as a
-- background mutation, and until a part has it, queries read that part as
-- before. The table's merges already rebuild its projections (0014).

ALTER TABLE ${db}.events_1d${local} ${on_cluster}
    ADD PROJECTION IF NOT EXISTS by_publisher (SELECT tenant, bucket, publisher_id,
${rollup_sums}
    GROUP BY tenant, bucket, publisher_id);

ALTER TABLE ${db}.events_1d${local} ${on_cluster} MATERIALIZE PROJECTION by_publisher;
