//! Metrics: the base measures every table can sum, and the ratios computed
//! from those sums at query time. A ratio is never averaged: it is the ratio
//! of the summed numerator to the summed denominator over whatever the row
//! (or the totals) covers, and null when the denominator is zero.

use serde::{Serialize, Serializer};

use crate::money;

/// A sum kept by the rollups; raw `events` recomputes it from event rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    Requests,
    Impressions,
    Clicks,
    VideoStarts,
    VideoFirstQuartiles,
    VideoMidpoints,
    VideoThirdQuartiles,
    VideoCompletes,
    Errors,
    RevenueMicros,
    CostMicros,
    Users,
}

impl Measure {
    /// The aggregate over a rollup (`events_1m`, `events_1h`, `events_1d`).
    pub fn rollup_sql(self) -> &'static str {
        match self {
            Self::Requests => "sum(requests)",
            Self::Impressions => "sum(impressions)",
            Self::Clicks => "sum(clicks)",
            Self::VideoStarts => "sum(video_starts)",
            Self::VideoFirstQuartiles => "sum(video_first_quartiles)",
            Self::VideoMidpoints => "sum(video_midpoints)",
            Self::VideoThirdQuartiles => "sum(video_third_quartiles)",
            Self::VideoCompletes => "sum(video_completes)",
            Self::Errors => "sum(errors)",
            Self::RevenueMicros => "sum(revenue_micros)",
            Self::CostMicros => "sum(cost_micros)",
            Self::Users => "uniqCombined64Merge(users)",
        }
    }

    /// The same aggregate over raw `events`, matching `schema/fragments/rollup_measures.sql`.
    pub fn raw_sql(self) -> &'static str {
        match self {
            Self::Requests => "countIf(event_type = 'request')",
            Self::Impressions => "countIf(event_type = 'impression')",
            Self::Clicks => "countIf(event_type = 'click')",
            Self::VideoStarts => "countIf(event_type = 'video_start')",
            Self::VideoFirstQuartiles => "countIf(event_type = 'video_first_quartile')",
            Self::VideoMidpoints => "countIf(event_type = 'video_midpoint')",
            Self::VideoThirdQuartiles => "countIf(event_type = 'video_third_quartile')",
            Self::VideoCompletes => "countIf(event_type = 'video_complete')",
            Self::Errors => "countIf(event_type = 'error')",
            Self::RevenueMicros => "sum(revenue_micros)",
            Self::CostMicros => "sum(cost_micros)",
            Self::Users => "uniqCombined64If(user_id_hash, user_id_hash != 0)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A whole number of things.
    Count,
    /// An amount of the tenant's reporting currency, exact to the micro-unit.
    Currency,
    /// A rate in percent (1.5 means 1.5 %).
    Percent,
}

#[derive(Debug, Clone, Copy)]
pub enum Formula {
    /// The measure itself, summed (or, for users, merged as a distinct-count sketch).
    Measure(Measure),
    /// `(numerator - minus) / denominator * scale`, from summed values.
    Ratio { numerator: Measure, minus: Option<Measure>, denominator: Measure, scale: i64 },
}

#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub label: &'static str,
    pub unit: Unit,
    pub formula: Formula,
    pub description: &'static str,
}

const fn base(name: &'static str, label: &'static str, unit: Unit, measure: Measure, description: &'static str) -> Metric {
    Metric { name, label, unit, formula: Formula::Measure(measure), description }
}

const fn ratio(
    name: &'static str,
    label: &'static str,
    unit: Unit,
    (numerator, minus): (Measure, Option<Measure>),
    denominator: Measure,
    scale: i64,
    description: &'static str,
) -> Metric {
    Metric { name, label, unit, formula: Formula::Ratio { numerator, minus, denominator, scale }, description }
}

use Measure as M;
use Unit::{Count, Currency, Percent};

pub static METRICS: &[Metric] = &[
    base("requests", "Requests", Count, M::Requests, "Ad requests received"),
    base("impressions", "Impressions", Count, M::Impressions, "Ads shown"),
    base("clicks", "Clicks", Count, M::Clicks, "Clicks on ads"),
    base("video_starts", "Video starts", Count, M::VideoStarts, "VAST video starts"),
    base("video_first_quartiles", "Video 25 %", Count, M::VideoFirstQuartiles, "VAST first quartiles"),
    base("video_midpoints", "Video 50 %", Count, M::VideoMidpoints, "VAST midpoints"),
    base("video_third_quartiles", "Video 75 %", Count, M::VideoThirdQuartiles, "VAST third quartiles"),
    base("video_completes", "Video completes", Count, M::VideoCompletes, "VAST completes"),
    base("errors", "Errors", Count, M::Errors, "Error events"),
    base("revenue", "Revenue", Currency, M::RevenueMicros, "Revenue in the reporting currency"),
    base("cost", "Cost", Currency, M::CostMicros, "Cost in the reporting currency"),
    base("users", "Unique users", Count, M::Users, "Distinct known viewers (HyperLogLog estimate, merged, never summed)"),
    ratio("fill_rate", "Fill rate", Percent, (M::Impressions, None), M::Requests, 100, "impressions / requests"),
    ratio("ctr", "CTR", Percent, (M::Clicks, None), M::Impressions, 100, "clicks / impressions"),
    ratio("vtr", "Completion rate (VTR)", Percent, (M::VideoCompletes, None), M::VideoStarts, 100, "video_completes / video_starts"),
    ratio("ecpm", "eCPM", Currency, (M::RevenueMicros, None), M::Impressions, 1000, "revenue / impressions * 1000"),
    ratio("ecpc", "eCPC", Currency, (M::RevenueMicros, None), M::Clicks, 1, "revenue / clicks"),
    ratio("margin", "Margin", Percent, (M::RevenueMicros, Some(M::CostMicros)), M::RevenueMicros, 100, "(revenue - cost) / revenue"),
    ratio("error_rate", "Error rate", Percent, (M::Errors, None), M::Requests, 100, "errors / requests"),
];

