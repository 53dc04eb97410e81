//! Runs a validated query: picks the tables, then fetches in one round trip
//! the ranked groups (with dimensions) and the series and totals of the
//! main and the comparison period, and assembles dense rows.

use std::collections::{BTreeMap, HashMap};

use adhouse_core::settings::Grain;
use clickhouse::Row;
use serde::Deserialize;

use super::labels;
use super::request::Query;
use super::response::{ByMetric, Cell, Change, Column, ColumnKind, Comparison, Meta, QueryResponse, Unavailable};
use super::sql::{Shape, Source, Statement, currencies_statement, grains_statement, part, statement};
use super::time::{Granularity, ResolvedRange, TimeRange};
use crate::metrics_catalog::{Dataset, Measure, MetricValue};
use crate::db::{Db, Stats};
use crate::error::{ApiError, ErrorCode, Result};
use crate::rollups::{BeyondRetention, Need, Tables};
use crate::metrics::Metrics;

/// Every statement returns this shape (see [`Shape`]).
#[derive(Debug, Row, Deserialize)]
struct Fetched {
    /// 0 for the main period, 1 for the comparison.
    p: u8,
    /// Which part of the answer (see [`part`]).
    part: u8,
    /// A ranked group's place.
    rank: u64,
    t: u32,
    dims: Vec<String>,
    values: Vec<i64>,
}

#[derive(Debug, Row, Deserialize)]
struct Currencies {
    currencies: Vec<String>,
}

#[derive(Debug, Row, Deserialize)]
struct Grains {
    grains: Vec<String>,
}

/// One period's answer before it becomes JSON.
struct Period {
    rows: Vec<Vec<Cell>>,
    totals: Vec<MetricValue>,
}

pub struct Executor<'a> {
    pub db: &'a Db,
    pub tables: &'a Tables,
    pub tenant: &'a str,
    /// The currency of the tenant's log money.
    pub currency: &'a str,
    pub now: i64,
    /// Counts rows outside the expected buckets.
    pub metrics: &'a Metrics,
    /// Display names of log sources (`api.source_labels`).
    pub source_labels: &'a BTreeMap<String, String>,
}

