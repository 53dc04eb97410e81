//! SQL for a validated query. Identifiers and expressions come from the
//! catalog and the table description; every value the client sent (tenant
//! aside, which the server supplies) travels as a `{name:Type}` parameter.

use adhouse_connectors::Level;
use clickhouse::Client;

use super::request::{Direction, FilterOp, OrderKey, Query};
use super::time::{Granularity, TimeRange};
use crate::metrics_catalog::Measure;
use crate::rollups::{Table, TableKind};

/// What a statement reads.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The log table the planner chose.
    Events(&'a Table),
    /// `platform_daily`, latest fetch only (FINAL), at one report level.
    Platforms(Level),
    /// `partner_metrics`, latest fetch only (FINAL).
    Partners,
}

impl Source<'_> {
    pub fn name(self) -> &'static str {
        match self {
            Self::Events(table) => table.name,
            Self::Platforms(_) => "platform_daily",
            Self::Partners => "partner_metrics",
        }
    }

    fn measure_sql(self, measure: Measure) -> &'static str {
        match self {
            Self::Events(table) => table.measure_sql(measure),
            Self::Platforms(_) => measure.platform_sql(),
            Self::Partners => measure.partner_sql(),
        }
        .expect("the request's metrics come from the catalog of this source's dataset")
    }

    /// `FROM` and the tenant and range conditions, with their parameters.
    fn table_and_range(self, tenant: &str, query: &Query, range: TimeRange) -> (String, Vec<(String, Param)>) {
        let tenant = ("tenant".to_owned(), Param::Text(tenant.to_owned()));
        match self {
            // Whole hours of raw events are bounded by their hour, which
            // selects the same events and lets ClickHouse answer from
            // migration 0015's projection by source; never when the query
            // asks for raw events themselves (`use_rollups: false`).
            Self::Events(table) if table.kind == TableKind::Raw && query.use_rollups && range.whole_hours() => {
                time_range_sql(table.name, "toStartOfHour(ts)", tenant, range)
            }
            Self::Events(table) => time_range_sql(table.name, table.time_column(), tenant, range),
            // Periods are whole UTC hours (or days); a period belongs to the
            // range its start is in.
            Self::Partners => time_range_sql("partner_metrics FINAL", "period_start", tenant, range),
            // Dates are each account's own days; the range's days are taken as calendar dates.
            Self::Platforms(level) => {
                let (first, end) = query.zone.dates(range);
                let sql = "FROM platform_daily FINAL\nWHERE tenant = {tenant:String} AND level = {level:String} \
                           AND date >= toDate({first:String}) AND date < toDate({end:String})"
                    .to_owned();
                let params = vec![
                    tenant,
                    ("level".to_owned(), Param::Text(level.as_str().to_owned())),
                    ("first".to_owned(), Param::Text(first)),
                    ("end".to_owned(), Param::Text(end)),
                ];
                (sql, params)
            }
        }
    }

    /// The bucket of a row (see [`bucket_sql`]).
    fn bucket_sql(self, granularity: Granularity) -> String {
        match self {
            Self::Events(table) => bucket_sql(granularity, table.epoch_expr()),
            Self::Platforms(_) => date_bucket_sql(granularity, "date"),
            Self::Partners => bucket_sql(granularity, "toInt64(toUnixTimestamp(period_start))"),
        }
    }
}

/// `FROM table` and the tenant and `[from, to)` conditions on `time`.
fn time_range_sql(table: &str, time: &str, tenant: (String, Param), range: TimeRange) -> (String, Vec<(String, Param)>) {
    let sql = format!(
        "FROM {table}\nWHERE tenant = {{tenant:String}} AND {time} >= toDateTime({{from:UInt32}}, 'UTC') \
         AND {time} < toDateTime({{to:UInt32}}, 'UTC')"
    );
    (sql, vec![tenant, ("from".to_owned(), Param::Number(epoch_param(range.from))), ("to".to_owned(), Param::Number(epoch_param(range.to)))])
}

