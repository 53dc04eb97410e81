//! `POST /api/v1/discrepancy`: for each demand partner, each feed that
//! reports it and each period, the impressions and revenue adhouse counted
//! from the logs (`demand_partner`) against what the feed reports
//! (`partner_metrics`), the difference (theirs − ours) absolute and in
//! percent of ours, flagged above a threshold. Two feeds of one partner (its
//! old and new reporting API during a migration, two accounts of it) are
//! two rows, each against the whole of our count: summed, they would double
//! the partner's side.
//!
//! Both sides are ordinary queries of their datasets, run by the same
//! executor (so rollup choice, time buckets and tenancy are the query API's).
//! Currency-safe: the logs' revenue is in the tenant's reporting currency (`api.reporting_currency`, `api.tenant_currencies`); a
//! feed's revenue of a partner is compared only when every row of it in the
//! range is in that currency, else its revenue difference is null and its
//! currencies are listed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::execute::Executor;
use super::request::{Context, FilterRequest, Query, QueryRequest};
use super::response::Cell;
use super::time::{Granularity, ResolvedRange, TimeRangeRequest};
use crate::error::{ApiError, ErrorCode, Result};
use crate::metrics_catalog::MetricValue;

/// Partners one report covers at most (its rows are partners × periods).
pub const MAX_PARTNERS: usize = 50;
const DEFAULT_THRESHOLD_PERCENT: f64 = 5.0;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscrepancyRequest {
    pub time_range: TimeRangeRequest,
    /// IANA name; the token's timezone when absent.
    pub timezone: Option<String>,
    /// `hour`, `day` (the default), `week`, `month`, `quarter`, `year` or `none`.
    pub granularity: Option<String>,
    /// A difference whose magnitude exceeds this percentage of our count is
    /// flagged (default 5).
    pub threshold_percent: Option<f64>,
    /// Only these demand partners, at most [`MAX_PARTNERS`] (default: the
    /// [`MAX_PARTNERS`] with the most impressions on either side).
    #[serde(default)]
    pub partners: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct DiscrepancyResponse {
    /// Currency of every revenue value: the logs' (the tenant's reporting currency (`api.reporting_currency`, `api.tenant_currencies`)).
    pub currency: String,
    pub threshold_percent: f64,
    pub granularity: Granularity,
    pub time_range: ResolvedRange,
    /// More partners had impressions than the [`MAX_PARTNERS`] reported
    /// (those with the most on either side); name others in `partners`.
    pub truncated: bool,
    /// By partner, then feed: one row per feed reporting the partner.
    pub partners: Vec<PartnerDiscrepancy>,
}

#[derive(Debug, Serialize)]
pub struct PartnerDiscrepancy {
    pub partner: String,
    /// The feed whose numbers are `theirs` (`partners.feeds[].name`); null
    /// when no feed reports the partner over the range.
    pub feed: Option<String>,
    /// Currencies the feed reported the partner in over the range.
    pub currencies: Vec<String>,
    /// False when the feed reports in another currency than the logs:
    /// its revenue and revenue differences are then null.
    pub revenue_comparable: bool,
    pub totals: Compared,
    pub periods: Vec<PeriodDiscrepancy>,
}

#[derive(Debug, Serialize)]
pub struct PeriodDiscrepancy {
    /// Start of the period (absent without a granularity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(flatten)]
    pub compared: Compared,
}

#[derive(Debug, Serialize)]
pub struct Compared {
    pub ours: Numbers,
    pub theirs: Numbers,
    pub difference: Differences,
    /// Whether an impressions or revenue difference exceeds the threshold,
    /// or one side is 0 where the other is not.
    pub flagged: bool,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Numbers {
    pub impressions: MetricValue,
    pub revenue: MetricValue,
}

#[derive(Debug, Serialize)]
pub struct Differences {
    pub impressions: Difference,
    pub revenue: Difference,
}

#[derive(Debug, Serialize)]
pub struct Difference {
    /// theirs − ours, exact.
    pub absolute: MetricValue,
    /// (theirs − ours) / ours × 100; null when ours is zero (or not comparable).
    pub percent: Option<f64>,
}

/// One side's sums of a partner and period, money in micros.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    impressions: i64,
    revenue_micros: i64,
}

/// Ours and theirs per (partner, feed reporting it), then per period (the
/// time cell's text, empty without a granularity).
type Sides = BTreeMap<(String, Option<String>), BTreeMap<String, (Sums, Sums)>>;

impl DiscrepancyRequest {
    /// A query of `dataset` for `metrics` by `dimensions` (the partner's
    /// first) over the report's range, zone and granularity.
    fn side(&self, dataset: &str, metrics: &[&str], dimensions: &[&str]) -> QueryRequest {
        QueryRequest {
            dataset: Some(dataset.to_owned()),
            metrics: metrics.iter().map(|m| (*m).to_owned()).collect(),
            dimensions: dimensions.iter().map(|d| (*d).to_owned()).collect(),
            filters: Vec::new(),
            time_range: self.time_range.clone(),
            timezone: self.timezone.clone(),
            granularity: Some(self.granularity.clone().unwrap_or_else(|| "day".into())),
            compare: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
            use_rollups: None,
        }
    }
}

/// `request` restricted to `partners` (by its first dimension), answering at most `limit` groups.
fn of_partners(mut request: QueryRequest, partners: &[String], limit: u32, context: &Context<'_>) -> Result<Query> {
    request.filters.push(FilterRequest { dimension: request.dimensions[0].clone(), op: "in".into(), value: None, values: Some(partners.to_vec()) });
    request.limit = Some(limit);
    Query::from_request(request, context)
}

/// The partners a report covers, picked once so that both sides are
/// fetched for exactly the same ones.
struct Cover {
    partners: Vec<String>,
    /// Partners with impressions were left out beyond [`MAX_PARTNERS`].
    truncated: bool,
}

/// The named partners, or else the [`MAX_PARTNERS`] with the most
/// impressions on either side. Each side's largest `MAX_PARTNERS + 1` hold
/// every partner of that top (a partner ranked lower on both sides has
/// `MAX_PARTNERS + 1` above it), and the one more says whether any is left out.
async fn cover(executor: &Executor<'_>, request: &DiscrepancyRequest, context: &Context<'_>) -> Result<Cover> {
    if !request.partners.is_empty() {
        let mut partners = request.partners.clone();
        partners.sort();
        partners.dedup();
        if partners.len() > MAX_PARTNERS {
            return Err(ApiError::invalid(
                ErrorCode::InvalidValue,
                "partners",
                format!("a report covers at most {MAX_PARTNERS} partners; this one names {}: split it", partners.len()),
            ));
        }
        return Ok(Cover { partners, truncated: false });
    }
    let largest = |dataset: &str, dimension: &str| {
        let mut side = request.side(dataset, &["impressions"], &[dimension]);
        side.granularity = Some("none".into());
        side.limit = Some(MAX_PARTNERS as u32 + 1);
        Query::from_request(side, context)
    };
    let (ours, theirs) = (largest("logs", "demand_partner")?, largest("partners", "partner")?);
    let (ours, theirs) = tokio::try_join!(executor.run(&ours), executor.run(&theirs))?;
    let mut impressions: BTreeMap<String, i64> = BTreeMap::new();
    for row in ours.rows.iter().chain(&theirs.rows) {
        let (_, dims, values) = split(row, false, 1);
        let most = impressions.entry(dims[0].clone()).or_default();
        *most = (*most).max(count(values[0]));
    }
    let mut ranked: Vec<(String, i64)> = impressions.into_iter().collect();
    ranked.sort_by(|(a, a_impressions), (b, b_impressions)| b_impressions.cmp(a_impressions).then_with(|| a.cmp(b)));
    // A partner without impressions on either side (the logs' empty demand
    // partner of unfilled requests) is no loss worth reporting.
    let truncated = ranked.iter().skip(MAX_PARTNERS).any(|(_, impressions)| *impressions != 0);
    Ok(Cover { partners: ranked.into_iter().take(MAX_PARTNERS).map(|(partner, _)| partner).collect(), truncated })
}

/// Runs the report: our side from the logs, their impressions in every
/// currency, their revenue in the logs' currency only, each for the same partners.
pub async fn run(executor: &Executor<'_>, request: &DiscrepancyRequest, context: &Context<'_>, logs_currency: &str) -> Result<DiscrepancyResponse> {
    let threshold = request.threshold_percent.unwrap_or(DEFAULT_THRESHOLD_PERCENT);
    if !(threshold.is_finite() && threshold >= 0.0) {
        return Err(ApiError::invalid(ErrorCode::InvalidValue, "threshold_percent", "must be a number of at least 0"));
    }
    // Validated before anything is read; its range and granularity are the report's.
    let shape = Query::from_request(request.side("logs", &["impressions"], &[]), context)?;
    let cover = cover(executor, request, context).await?;
    let respond = |partners: Vec<PartnerDiscrepancy>| DiscrepancyResponse {
        currency: logs_currency.to_owned(),
        threshold_percent: threshold,
        granularity: shape.granularity,
        time_range: ResolvedRange::new(shape.range, &shape.zone),
        truncated: cover.truncated,
        partners,
    };
    if cover.partners.is_empty() {
        return Ok(respond(Vec::new()));
    }
    let set = cover.partners.as_slice();
    // The feeds reporting these partners, and in which currencies: first,
    // since each (partner, feed) is a group of their side.
    let mut currencies = request.side("partners", &["impressions"], &["partner", "feed", "currency"]);
    currencies.granularity = Some("none".into());
    let max_rows = context.limits.max_rows;
    let currencies_answer = executor.run(&of_partners(currencies, set, max_rows, context)?).await?;
    if currencies_answer.rows.len() >= max_rows as usize {
        return Err(ApiError::invalid(ErrorCode::TooManyRows, "partners", format!("these partners report in more than {max_rows} partner-feed-currency triples: name fewer")));
    }
    let mut currencies: BTreeMap<(String, Option<String>), BTreeSet<String>> = BTreeMap::new();
    for row in &currencies_answer.rows {
        let (_, dims, _) = split(row, false, 3);
        currencies.entry((dims[0].clone(), Some(dims[1].clone()))).or_default().insert(dims[2].clone());
    }
    let in_logs_currency = FilterRequest { dimension: "currency".into(), op: "eq".into(), value: Some(logs_currency.to_owned()), values: None };
    let ours = of_partners(request.side("logs", &["impressions", "revenue"], &["demand_partner"]), set, set.len() as u32, context)?;
    let sources = currencies.len().max(1) as u32;
    let their_impressions = of_partners(request.side("partners", &["impressions"], &["partner", "feed"]), set, sources, context)?;
    let mut revenue = request.side("partners", &["revenue"], &["partner", "feed"]);
    revenue.filters.push(in_logs_currency);
    let their_revenue = of_partners(revenue, set, sources, context)?;
    let (ours_answer, impressions_answer, revenue_answer) =
        tokio::try_join!(executor.run(&ours), executor.run(&their_impressions), executor.run(&their_revenue))?;

    let timed = shape.granularity != Granularity::None;
    let mut sides: Sides = currencies.keys().map(|source| (source.clone(), BTreeMap::new())).collect();
    for row in &impressions_answer.rows {
        let (time, dims, values) = split(row, timed, 2);
        sides.entry((dims[0].clone(), Some(dims[1].clone()))).or_default().entry(time).or_default().1.impressions += count(values[0]);
    }
    for row in &revenue_answer.rows {
        let (time, dims, values) = split(row, timed, 2);
        sides.entry((dims[0].clone(), Some(dims[1].clone()))).or_default().entry(time).or_default().1.revenue_micros += micros(values[0]);
    }
    for row in &ours_answer.rows {
        let (time, dims, values) = split(row, timed, 1);
        let partner = &dims[0];
        // Every feed of the partner is set against the whole of our count;
        // a partner no feed reports gets a row of its own.
        let first = (partner.clone(), None);
        if sides.range(first.clone()..).next().is_none_or(|((reported, _), _)| reported != partner) {
            sides.insert(first.clone(), BTreeMap::new());
        }
        for (_, periods) in sides.range_mut(first..).take_while(|((reported, _), _)| reported == partner) {
            let cell = &mut periods.entry(time.clone()).or_default().0;
            cell.impressions += count(values[0]);
            cell.revenue_micros += micros(values[1]);
        }
    }

    // A row with nothing on either side (only the zeros of rows a feed stopped reporting) has nothing to compare.
    let partners = sides
        .into_iter()
        .filter(|(_, periods)| periods.values().any(|(ours, theirs)| [ours, theirs].iter().any(|s| s.impressions != 0 || s.revenue_micros != 0)))
        .map(|(source, periods)| {
            let currencies: Vec<String> = currencies.remove(&source).unwrap_or_default().into_iter().collect();
            let comparable = currencies.iter().all(|currency| currency == logs_currency);
            let mut total = (Sums::default(), Sums::default());
            let periods = periods
                .into_iter()
                .map(|(time, (ours, theirs))| {
                    for (sum, side) in [(&mut total.0, ours), (&mut total.1, theirs)] {
                        sum.impressions += side.impressions;
                        sum.revenue_micros += side.revenue_micros;
                    }
                    PeriodDiscrepancy { time: timed.then_some(time), compared: compare(ours, theirs, comparable, threshold) }
                })
                .collect();
            let (partner, feed) = source;
            PartnerDiscrepancy { partner, feed, currencies, revenue_comparable: comparable, totals: compare(total.0, total.1, comparable, threshold), periods }
        })
        .collect();
    Ok(respond(partners))
}

/// A dense row's time text (empty without one), its `dimensions` texts and its metric values.
fn split(row: &[Cell], timed: bool, dimensions: usize) -> (String, Vec<String>, Vec<MetricValue>) {
    let text = |cell: &Cell| match cell {
        Cell::Text(text) => text.clone(),
        Cell::Metric(_) => unreachable!("time and dimension cells are text"),
    };
    let skip = usize::from(timed);
    let time = if timed { text(&row[0]) } else { String::new() };
    let dims = row[skip..skip + dimensions].iter().map(text).collect();
    let values = row[skip + dimensions..]
        .iter()
        .map(|cell| match cell {
            Cell::Metric(value) => *value,
            Cell::Text(_) => unreachable!("metric cells follow the dimensions"),
        })
        .collect();
    (time, dims, values)
}

fn count(value: MetricValue) -> i64 {
    match value {
        MetricValue::Count(count) => count,
        _ => 0,
    }
}

fn micros(value: MetricValue) -> i64 {
    match value {
        MetricValue::Money { micros } => micros,
        _ => 0,
    }
}

fn compare(ours: Sums, theirs: Sums, comparable: bool, threshold: f64) -> Compared {
    // One side at zero where the other is not (a lost log file, a partner
    // missing from the mapping, a feed that stopped) is the largest
    // discrepancy there is, whatever the threshold, though it has no
    // percentage when ours is the zero.
    let one_sided = |ours: i64, theirs: i64| (ours == 0) != (theirs == 0);
    let missing = one_sided(ours.impressions, theirs.impressions) || (comparable && one_sided(ours.revenue_micros, theirs.revenue_micros));
    let difference = |ours: MetricValue, theirs: MetricValue| Difference { absolute: theirs.minus(ours), percent: theirs.percent_change_from(ours) };
    let money = |micros: i64| if comparable { MetricValue::Money { micros } } else { MetricValue::Null };
    let ours = Numbers { impressions: MetricValue::Count(ours.impressions), revenue: money(ours.revenue_micros) };
    let theirs = Numbers { impressions: MetricValue::Count(theirs.impressions), revenue: money(theirs.revenue_micros) };
    let difference = Differences { impressions: difference(ours.impressions, theirs.impressions), revenue: difference(ours.revenue, theirs.revenue) };
    let over = |d: &Difference| d.percent.is_some_and(|percent| percent.abs() > threshold);
    let flagged = missing || over(&difference.impressions) || over(&difference.revenue);
    Compared { ours, theirs, difference, flagged }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Sums = Sums { impressions: 0, revenue_micros: 0 };
    const SOME: Sums = Sums { impressions: 10_000, revenue_micros: 5_000_000 };

    /// The partner counted 10,000 impressions and 5 USD where the logs have
    /// none (a lost log file, a partner missing from the mapping): there is
    /// no percentage of our zero, yet it is the largest discrepancy there is.
    #[test]
    fn a_partner_reporting_what_the_logs_lack_entirely_is_flagged() {
        let compared = compare(NONE, SOME, true, 5.0);
        assert_eq!((compared.difference.impressions.percent, compared.flagged), (None, true));
        assert!(compare(NONE, Sums { revenue_micros: 0, ..SOME }, true, 5.0).flagged, "impressions alone");
        assert!(compare(Sums { impressions: 10_000, ..NONE }, SOME, true, 5.0).flagged, "revenue alone");
    }

    /// Whatever the threshold: a partner reporting nothing of what the logs hold is flagged too;
    /// nothing on both sides, or revenue in another currency, is not.
    #[test]
    fn one_side_at_zero_is_flagged_at_any_threshold_and_nothing_on_both_sides_is_not() {
        assert!(compare(SOME, NONE, true, 1_000.0).flagged);
        assert!(!compare(NONE, NONE, true, 5.0).flagged);
        assert!(!compare(SOME, Sums { revenue_micros: 0, ..SOME }, false, 5.0).flagged, "revenue is not compared across currencies");
    }
}
