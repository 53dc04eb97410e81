//! Which table answers a query: the coarsest rollup that has every dimension
//! the query groups or filters by, whose buckets never straddle a cut of the
//! query's time line, and whose retention covers the range; otherwise raw
//! `events`. See DESIGN.md beside this file.


use std::collections::BTreeSet;

use adhouse_core::schema::ttl::{self, TableTtl};
use adhouse_core::schema::{ROLLUPS, Retention, Rollup};
use adhouse_core::settings::SchemaSettings;

use crate::metrics_catalog::{Dimension, Measure};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// AggregatingMergeTree of partial sums per UTC bucket.
    Rollup,
    /// One row per event.
    Raw,
}

/// A table as the planner sees it: the schema's declaration and the
/// retention it keeps (the settings', cut to the table's own TTL).
#[derive(Debug, Clone)]
pub struct Table {
    pub name: &'static str,
    pub kind: TableKind,
    /// Width of the table's UTC-aligned buckets; 1 for raw events, whose
    /// timestamps the API never needs finer than a second.
    pub bucket_secs: i64,
    pub dimensions: &'static [Dimension],
    pub retention: Retention,
    /// How far back the table keeps data; `None` is forever.
    pub retention_days: Option<u32>,
}

impl Table {
    fn rollup(rollup: &Rollup, schema: &SchemaSettings) -> Self {
        Self {
            name: rollup.table,
            kind: TableKind::Rollup,
            bucket_secs: rollup.bucket_secs,
            dimensions: rollup.dimensions,
            retention: rollup.retention,
            retention_days: rollup.retention.days(schema),
        }
    }

    fn raw(schema: &SchemaSettings) -> Self {
        Self {
            name: "events",
            kind: TableKind::Raw,
            bucket_secs: 1,
            dimensions: &Dimension::ALL,
            retention: Retention::EventsTtl,
            retention_days: Retention::EventsTtl.days(schema),
        }
    }

    /// Plans with the smaller of the setting and the table's TTL, and says
    /// when they differ: only a new migration changes a table's TTL.
    fn keep_within(&mut self, ttl: TableTtl) {
        let table_days = match ttl {
            TableTtl::None => None,
            TableTtl::Days(days) => Some(days),
            // Planned as holding nothing: never answered from days it may have dropped.
            TableTtl::Unknown => Some(0),
        };
        if table_days == self.retention_days {
            return;
        }
        let setting = self.retention.key().unwrap_or("(none: kept forever)");
        let column = if self.kind == TableKind::Raw { "toDateTime(ts)" } else { "bucket" };
        let fix = self.retention_days.map_or_else(
            || format!("ALTER TABLE {} REMOVE TTL", self.name),
            |days| format!("ALTER TABLE {} MODIFY TTL {column} + toIntervalDay({days})", self.name),
        );
        let setting_days = self.retention_days;
        self.retention_days = match (setting_days, table_days) {
            (Some(setting), Some(table)) => Some(setting.min(table)),
            (one, other) => one.or(other),
        };
        tracing::warn!(
            table = self.name,
            setting,
            setting_days = ?setting_days,
            table_ttl = ?ttl,
            planned_days = ?self.retention_days,
            "the table's TTL differs from its setting (migrations render a TTL once, when they create the table): \
             the planner uses the shorter; to apply the setting, add a migration `{fix}`"
        );
    }

    /// `None` for a measure of another dataset.
    pub fn measure_sql(&self, measure: Measure) -> Option<&'static str> {
        match self.kind {
            TableKind::Rollup => measure.rollup_sql(),
            TableKind::Raw => measure.raw_sql(),
        }
    }

    /// The column that range conditions bound (it leads the sorting key).
    pub fn time_column(&self) -> &'static str {
        match self.kind {
            TableKind::Rollup => "bucket",
            TableKind::Raw => "ts",
        }
    }

    /// The row's time as Int64 epoch seconds, for bucketing.
    pub fn epoch_expr(&self) -> &'static str {
        match self.kind {
            TableKind::Rollup => "toInt64(toUnixTimestamp(bucket))",
            TableKind::Raw => "toInt64(toUnixTimestamp(ts))",
        }
    }
}