/// What one statement returns. Every shape selects `(p, part, rank, t,
/// dims, values)`: the period it is about, which [`Part`] of the answer the
/// row is, a ranked group's place (1, 2, …), the bucket start (0 without a
/// granularity), the group's dimension values and the measures in order.
/// Each is a plain `GROUP BY`, so that ClickHouse can answer it from a
/// rollup's aggregate projection (`GROUPING SETS` cannot use one).
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    /// One row per group of dimensions, ranked by `order_by`, limited.
    Groups,
    /// One row per time bucket and group, restricted to the groups that
    /// `ranked` (a [`Shape::Groups`] statement) returns, if given.
    Series { ranked: Option<&'a Statement> },
    /// One row for everything in the range.
    Totals,
}

/// Which part of an answer a row is, as the `part` column tells.
pub mod part {
    /// A bucket of a series (or a group's row without a granularity).
    pub const SERIES: u8 = 0;
    /// A period's totals.
    pub const TOTALS: u8 = 1;
    /// A ranked group of the main period, in place `rank`.
    pub const RANKED: u8 = 2;
}

/// A value bound to a `{name:Type}` placeholder.
#[derive(Debug, Clone)]
enum Param {
    Text(String),
    Texts(Vec<String>),
    Number(u32),
    Numbers(Vec<i64>),
}

/// SQL text plus its parameters, ready to bind to a client query.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    params: Vec<(String, Param)>,
}

impl Statement {
    pub fn bind(&self, client: &Client) -> clickhouse::query::Query {
        self.params.iter().fold(client.query(&self.sql), |query, (name, value)| match value {
            Param::Text(text) => query.param(name, text),
            Param::Texts(texts) => query.param(name, texts),
            Param::Number(number) => query.param(name, number),
            Param::Numbers(numbers) => query.param(name, numbers),
        })
    }

    /// Several statements as one, in one round trip; each part's parameters
    /// are renamed `p{i}_…` so that the parts' ranges and buckets stay apart.
    /// The parts' rows may come interleaved: only statements whose rows are
    /// told apart by `(p, part)` and ordered by `rank` may be joined.
    pub fn union_all(parts: Vec<Statement>) -> Statement {
        let mut sql = Vec::with_capacity(parts.len());
        let mut params = Vec::new();
        for (i, part) in parts.into_iter().enumerate() {
            let part = part.renamed(&format!("p{i}_"));
            sql.push(format!("({})", part.sql));
            params.extend(part.params);
        }
        Statement { sql: sql.join("\nUNION ALL\n"), params }
    }

    /// The same statement with every parameter named `{prefix}{name}`, to
    /// sit beside other statements' parameters in one text.
    fn renamed(mut self, prefix: &str) -> Statement {
        for (name, _) in &mut self.params {
            // Placeholders are `{name:Type}`: the colon keeps `f1` from matching `f10`.
            let renamed = format!("{prefix}{name}");
            self.sql = self.sql.replace(&format!("{{{name}:"), &format!("{{{renamed}:"));
            *name = renamed;
        }
        self
    }
}

/// The bucketing expression of a series, to exactly the buckets of
/// [`Granularity::bucket_start`]. ClickHouse's own `toStartOfHour` and
/// friends are not used: in zones such as Australia/Lord_Howe they cut hours
/// elsewhere than the API. Instead the API binds the range's pieces of
/// constant UTC offset (`off_starts`, `offsets`), and a row's local time is
/// its epoch plus the offset of its piece:
/// * minutes and hours: the whole local unit, or the piece's start if later
///   (a bucket starts at an offset change);
/// * days and longer: the local calendar date, rounded to the week, month,
///   quarter or year as a plain date, then looked up in the API's bucket
///   list (`bucket_dates` → `bucket_starts`); a date not in the list gives 0,
///   which the executor refuses as a row outside the expected buckets.
fn bucket_sql(granularity: Granularity, epoch: &str) -> String {
    if granularity == Granularity::None {
        return "toUInt32(0)".to_owned();
    }
    let piece = format!("arrayCount(s -> s <= {epoch}, {{off_starts:Array(Int64)}})");
    let offset = format!("{{offsets:Array(Int64)}}[{piece}]");
    let whole = |unit: i64| {
        format!("toUInt32(greatest({epoch} - positiveModulo({epoch} + {offset}, {unit}), {{off_starts:Array(Int64)}}[{piece}]))")
    };
    match granularity {
        Granularity::Minute => whole(60),
        Granularity::Hour => whole(3_600),
        _ => date_bucket_sql(granularity, &format!("toDate(toDateTime({epoch} + {offset}, 'UTC'))")),
    }
}