impl Executor<'_> {
    /// What answers `query` over `range`: for logs the table the planner
    /// picks, if one still holds the range; for platforms the query's level.
    pub fn source_for(&self, query: &Query, range: TimeRange) -> Result<Source<'_>, BeyondRetention> {
        match query.dataset {
            Dataset::Logs => {
                let dimensions = query.needed_dimensions();
                let cuts = query.granularity.cuts(range, &query.zone);
                let need = Need { dimensions: &dimensions, cuts: &cuts, from: range.from, now: self.now };
                let table = if query.use_rollups { self.tables.choose(&need) } else { self.tables.choose_raw(&need) };
                table.map(Source::Events)
            }
            Dataset::Platforms => Ok(Source::Platforms(query.level().expect("validated with the request"))),
            Dataset::Partners => Ok(Source::Partners),
        }
    }

    pub async fn run(&self, query: &Query) -> Result<QueryResponse> {
        let measures = query.measures();
        let table = self.source_for(query, query.range).map_err(|beyond| ApiError::BeyondRetention {
            starts: query.zone.format(query.range.from),
            setting: beyond.setting,
            retention_days: beyond.retention_days,
        })?;
        let comparison_range = query.compare.period(query.range, &query.zone, self.now);
        if query.dataset == Dataset::Partners {
            for range in [Some(query.range), comparison_range].into_iter().flatten() {
                self.check_partner_cuts(query, range).await?;
            }
        }
        // A comparison period that nothing holds any more is answered as
        // unavailable (with the reason), never as zeros.
        let comparison_table = comparison_range.map(|range| self.source_for(query, range));
        let currency = match table {
            _ if !query.has_money() => None,
            Source::Platforms(_) | Source::Partners => self.one_currency(query, table, query.range, comparison_range).await?,
            Source::Events(_) => Some(self.currency.to_owned()),
        };

        // With dimensions, the groups are ranked over the main period, and
        // both periods' series are restricted to them, so that the series and
        // the comparison show the same groups.
        let dimensioned = !query.dimensions.is_empty();
        let ranked = dimensioned.then(|| statement(query, table, query.range, self.tenant, &measures, Shape::Groups, 0));
        let series = Shape::Series { ranked: ranked.as_ref() };
        let answered_comparison = match (comparison_range, comparison_table) {
            (Some(range), Some(Ok(table))) => Some((range, table)),
            _ => None,
        };
        let mut parts = vec![statement(query, table, query.range, self.tenant, &measures, Shape::Totals, 0)];
        // Without a granularity the ranked groups are the main period's rows already.
        let ranked_are_rows = dimensioned && query.granularity == Granularity::None;
        if !ranked_are_rows {
            parts.push(statement(query, table, query.range, self.tenant, &measures, series, 0));
        }
        if let Some((range, table)) = answered_comparison {
            parts.push(statement(query, table, range, self.tenant, &measures, series, 1));
            parts.push(statement(query, table, range, self.tenant, &measures, Shape::Totals, 1));
        }
        parts.extend(ranked);
        let (fetched, mut stats) = self.fetch(&Statement::union_all(parts)).await?;
        let (mut main_rows, mut compared_rows, mut ranked_rows, mut totals) = (Vec::new(), Vec::new(), Vec::new(), [None, None]);
        for row in fetched {
            match (row.p, row.part) {
                (period, part::TOTALS) => totals[usize::from(period)] = Some(row.values),
                (_, part::RANKED) => ranked_rows.push(row),
                (0, _) => main_rows.push(row),
                _ => compared_rows.push(row),
            }
        }
        ranked_rows.sort_unstable_by_key(|row| row.rank);
        let groups: Vec<Vec<String>> =
            if dimensioned { ranked_rows.iter().map(|row| row.dims.clone()).collect() } else { vec![Vec::new()] };
        if ranked_are_rows {
            main_rows = ranked_rows;
        }
        let [main_totals, compared_totals] = totals.map(|values| values.unwrap_or_else(|| vec![0; measures.len()]));
        let main = self.assemble(query, query.range, &measures, &groups, main_rows, main_totals)?;
        let compared = match answered_comparison {
            Some((range, _)) => Some(self.assemble(query, range, &measures, &groups, compared_rows, compared_totals)?),
            None => None,
        };

        let totals = by_metric(query, &main.totals);
        let comparison = match (comparison_range, comparison_table, compared) {
            (Some(range), _, Some(period)) => {
                let change = query
                    .metrics
                    .iter()
                    .zip(main.totals.iter().zip(&period.totals))
                    .map(|(metric, (&current, &previous))| {
                        (metric.name, Change { absolute: current.minus(previous), percent: current.percent_change_from(previous) })
                    })
                    .collect();
                Some(Comparison::Answered {
                    time_range: ResolvedRange::new(range, &query.zone),
                    rows: period.rows,
                    totals: by_metric(query, &period.totals),
                    change: ByMetric(change),
                })
            }
            (Some(range), Some(Err(beyond)), None) => Some(Comparison::Unavailable {
                time_range: ResolvedRange::new(range, &query.zone),
                unavailable: Unavailable::beyond_retention(beyond),
            }),
            _ => None,
        };
        let labels = match table {
            Source::Platforms(level) if !query.dimensions.is_empty() => {
                let (labels, label_stats) = labels::fetch(self.db, self.tenant, query, level, &groups).await?;
                stats.add(label_stats);
                Some(labels)
            }
            Source::Events(_) => labels::of_sources(query, &groups, self.source_labels),
            _ => None,
        };
        Ok(QueryResponse {
            columns: columns(query),
            rows: main.rows,
            totals,
            comparison,
            labels,
            meta: Meta {
                table: table.name(),
                comparison_table: comparison_table.and_then(|table| table.ok()).map(|table| table.name()),
                level: match table {
                    Source::Platforms(level) => Some(level.as_str()),
                    Source::Events(_) | Source::Partners => None,
                },
                currency,
                granularity: query.granularity,
                time_range: ResolvedRange::new(query.range, &query.zone),
                clickhouse: stats,
            },
        })
    }

    /// The one currency of the money a platforms or partners query sums, over both
    /// periods; several are refused, since amounts of different currencies
    /// do not add up. `None` when no row matches.
    async fn one_currency(&self, query: &Query, source: Source<'_>, range: TimeRange, comparison: Option<TimeRange>) -> Result<Option<String>> {
        let mut found: Vec<String> = Vec::new();
        for range in [Some(range), comparison].into_iter().flatten() {
            let (currencies, _) = self.db.fetch::<Currencies>(&currencies_statement(query, source, range, self.tenant)).await?;
            found.extend(currencies.into_iter().flat_map(|row| row.currencies));
        }
        found.sort();
        found.dedup();
        match found.len() {
            0 | 1 => Ok(found.pop()),
            _ => Err(ApiError::MixedCurrencies { currencies: found }),
        }
    }

    /// Refuses a partners query over `range` that cuts inside a partner
    /// period: an hour, or a day where a daily feed's row overlaps the range.
    async fn check_partner_cuts(&self, query: &Query, range: TimeRange) -> Result<()> {
        let cuts = query.granularity.cuts(range, &query.zone);
        refuse_cut_inside(query, range, &cuts, Grain::Hour)?;
        if cuts.iter().all(|cut| cut.rem_euclid(Grain::Day.secs()) == 0) {
            return Ok(());
        }
        // A daily row starting up to a day before `from` straddles it too.
        let overlapping = TimeRange { from: range.from - (Grain::Day.secs() - 1), to: range.to };
        let (grains, _) = self.db.fetch::<Grains>(&grains_statement(query, overlapping, self.tenant)).await?;
        if grains.iter().any(|row| row.grains.iter().any(|grain| grain == Grain::Day.as_str())) {
            refuse_cut_inside(query, range, &cuts, Grain::Day)?;
        }
        Ok(())
    }

    async fn fetch(&self, statement: &Statement) -> Result<(Vec<Fetched>, Stats)> {
        self.db.fetch(statement).await
    }

    fn assemble(&self, query: &Query, range: TimeRange, measures: &[Measure], groups: &[Vec<String>], rows: Vec<Fetched>, totals: Vec<i64>) -> Result<Period> {
        assemble(query, range, measures, groups, rows, totals).inspect_err(|_| self.metrics.observe_unexpected_bucket())
    }
}