/// What a query needs from the table that answers it.
#[derive(Debug)]
pub struct Need<'a> {
    /// Dimensions grouped or filtered by.
    pub dimensions: &'a BTreeSet<Dimension>,
    /// Every instant where the query cuts time (see `Granularity::cuts`).
    pub cuts: &'a [i64],
    /// Start of the range, and now, for retention.
    pub from: i64,
    pub now: i64,
}

/// The tables of the schema, rollups in the declared order of preference.
#[derive(Debug, Clone)]
pub struct Tables {
    rollups: Vec<Table>,
    raw: Table,
}

impl Tables {
    /// Retention as the settings give it; [`Tables::read`] checks it against
    /// the tables.
    pub fn new(schema: &SchemaSettings) -> Self {
        Self { rollups: ROLLUPS.iter().map(|rollup| Table::rollup(rollup, schema)).collect(), raw: Table::raw(schema) }
    }

    /// The tables with the retention each really keeps: the smaller of its
    /// setting and its TTL in ClickHouse (`retention`). A table not created
    /// yet keeps the setting its migration will render.
    pub async fn read(schema: &SchemaSettings, client: &clickhouse::Client) -> clickhouse::error::Result<Self> {
        let mut tables = Self::new(schema);
        let names: Vec<&str> = tables.rollups.iter().chain([&tables.raw]).map(|table| table.name).collect();
        let ttls = ttl::read(client, schema, &names).await?;
        for table in tables.rollups.iter_mut().chain([&mut tables.raw]) {
            if let Some(&ttl) = ttls.get(table.name) {
                table.keep_within(ttl);
            }
        }
        Ok(tables)
    }

    /// Raw events alone (`use_rollups: false`), if they still hold the range.
    pub fn choose_raw(&self, need: &Need<'_>) -> Result<&Table, BeyondRetention> {
        if can_answer(&self.raw, need) { Ok(&self.raw) } else { Err(self.beyond_retention()) }
    }

    fn beyond_retention(&self) -> BeyondRetention {
        BeyondRetention {
            setting: self.raw.retention.key().unwrap_or("schema.events_ttl_days"),
            retention_days: self.raw.retention_days.unwrap_or(0),
        }
    }

    /// The first rollup that can answer `need` exactly, else raw events if
    /// they still hold the range; otherwise nothing can, and the error names
    /// the retention that decided it.
    pub fn choose(&self, need: &Need<'_>) -> Result<&Table, BeyondRetention> {
        self.rollups.iter().chain([&self.raw]).find(|table| can_answer(table, need)).ok_or_else(|| self.beyond_retention())
    }
}

/// No table that still holds a period can answer it exactly: raw events
/// (which have every dimension, to the second) have expired, and every rollup
/// that keeps the period lacks a dimension or cuts time elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeyondRetention {
    /// The settings key of raw events' retention.
    pub setting: &'static str,
    pub retention_days: u32,
}