/// Days and longer from a local calendar `date`: rounded to the week,
/// month, quarter or year as a plain date, then looked up in the API's
/// bucket list.
fn date_bucket_sql(granularity: Granularity, date: &str) -> String {
    let lookup = |key: String| format!("toUInt32(transform(toString({key}), {{bucket_dates:Array(String)}}, {{bucket_starts:Array(Int64)}}, 0))");
    match granularity {
        Granularity::Day => lookup(date.to_owned()),
        Granularity::Week => lookup(format!("toMonday({date})")),
        Granularity::Month => lookup(format!("toStartOfMonth({date})")),
        Granularity::Quarter => lookup(format!("toStartOfQuarter({date})")),
        Granularity::Year => lookup(format!("toStartOfYear({date})")),
        // Platforms have no finer buckets (the request refuses them).
        Granularity::None | Granularity::Minute | Granularity::Hour => "toUInt32(0)".to_owned(),
    }
}

/// The parameters [`bucket_sql`] refers to, for `range` in the query's zone.
fn bucket_params(query: &Query, range: TimeRange) -> Vec<(String, Param)> {
    let buckets = query.granularity.buckets(range, &query.zone);
    let (starts, offsets) = query.zone.offset_pieces(buckets[0], range);
    let mut params = vec![("off_starts".to_owned(), Param::Numbers(starts)), ("offsets".to_owned(), Param::Numbers(offsets))];
    if !matches!(query.granularity, Granularity::None | Granularity::Minute | Granularity::Hour) {
        let dates = buckets.iter().map(|&start| query.zone.local_date(start)).collect();
        params.push(("bucket_dates".to_owned(), Param::Texts(dates)));
        params.push(("bucket_starts".to_owned(), Param::Numbers(buckets)));
    }
    params
}

