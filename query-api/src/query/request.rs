//! `POST /api/v1/query`: the request as it arrives, and its conversion into
//! a validated [`Query`] whose every name comes from the catalog.

use std::collections::BTreeSet;

use serde::Deserialize;

use adhouse_connectors::Level;

use super::time::{self, Compare, Granularity, TimeRange, TimeRangeRequest, Zone};
use crate::metrics_catalog::{AnyDimension, Dataset, Dimension, Measure, Metric};
use crate::error::{ApiError, ErrorCode, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// `logs` (the default), `platforms` or `partners`.
    pub dataset: Option<String>,
    pub metrics: Vec<String>,
    #[serde(default)]
    pub dimensions: Vec<String>,
    #[serde(default)]
    pub filters: Vec<FilterRequest>,
    pub time_range: TimeRangeRequest,
    /// IANA name; the token's timezone when absent.
    pub timezone: Option<String>,
    pub granularity: Option<String>,
    pub compare: Option<String>,
    #[serde(default)]
    pub order_by: Vec<OrderByRequest>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// Logs only: `false` forces raw `events` (benchmarks, checks); rollups by default.
    pub use_rollups: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterRequest {
    pub dimension: String,
    pub op: String,
    pub value: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderByRequest {
    pub field: String,
    pub direction: Option<String>,
}

/// A request checked against the catalog and the limits.
#[derive(Debug, Clone)]
pub struct Query {
    pub dataset: Dataset,
    pub metrics: Vec<&'static Metric>,
    pub dimensions: Vec<AnyDimension>,
    pub filters: Vec<Filter>,
    pub zone: Zone,
    pub range: TimeRange,
    pub granularity: Granularity,
    pub compare: Compare,
    pub order_by: Vec<OrderBy>,
    pub limit: u32,
    pub offset: u32,
    pub use_rollups: bool,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub dimension: AnyDimension,
    pub op: FilterOp,
}

#[derive(Debug, Clone)]
pub enum FilterOp {
    Eq(String),
    Neq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Contains(String),
}

crate::names::named_enum!(FilterOpName { Eq = "eq", Neq = "neq", In = "in", NotIn = "not_in", Contains = "contains" });
crate::names::named_enum!(Direction { Asc = "asc", Desc = "desc" });

#[derive(Debug, Clone, Copy)]
pub enum OrderKey {
    Metric(&'static Metric),
    Dimension(AnyDimension),
}

#[derive(Debug, Clone, Copy)]
pub struct OrderBy {
    pub key: OrderKey,
    pub direction: Direction,
}

/// Server-side bounds every query is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_rows: u32,
}

/// Who asks, when: the parts of a query the client does not control.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub default_zone: &'a Zone,
    pub now: i64,
    pub limits: Limits,
}

const MAX_METRICS: usize = 32;
const MAX_DIMENSIONS: usize = 5;
const MAX_FILTERS: usize = 32;
const MAX_FILTER_VALUES: usize = 1_000;
const MAX_VALUE_CHARS: usize = 1_000;
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_OFFSET: u32 = 1_000_000;

impl Query {
    pub fn from_request(request: QueryRequest, context: &Context<'_>) -> Result<Self> {
        let dataset = match &request.dataset {
            Some(name) => Dataset::parse("dataset", name)?,
            None => Dataset::Logs,
        };
        let metrics = parse_metrics(dataset, &request.metrics)?;
        let dimensions = parse_dimensions(dataset, &request.dimensions)?;
        let filters =
            request.filters.iter().enumerate().map(|(i, filter)| parse_filter(dataset, i, filter)).collect::<Result<Vec<_>>>()?;
        if filters.len() > MAX_FILTERS {
            return Err(ApiError::invalid(ErrorCode::InvalidValue, "filters", format!("at most {MAX_FILTERS} filters")));
        }
        let zone = match &request.timezone {
            Some(name) => Zone::parse("timezone", name)?,
            None => context.default_zone.clone(),
        };
        let range = time::resolve(&request.time_range, &zone, context.now)?;
        let granularity = match &request.granularity {
            Some(name) => Granularity::parse("granularity", name)?,
            None => Granularity::None,
        };
        let compare = match &request.compare {
            Some(name) => Compare::parse("compare", name)?,
            None => Compare::None,
        };
        let order_by = request
            .order_by
            .iter()
            .enumerate()
            .map(|(i, order)| parse_order(i, order, &metrics, &dimensions))
            .collect::<Result<Vec<_>>>()?;
        let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
        let offset = request.offset.unwrap_or(0);
        if limit == 0 || limit > context.limits.max_rows {
            return Err(ApiError::invalid(ErrorCode::InvalidValue, "limit", format!("must be 1 to {}", context.limits.max_rows)));
        }
        if offset > MAX_OFFSET {
            return Err(ApiError::invalid(ErrorCode::InvalidValue, "offset", format!("must be at most {MAX_OFFSET}")));
        }
        if dataset == Dataset::Platforms && matches!(granularity, Granularity::Minute | Granularity::Hour) {
            return Err(ApiError::invalid(
                ErrorCode::InvalidValue,
                "granularity",
                "platform numbers are daily: use day, week, month, quarter, year or none",
            ));
        }
        // A to-date cut is an instant inside a day; platform numbers are
        // whole days, so the cut day would count whole (all of yesterday
        // against today so far, about −96 % every morning).
        if dataset == Dataset::Platforms && compare.is_to_date() {
            return Err(ApiError::invalid(
                ErrorCode::InvalidValue,
                "compare",
                "platform numbers are whole days, so a period still running cannot be compared up to the same time: \
                 compare finished days (yesterday, last_7_days, last_month) with previous_period or previous_year",
            ));
        }
        if dataset == Dataset::Partners && granularity == Granularity::Minute {
            return Err(ApiError::invalid(ErrorCode::InvalidValue, "granularity", "partner numbers are hourly at finest: use hour or coarser"));
        }
        if dataset != Dataset::Logs && request.use_rollups.is_some() {
            return Err(ApiError::invalid(ErrorCode::InvalidValue, "use_rollups", "applies to the logs dataset only"));
        }
        let query = Self {
            dataset,
            metrics,
            dimensions,
            filters,
            zone,
            range,
            granularity,
            compare,
            order_by,
            limit,
            offset,
            use_rollups: request.use_rollups.unwrap_or(true),
        };
        query.check_size(context.limits)?;
        query.level()?;
        Ok(query)
    }

    /// The report level a platforms query reads: the one its campaign, ad
    /// group or ad dimension or filter names, else the account level (levels
    /// are stored side by side, so summing two would count twice).
    pub fn level(&self) -> Result<Level> {
        let mut levels: Vec<Level> = Vec::new();
        for dimension in self.dimensions.iter().chain(self.filters.iter().map(|filter| &filter.dimension)) {
            if let AnyDimension::Platform(dimension) = dimension
                && let Some(level) = dimension.level()
                && !levels.contains(&level)
            {
                levels.push(level);
            }
        }
        match levels.as_slice() {
            [] => Ok(Level::Account),
            [level] => Ok(*level),
            _ => Err(ApiError::invalid(
                ErrorCode::InvalidValue,
                "dimensions",
                "campaign, ad_group and ad are separate report levels: group or filter by one of them at a time",
            )),
        }
    }

    fn check_size(&self, limits: Limits) -> Result<()> {
        let max_days = self.granularity.max_range_days();
        if self.range.days() > max_days as f64 {
            return Err(ApiError::invalid(
                ErrorCode::RangeTooLong,
                "time_range",
                format!("granularity {} covers at most {max_days} days; this range has {:.1}", self.granularity.name(), self.range.days()),
            ));
        }
        let buckets = self.granularity.buckets(self.range, &self.zone).len() as u64;
        let groups = if self.dimensions.is_empty() { 1 } else { u64::from(self.limit) };
        if buckets * groups > u64::from(limits.max_rows) {
            return Err(ApiError::invalid(
                ErrorCode::TooManyRows,
                "limit",
                format!(
                    "{buckets} time buckets x {groups} groups exceeds the {} rows a response may hold; \
                     lower `limit`, shorten the range or coarsen the granularity",
                    limits.max_rows
                ),
            ));
        }
        Ok(())
    }

    /// The measures to fetch, in a fixed order.
    pub fn measures(&self) -> Vec<Measure> {
        let set: BTreeSet<Measure> = self.metrics.iter().flat_map(|metric| metric.measures()).collect();
        set.into_iter().collect()
    }

    /// Log dimensions the answering table must have: grouped and filtered ones.
    pub fn needed_dimensions(&self) -> BTreeSet<Dimension> {
        self.dimensions
            .iter()
            .chain(self.filters.iter().map(|filter| &filter.dimension))
            .filter_map(|dimension| match dimension {
                AnyDimension::Log(dimension) => Some(*dimension),
                AnyDimension::Platform(_) | AnyDimension::Partner(_) => None,
            })
            .collect()
    }

    /// Whether any requested metric is an amount of money (or a ratio of one).
    pub fn has_money(&self) -> bool {
        self.measures().iter().any(|measure| measure.is_money())
    }
}

fn parse_metrics(dataset: Dataset, names: &[String]) -> Result<Vec<&'static Metric>> {
    if names.is_empty() || names.len() > MAX_METRICS {
        return Err(ApiError::Field {
            code: ErrorCode::InvalidValue,
            field: "metrics".into(),
            message: format!("give 1 to {MAX_METRICS} metrics"),
            choices: dataset.metric_names(),
        });
    }
    let mut metrics: Vec<&'static Metric> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let metric = dataset
            .metric(name)
            .ok_or_else(|| ApiError::unknown(ErrorCode::UnknownMetric, format!("metrics[{i}]"), name, dataset.metric_names()))?;
        if !metrics.iter().any(|seen| seen.name == metric.name) {
            metrics.push(metric);
        }
    }
    Ok(metrics)
}