/// One metric's value in a row or in the totals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricValue {
    Count(i64),
    Money { micros: i64 },
    Percent(f64),
    /// A ratio whose denominator is zero.
    Null,
}

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::Count(count) => serializer.serialize_i64(count),
            Self::Money { micros } => money::decimal_literal(micros).serialize(serializer),
            Self::Percent(percent) => serializer.serialize_f64(percent),
            Self::Null => serializer.serialize_none(),
        }
    }
}

impl Metric {
    pub fn by_name(name: &str) -> Option<&'static Metric> {
        METRICS.iter().find(|metric| metric.name == name)
    }

    pub fn names() -> Vec<&'static str> {
        METRICS.iter().map(|metric| metric.name).collect()
    }

    /// The measures this metric is computed from.
    pub fn measures(&self) -> Vec<Measure> {
        match self.formula {
            Formula::Measure(measure) => vec![measure],
            Formula::Ratio { numerator, minus, denominator, .. } => {
                [Some(numerator), minus, Some(denominator)].into_iter().flatten().collect()
            }
        }
    }

    /// How values of this metric combine across rows, for the catalog.
    pub fn combine_rule(&self) -> &'static str {
        match self.formula {
            Formula::Measure(Measure::Users) => "distinct_sketch_merge",
            Formula::Measure(_) => "sum",
            Formula::Ratio { .. } => "ratio_of_sums",
        }
    }

    /// An SQL expression of the metric for ORDER BY, given each measure's
    /// aggregate (the catalog's own SQL, never request text).
    pub fn order_sql(&self, aggregate: impl Fn(Measure) -> &'static str) -> String {
        match self.formula {
            Formula::Measure(measure) => aggregate(measure).to_owned(),
            Formula::Ratio { numerator, minus, denominator, .. } => {
                let numerator = match minus {
                    Some(minus) => format!("({} - {})", aggregate(numerator), aggregate(minus)),
                    None => aggregate(numerator).to_owned(),
                };
                format!("{numerator} / nullIf({}, 0)", aggregate(denominator))
            }
        }
    }

    /// The value from summed measures; `sum` returns a measure's value.
    pub fn value(&self, sum: impl Fn(Measure) -> i64) -> MetricValue {
        match self.formula {
            Formula::Measure(measure) => match self.unit {
                Unit::Currency => MetricValue::Money { micros: sum(measure) },
                _ => MetricValue::Count(sum(measure)),
            },
            Formula::Ratio { numerator, minus, denominator, scale } => {
                let denominator = i128::from(sum(denominator));
                if denominator == 0 {
                    return MetricValue::Null;
                }
                let numerator = i128::from(sum(numerator)) - minus.map_or(0, |m| i128::from(sum(m)));
                match self.unit {
                    Unit::Currency => MetricValue::Money { micros: money::divide_rounded(numerator * i128::from(scale), denominator) },
                    _ => MetricValue::Percent(numerator as f64 * scale as f64 / denominator as f64),
                }
            }
        }
    }
}

impl MetricValue {
    /// `self - base`: exact for counts and money, in points for percentages.
    pub fn minus(self, base: MetricValue) -> MetricValue {
        match (self, base) {
            (Self::Count(a), Self::Count(b)) => Self::Count(a - b),
            (Self::Money { micros: a }, Self::Money { micros: b }) => Self::Money { micros: a - b },
            (Self::Percent(a), Self::Percent(b)) => Self::Percent(a - b),
            _ => Self::Null,
        }
    }

    /// Relative change from `base` in percent; `None` when `base` is zero or null.
    pub fn percent_change_from(self, base: MetricValue) -> Option<f64> {
        let (current, base) = (self.as_f64()?, base.as_f64()?);
        (base != 0.0).then(|| (current - base) / base.abs() * 100.0)
    }

    fn as_f64(self) -> Option<f64> {
        match self {
            Self::Count(count) => Some(count as f64),
            Self::Money { micros } => Some(micros as f64),
            Self::Percent(percent) => Some(percent),
            Self::Null => None,
        }
    }
}