/// The statement of `shape` over `range`, its rows tagged with `period`.
pub fn statement(query: &Query, source: Source<'_>, range: TimeRange, tenant: &str, measures: &[Measure], shape: Shape<'_>, period: u8) -> Statement {
    let (from_where, mut params) = source.table_and_range(tenant, query, range);
    let dimension_columns: Vec<&str> = match shape {
        Shape::Totals => Vec::new(),
        Shape::Groups | Shape::Series { .. } => query.dimensions.iter().map(|d| d.column()).collect(),
    };
    let dims_sql = if dimension_columns.is_empty() {
        "emptyArrayString()".to_owned()
    } else {
        format!("[{}]", dimension_columns.iter().map(|column| format!("toString({column})")).collect::<Vec<_>>().join(", "))
    };
    let granularity = match shape {
        Shape::Series { .. } => query.granularity,
        Shape::Groups | Shape::Totals => Granularity::None,
    };
    let values_sql = measures.iter().map(|m| format!("toInt64({})", source.measure_sql(*m))).collect::<Vec<_>>().join(", ");
    let order = order_sql(query, source).join(", ");
    let (part, rank) = match shape {
        Shape::Series { .. } => (part::SERIES, "toUInt64(0)".to_owned()),
        Shape::Totals => (part::TOTALS, "toUInt64(0)".to_owned()),
        // The window numbers the groups in the statement's own order; rows
        // of a `UNION ALL` keep no order, their rank does.
        Shape::Groups => (part::RANKED, format!("row_number() OVER (ORDER BY {order})")),
    };
    let mut sql = format!(
        "SELECT toUInt8({period}) AS p, toUInt8({part}) AS part, {rank} AS rank, {} AS t, {dims_sql} AS dims, [{values_sql}] AS values\n{from_where}",
        source.bucket_sql(granularity)
    );
    if granularity != Granularity::None {
        params.extend(bucket_params(query, range));
    }
    sql.push_str(&filters_sql(query, &mut params));
    if let Shape::Series { ranked: Some(ranked) } = shape {
        // ClickHouse builds the set of the subquery's groups once, before reading.
        let ranked = ranked.clone().renamed("r_");
        sql.push_str(&format!("\n  AND {dims_sql} IN (SELECT dims FROM ({}))", ranked.sql));
        params.extend(ranked.params);
    }
    let mut group_by: Vec<&str> = Vec::new();
    if let Shape::Series { .. } = shape {
        group_by.push("t");
    }
    group_by.extend(&dimension_columns);
    if !group_by.is_empty() {
        sql.push_str(&format!("\nGROUP BY {}", group_by.join(", ")));
    }
    if let (Shape::Groups, false) = (shape, dimension_columns.is_empty()) {
        sql.push_str(&format!("\nORDER BY {order}"));
        sql.push_str("\nLIMIT {limit:UInt32} OFFSET {offset:UInt32}");
        params.push(("limit".to_owned(), Param::Number(query.limit)));
        params.push(("offset".to_owned(), Param::Number(query.offset)));
    }
    Statement { sql, params }
}

/// `AND` conditions for the request's filters, their values as parameters.
fn filters_sql(query: &Query, params: &mut Vec<(String, Param)>) -> String {
    let mut sql = String::new();
    for (i, filter) in query.filters.iter().enumerate() {
        let (column, name) = (filter.dimension.column(), format!("f{i}"));
        let (condition, param) = match &filter.op {
            FilterOp::Eq(value) => (format!("{column} = {{{name}:String}}"), Param::Text(value.clone())),
            FilterOp::Neq(value) => (format!("{column} != {{{name}:String}}"), Param::Text(value.clone())),
            FilterOp::In(values) => (format!("{column} IN {{{name}:Array(String)}}"), Param::Texts(values.clone())),
            FilterOp::NotIn(values) => (format!("{column} NOT IN {{{name}:Array(String)}}"), Param::Texts(values.clone())),
            FilterOp::Contains(value) => {
                (format!("positionCaseInsensitiveUTF8({column}, {{{name}:String}}) > 0"), Param::Text(value.clone()))
            }
        };
        sql.push_str(&format!("\n  AND {condition}"));
        params.push((name, param));
    }
    sql
}

/// The currencies of the rows a platforms or partners query sums over `range`.
pub fn currencies_statement(query: &Query, source: Source<'_>, range: TimeRange, tenant: &str) -> Statement {
    let (from_where, mut params) = source.table_and_range(tenant, query, range);
    let filters = filters_sql(query, &mut params);
    Statement { sql: format!("SELECT groupUniqArray(currency) AS currencies\n{from_where}{filters}"), params }
}

/// The grains (`hour`, `day`) of the partner rows a partners query sums over `range`.
pub fn grains_statement(query: &Query, range: TimeRange, tenant: &str) -> Statement {
    let (from_where, mut params) = Source::Partners.table_and_range(tenant, query, range);
    let filters = filters_sql(query, &mut params);
    Statement { sql: format!("SELECT groupUniqArray(grain) AS grains\n{from_where}{filters}"), params }
}