fn parse_dimension(dataset: Dataset, field: String, name: &str) -> Result<AnyDimension> {
    dataset.dimension(name).ok_or_else(|| ApiError::unknown(ErrorCode::UnknownDimension, field, name, dataset.dimension_names()))
}

fn parse_dimensions(dataset: Dataset, names: &[String]) -> Result<Vec<AnyDimension>> {
    let mut dimensions = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let dimension = parse_dimension(dataset, format!("dimensions[{i}]"), name)?;
        if !dimensions.contains(&dimension) {
            dimensions.push(dimension);
        }
    }
    if dimensions.len() > MAX_DIMENSIONS {
        return Err(ApiError::invalid(ErrorCode::InvalidValue, "dimensions", format!("at most {MAX_DIMENSIONS} dimensions")));
    }
    Ok(dimensions)
}

fn parse_filter(dataset: Dataset, i: usize, filter: &FilterRequest) -> Result<Filter> {
    let field = |name: &str| format!("filters[{i}].{name}");
    let dimension = parse_dimension(dataset, field("dimension"), &filter.dimension)?;
    let op = FilterOpName::parse(&field("op"), &filter.op)?;
    let check = |value: &String| {
        if value.chars().count() > MAX_VALUE_CHARS {
            Err(ApiError::invalid(ErrorCode::InvalidValue, field("value"), format!("values are at most {MAX_VALUE_CHARS} characters")))
        } else {
            Ok(value.clone())
        }
    };
    let single = || match (&filter.value, &filter.values) {
        (Some(value), None) => check(value),
        _ => Err(ApiError::invalid(ErrorCode::InvalidValue, field("value"), format!("op {} takes one string `value`", op.name()))),
    };
    let many = || match (&filter.value, &filter.values) {
        (None, Some(values)) if !values.is_empty() && values.len() <= MAX_FILTER_VALUES => values.iter().map(check).collect(),
        _ => Err(ApiError::invalid(
            ErrorCode::InvalidValue,
            field("values"),
            format!("op {} takes `values`, a list of 1 to {MAX_FILTER_VALUES} strings", op.name()),
        )),
    };
    let op = match op {
        FilterOpName::Eq => FilterOp::Eq(single()?),
        FilterOpName::Neq => FilterOp::Neq(single()?),
        FilterOpName::Contains => FilterOp::Contains(single()?),
        FilterOpName::In => FilterOp::In(many()?),
        FilterOpName::NotIn => FilterOp::NotIn(many()?),
    };
    Ok(Filter { dimension, op })
}

fn parse_order(i: usize, order: &OrderByRequest, metrics: &[&'static Metric], dimensions: &[AnyDimension]) -> Result<OrderBy> {
    let key = if let Some(metric) = metrics.iter().find(|metric| metric.name == order.field) {
        OrderKey::Metric(metric)
    } else if let Some(dimension) = dimensions.iter().find(|dimension| dimension.name() == order.field) {
        OrderKey::Dimension(*dimension)
    } else {
        let choices = metrics.iter().map(|metric| metric.name).chain(dimensions.iter().map(|d| d.name())).collect();
        return Err(ApiError::unknown(ErrorCode::InvalidChoice, format!("order_by[{i}].field"), &order.field, choices));
    };
    let direction = match &order.direction {
        Some(direction) => Direction::parse(&format!("order_by[{i}].direction"), direction)?,
        None => Direction::Desc,
    };
    Ok(OrderBy { key, direction })
}