/// Partner periods are whole UTC hours (or days), each summed whole into
/// the bucket its start is in: a cut inside one (a half-hour zone, a range
/// starting at :30, an hour of a daily feed) would set a whole partner
/// period against part of it in the logs. Such a query is refused, as the
/// planner refuses a cut no table holds exactly (`rollups/DESIGN.md`),
/// never answered with shifted periods.
fn refuse_cut_inside(query: &Query, range: TimeRange, cuts: &[i64], grain: Grain) -> Result<()> {
    match cuts.iter().copied().find(|cut| cut.rem_euclid(grain.secs()) != 0) {
        None => Ok(()),
        Some(cut) => {
            let field = if cut == range.from || cut == range.to { "time_range" } else { "granularity" };
            let unit = grain.as_str();
            let (numbers, zones) = match grain {
                Grain::Hour => ("partner numbers are whole UTC hours", "UTC or a whole-hour offset"),
                Grain::Day => ("a daily feed's numbers are whole UTC days", "UTC"),
            };
            let coarser = if field == "granularity" { format!(" or a granularity of a {unit} or coarser") } else { String::new() };
            Err(ApiError::invalid(
                ErrorCode::InvalidValue,
                field,
                format!(
                    "{numbers} and this query cuts one at {}: use a timezone whose {unit}s start on the UTC {unit} ({zones}){coarser}",
                    query.zone.format(cut)
                ),
            ))
        }
    }
}