/// Names of the accounts (from `platform_accounts`) or of the entities of
/// `level` (their name on the latest day) with the given ids.
pub fn names_statement(level: Option<Level>, tenant: &str, ids: Vec<String>) -> Statement {
    let mut params = vec![("tenant".to_owned(), Param::Text(tenant.to_owned())), ("ids".to_owned(), Param::Texts(ids))];
    let sql = match level {
        None => "SELECT account_id AS id, argMax(name, updated_at) AS name FROM platform_accounts \
                 WHERE tenant = {tenant:String} AND account_id IN {ids:Array(String)} GROUP BY account_id"
            .to_owned(),
        Some(level) => {
            params.push(("level".to_owned(), Param::Text(level.as_str().to_owned())));
            "SELECT entity_id AS id, argMax(entity_name, date) AS name FROM platform_daily FINAL \
             WHERE tenant = {tenant:String} AND level = {level:String} AND entity_id IN {ids:Array(String)} GROUP BY entity_id"
                .to_owned()
        }
    };
    Statement { sql, params }
}

/// The requested order, then the first metric descending, then every
/// dimension ascending so that equal rows still come in a stable order. A
/// term on an expression already ordered by could never decide and is left out.
fn order_sql(query: &Query, source: Source<'_>) -> Vec<String> {
    let aggregate = |measure: Measure| source.measure_sql(measure);
    let requested = query.order_by.iter().map(|order| {
        let direction = match order.direction {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        };
        match order.key {
            OrderKey::Metric(metric) => (metric.order_sql(aggregate), format!("{direction} NULLS LAST")),
            OrderKey::Dimension(dimension) => (dimension.column().to_owned(), direction.to_owned()),
        }
    });
    let tiebreakers = std::iter::once((query.metrics[0].order_sql(aggregate), "DESC NULLS LAST".to_owned()))
        .chain(query.dimensions.iter().map(|dimension| (dimension.column().to_owned(), "ASC".to_owned())));
    let mut terms: Vec<(String, String)> = Vec::new();
    for (expression, direction) in requested.chain(tiebreakers) {
        if !terms.iter().any(|(ordered, _)| *ordered == expression) {
            terms.push((expression, direction));
        }
    }
    terms.into_iter().map(|(expression, direction)| format!("{expression} {direction}")).collect()
}

/// Epoch seconds as ClickHouse `DateTime` takes them; ranges are validated
/// to lie far inside 1970..2106.
fn epoch_param(epoch: i64) -> u32 {
    u32::try_from(epoch.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics_catalog::Dimension;
    use crate::query::request::{Context, Limits, QueryRequest};
    use crate::query::time::Zone;
    use adhouse_core::schema::Retention;

    #[test]
    fn an_order_term_is_written_once_however_often_it_is_asked_for() {
        let request: QueryRequest = serde_json::from_value(serde_json::json!({
            "metrics": ["impressions", "revenue"],
            "dimensions": ["publisher_id"],
            "time_range": { "from": "2026-10-01", "to": "2026-10-07" },
            "order_by": [{ "field": "impressions" }, { "field": "publisher_id", "direction": "desc" }, { "field": "revenue" }],
        }))
        .unwrap();
        let utc = Zone::parse("timezone", "UTC").unwrap();
        let query = Query::from_request(request, &Context { default_zone: &utc, now: 1_800_000_000, limits: Limits { max_rows: 10_000 } }).unwrap();
        let table = Table {
            name: "events_1d",
            kind: TableKind::Rollup,
            bucket_secs: 86_400,
            dimensions: &Dimension::ALL,
            retention: Retention::Forever,
            retention_days: None,
        };
        let terms = order_sql(&query, Source::Events(&table));
        // The first metric and the dimension come again as tiebreakers; only
        // their first, requested, direction is kept.
        assert_eq!(terms.len(), 3, "{terms:?}");
        assert!(terms[0].ends_with(" DESC NULLS LAST") && terms[0].contains("impressions"), "{terms:?}");
        assert_eq!(terms[1], "publisher_id DESC");
        assert!(terms[2].contains("revenue"), "{terms:?}");
    }
}