fn can_answer(table: &Table, need: &Need<'_>) -> bool {
    let has_dimensions = need.dimensions.iter().all(|dimension| table.dimensions.contains(dimension));
    // Rollup buckets are UTC-aligned, so a cut falls on a bucket boundary
    // exactly when it is a multiple of the bucket width.
    let aligned = need.cuts.iter().all(|cut| cut.rem_euclid(table.bucket_secs) == 0);
    // A TTL drops whole parts only once all their rows expired, so rows
    // younger than the retention are always there.
    let retained = table.retention_days.is_none_or(|days| need.from >= need.now - i64::from(days) * 86_400);
    has_dimensions && aligned && retained
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::time::{Granularity, TimeRange, Zone};
    use Dimension::*;

    fn tables() -> Tables {
        Tables::new(&SchemaSettings {
            cluster: String::new(),
            events_ttl_days: 90,
            minute_ttl_days: 30,
            hour_ttl_days: 730,
            dedup_window_blocks: 1,
        })
    }

    const NOW: i64 = 1_778_400_000; // 2026-05-10T08:00:00Z
    const DAY: i64 = 86_400;

    fn choose(dimensions: &[Dimension], granularity: Granularity, timezone: &str, range: TimeRange) -> &'static str {
        let zone = Zone::parse("timezone", timezone).unwrap();
        let dimensions = dimensions.iter().copied().collect();
        let cuts = granularity.cuts(range, &zone);
        tables().choose(&Need { dimensions: &dimensions, cuts: &cuts, from: range.from, now: NOW }).map_or("none", |table| table.name)
    }

    /// Seven whole local days ending on the day of NOW.
    fn week_in(timezone: &str) -> TimeRange {
        let zone = Zone::parse("timezone", timezone).unwrap();
        let end = Granularity::Day.bucket_start(NOW, &zone) + DAY;
        TimeRange { from: end - 7 * DAY, to: end }
    }

    #[test]
    fn utc_days_come_from_the_day_rollup() {
        assert_eq!(choose(&[Country], Granularity::Day, "UTC", week_in("UTC")), "events_1d");
    }

    #[test]
    fn whole_hour_timezones_come_from_the_hour_rollup() {
        for timezone in ["Asia/Tokyo", "America/New_York", "Europe/Berlin"] {
            assert_eq!(choose(&[], Granularity::Day, timezone, week_in(timezone)), "events_1h", "{timezone}");
        }
    }

    #[test]
    fn half_hour_timezones_come_from_the_minute_rollup_or_raw_events_for_its_missing_dimensions() {
        let range = week_in("Asia/Kolkata");
        assert_eq!(choose(&[Country], Granularity::Day, "Asia/Kolkata", range), "events_1m");
        assert_eq!(choose(&[PlacementId], Granularity::Day, "Asia/Kolkata", range), "events");
    }

    #[test]
    fn minute_series_need_the_minute_rollup() {
        let range = TimeRange { from: NOW - DAY, to: NOW };
        assert_eq!(choose(&[], Granularity::Minute, "UTC", range), "events_1m");
    }

    #[test]
    fn dimensions_outside_every_rollup_need_raw_events() {
        assert_eq!(choose(&[Os], Granularity::None, "UTC", week_in("UTC")), "events");
        assert_eq!(choose(&[Source], Granularity::Day, "UTC", week_in("UTC")), "events");
    }

    #[test]
    fn a_range_cut_inside_a_bucket_needs_a_finer_table() {
        let range = TimeRange { from: NOW - DAY + 90, to: NOW };
        assert_eq!(choose(&[], Granularity::None, "UTC", range), "events");
        let range = TimeRange { from: NOW - DAY + 60, to: NOW };
        assert_eq!(choose(&[], Granularity::None, "UTC", range), "events_1m");
    }

    #[test]
    fn ranges_older_than_a_rollups_retention_skip_it() {
        let old = TimeRange { from: NOW - 40 * DAY - 60, to: NOW - 39 * DAY - 60 };
        assert_eq!(choose(&[], Granularity::None, "UTC", old), "events");
        let old_minutes = TimeRange { from: NOW - 80 * DAY, to: NOW - 79 * DAY };
        assert_eq!(choose(&[PlacementId], Granularity::Minute, "UTC", old_minutes), "events");
        let old_hours = TimeRange { from: NOW - 800 * DAY, to: NOW - 799 * DAY };
        assert_eq!(choose(&[PlacementId], Granularity::Hour, "UTC", old_hours), "none", "past every retention but events_1d's");
    }

    #[test]
    fn a_period_older_than_raw_retention_that_no_rollup_answers_is_beyond_retention() {
        let zone = Zone::parse("timezone", "UTC").unwrap();
        let day = NOW - NOW.rem_euclid(DAY) - 365 * DAY;
        let year_ago = TimeRange { from: day, to: day + DAY };
        for dimensions in [vec![Os], vec![Source], vec![Country, Os]] {
            let dimensions = dimensions.into_iter().collect();
            let cuts = Granularity::None.cuts(year_ago, &zone);
            let need = Need { dimensions: &dimensions, cuts: &cuts, from: year_ago.from, now: NOW };
            let beyond = tables().choose(&need).expect_err("raw events expired after 90 days");
            assert_eq!(beyond, BeyondRetention { setting: "schema.events_ttl_days", retention_days: 90 });
        }
        let seconds = TimeRange { from: year_ago.from + 7, to: year_ago.to };
        assert_eq!(choose(&[], Granularity::None, "UTC", seconds), "none", "timestamps with seconds need raw events");
        let kolkata = week_in("Asia/Kolkata");
        let kolkata_last_year = TimeRange { from: kolkata.from - 365 * DAY, to: kolkata.to - 365 * DAY };
        assert_eq!(choose(&[PlacementId], Granularity::Day, "Asia/Kolkata", kolkata_last_year), "none");
        assert_eq!(choose(&[Country], Granularity::Day, "UTC", year_ago), "events_1d", "a rollup that keeps it answers");
    }
}