/// Dense rows: every group × every bucket, zeros where ClickHouse had no
/// row. A row at a bucket the API did not expect means the SQL and
/// [`Granularity::bucket_start`] disagree: that is a bug, answered as an
/// error rather than a chart with a hole in it.
fn assemble(
    query: &Query,
    range: TimeRange,
    measures: &[Measure],
    groups: &[Vec<String>],
    fetched: Vec<Fetched>,
    totals: Vec<i64>,
) -> Result<Period> {
    let buckets: Vec<i64> = match query.granularity {
        Granularity::None => vec![0],
        granularity => granularity.buckets(range, &query.zone),
    };
    let fetched_rows = fetched.len();
    let mut by_key: HashMap<(Vec<String>, i64), Vec<i64>> =
        fetched.into_iter().map(|row| ((row.dims, i64::from(row.t)), row.values)).collect();
    let zeros = vec![0; measures.len()];
    let mut rows = Vec::with_capacity(groups.len() * buckets.len());
    for group in groups {
        for &bucket in &buckets {
            let values = by_key.remove(&(group.clone(), bucket)).unwrap_or_else(|| zeros.clone());
            let mut row = Vec::with_capacity(1 + group.len() + query.metrics.len());
            if query.granularity != Granularity::None {
                row.push(Cell::Text(query.zone.format(bucket)));
            }
            row.extend(group.iter().map(|value| Cell::Text(value.clone())));
            row.extend(metric_values(query, measures, &values).into_iter().map(Cell::Metric));
            rows.push(row);
        }
    }
    if let Some(((_, bucket), _)) = by_key.iter().next() {
        return Err(ApiError::UnexpectedBucket {
            unmatched: by_key.len(),
            fetched_rows,
            bucket: *bucket,
            timezone: query.zone.name.clone(),
            granularity: query.granularity.name(),
        });
    }
    Ok(Period { rows, totals: metric_values(query, measures, &totals) })
}

fn metric_values(query: &Query, measures: &[Measure], values: &[i64]) -> Vec<MetricValue> {
    let sum = |measure: Measure| measures.iter().position(|m| *m == measure).map_or(0, |i| values[i]);
    query.metrics.iter().map(|metric| metric.value(sum)).collect()
}

fn by_metric(query: &Query, values: &[MetricValue]) -> ByMetric<MetricValue> {
    ByMetric(query.metrics.iter().map(|metric| metric.name).zip(values.iter().copied()).collect())
}

fn columns(query: &Query) -> Vec<Column> {
    let time = (query.granularity != Granularity::None).then_some(Column {
        name: "time",
        label: "Time",
        kind: ColumnKind::Time,
        value_type: "timestamp",
        unit: None,
    });
    let dimensions = query.dimensions.iter().map(|dimension| Column {
        name: dimension.name(),
        label: dimension.label(),
        kind: ColumnKind::Dimension,
        value_type: "string",
        unit: None,
    });
    time.into_iter().chain(dimensions).chain(query.metrics.iter().map(|metric| Column::metric(metric))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::request::{Context, Limits, QueryRequest};
    use crate::query::time::Zone;

    #[test]
    fn a_row_outside_the_expected_buckets_is_an_error_not_dropped() {
        let request: QueryRequest = serde_json::from_value(serde_json::json!({
            "metrics": ["requests"],
            "time_range": { "from": "2026-10-03", "to": "2026-10-03" },
            "timezone": "Australia/Lord_Howe",
            "granularity": "hour",
        }))
        .unwrap();
        let utc = Zone::parse("timezone", "UTC").unwrap();
        let query = Query::from_request(request, &Context { default_zone: &utc, now: 1_800_000_000, limits: Limits { max_rows: 10_000 } }).unwrap();
        let buckets = query.granularity.buckets(query.range, &query.zone);
        let row = |t: i64| Fetched { p: 0, part: part::SERIES, rank: 0, t: u32::try_from(t).unwrap(), dims: Vec::new(), values: vec![1] };
        let measures = query.measures();
        let fine = assemble(&query, query.range, &measures, &[Vec::new()], vec![row(buckets[3])], vec![1]).unwrap();
        assert_eq!(fine.rows.len(), buckets.len());
        // ClickHouse's toStartOfHour puts this hour half an hour off the API's.
        let off = assemble(&query, query.range, &measures, &[Vec::new()], vec![row(buckets[3] + 1_800)], vec![1]);
        assert!(matches!(off, Err(ApiError::UnexpectedBucket { unmatched: 1, .. })), "{:?}", off.err());
    }
}
