//! Metrics: the base measures a dataset's tables can sum, and the ratios
//! computed from those sums at query time. A ratio is never averaged: it is
//! the ratio of the summed numerator to the summed denominator over whatever
//! the row (or the totals) covers, and null when the denominator is zero.
//! Each dataset has its own list: [`METRICS`] for log events,
//! [`PLATFORM_METRICS`] for linked ad-platform accounts, [`PARTNER_METRICS`]
//! for partners' own reports.

use serde::{Serialize, Serializer};

use crate::money;

/// A sum kept by a table: log measures by the rollups (raw `events`
/// recomputes them from event rows), platform measures by `platform_daily`.
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
    AdImpressions,
    AdClicks,
    SpendMicros,
    ConversionsMicros,
    ConversionValueMicros,
    /// People reached in one entity-day; not additive (see [`Formula::NotAdditive`]).
    Reach,
    VideoViews,
    PartnerImpressions,
    PartnerRevenueMicros,
    /// Organic followers at the end of a day: a gauge (see [`Formula::Gauge`]).
    Followers,
    Follows,
    ProfileViews,
    Engagements,
}

impl Measure {
    /// The aggregate over a rollup (`events_1m`, `events_1h`, `events_1d`);
    /// `None` for a measure of another dataset.
    pub fn rollup_sql(self) -> Option<&'static str> {
        Some(match self {
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
            _ => return None,
        })
    }

    /// The same aggregate over raw `events`, matching `schema/fragments/rollup_measures.sql`.
    pub fn raw_sql(self) -> Option<&'static str> {
        Some(match self {
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
            _ => return None,
        })
    }

    /// The aggregate over `platform_daily FINAL` at one level. Reach is the
    /// day's value where a cell holds exactly one entity-day, else -1 (null).
    /// Followers are each entity's last known value in the cell (the latest
    /// day with a value: the key packs the day above the count, so the
    /// largest is the latest), summed across entities; -1 (null) when no
    /// entity has one.
    pub fn platform_sql(self) -> Option<&'static str> {
        Some(match self {
            Self::AdImpressions => "sum(impressions)",
            Self::AdClicks => "sum(clicks)",
            Self::SpendMicros => "sum(spend_micros)",
            Self::ConversionsMicros => "sum(conversions_micros)",
            Self::ConversionValueMicros => "sum(conversion_value_micros)",
            Self::Reach => "if(count() = 1, toInt64(any(reach)), -1)",
            Self::VideoViews => "sum(video_views)",
            Self::Followers => {
                "if(countIf(followers IS NOT NULL) = 0, -1, toInt64(arraySum(v -> v % 4294967296, tupleElement(maxMapIf(\
                 [concat(platform, '/', account_id, '/', entity_id)], [toUInt64(toUInt16(date)) * 4294967296 + assumeNotNull(followers)], \
                 followers IS NOT NULL), 2))))"
            }
            Self::Follows => "sum(follows)",
            Self::ProfileViews => "sum(profile_views)",
            Self::Engagements => "sum(engagements)",
            _ => return None,
        })
    }

    /// The aggregate over `partner_metrics FINAL`.
    pub fn partner_sql(self) -> Option<&'static str> {
        Some(match self {
            Self::PartnerImpressions => "sum(impressions)",
            Self::PartnerRevenueMicros => "sum(revenue_micros)",
            _ => return None,
        })
    }

    /// Whether the measure is an amount of money (never summed across currencies).
    pub fn is_money(self) -> bool {
        matches!(self, Self::RevenueMicros | Self::CostMicros | Self::SpendMicros | Self::ConversionValueMicros | Self::PartnerRevenueMicros)
    }

    /// Whether values are millionths of their unit (money, fractional
    /// conversions), so that ratios scale them back.
    fn in_micros(self) -> bool {
        matches!(
            self,
            Self::RevenueMicros | Self::CostMicros | Self::SpendMicros | Self::ConversionsMicros | Self::ConversionValueMicros | Self::PartnerRevenueMicros
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A whole number of things.
    Count,
    /// An amount of money, exact to the micro-unit: the tenant's reporting
    /// currency for logs, the account's (`meta.currency`) for platforms.
    Currency,
    /// A rate in percent (1.5 means 1.5 %).
    Percent,
    /// A quantity exact to the millionth (platforms count fractional conversions).
    Decimal,
    /// A plain ratio (3.2 means 3.2 times).
    Ratio,
}

#[derive(Debug, Clone, Copy)]
pub enum Formula {
    /// The measure itself, summed (or, for users, merged as a distinct-count sketch).
    Measure(Measure),
    /// A measure that does not add up across days or entities (reach): known
    /// only where a cell covers a single entity-day, null elsewhere.
    NotAdditive(Measure),
    /// A level at the end of each day (followers): a range has the last
    /// value of each entity, summed across entities, never summed over
    /// days; null where no day has a value.
    Gauge(Measure),
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

const fn not_additive(name: &'static str, label: &'static str, measure: Measure, description: &'static str) -> Metric {
    Metric { name, label, unit: Unit::Count, formula: Formula::NotAdditive(measure), description }
}

const fn gauge(name: &'static str, label: &'static str, measure: Measure, description: &'static str) -> Metric {
    Metric { name, label, unit: Unit::Count, formula: Formula::Gauge(measure), description }
}

use Measure as M;
use Unit::{Count, Currency, Decimal, Percent, Ratio};

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

/// Linked ad-platform accounts (`"dataset": "platforms"`): the platforms'
/// own numbers, money in each account's currency.
pub static PLATFORM_METRICS: &[Metric] = &[
    base("impressions", "Impressions", Count, M::AdImpressions, "Impressions the platform counted"),
    base("clicks", "Clicks", Count, M::AdClicks, "Clicks the platform counted"),
    base("spend", "Spend", Currency, M::SpendMicros, "Spend in the account currency"),
    base("conversions", "Conversions", Decimal, M::ConversionsMicros, "Conversions under the account's attribution setting (fractional on some platforms)"),
    base("conversion_value", "Conversion value", Currency, M::ConversionValueMicros, "Value of the conversions in the account currency"),
    not_additive("reach", "Reach", M::Reach, "People reached in one day by one entity; not additive, so null over several days or entities"),
    base("video_views", "Video views", Count, M::VideoViews, "Video views the platform counted"),
    gauge("followers", "Followers", M::Followers, "Followers of the Pages at the end of the range (each Page's last known day, summed across Pages); never summed over days"),
    base("follows", "New followers", Count, M::Follows, "New followers of the Pages and Instagram accounts"),
    base("profile_views", "Profile views", Count, M::ProfileViews, "Visits of the Pages and Instagram profiles"),
    base("engagements", "Engagements", Count, M::Engagements, "Reactions, comments, shares, saves and clicks on organic content"),
    ratio("ctr", "CTR", Percent, (M::AdClicks, None), M::AdImpressions, 100, "clicks / impressions"),
    ratio("cpc", "CPC", Currency, (M::SpendMicros, None), M::AdClicks, 1, "spend / clicks"),
    ratio("cpm", "CPM", Currency, (M::SpendMicros, None), M::AdImpressions, 1000, "spend / impressions * 1000"),
    ratio("cpa", "CPA", Currency, (M::SpendMicros, None), M::ConversionsMicros, 1, "spend / conversions"),
    ratio("roas", "ROAS", Ratio, (M::ConversionValueMicros, None), M::SpendMicros, 1, "conversion_value / spend"),
    ratio("conversion_rate", "Conversion rate", Percent, (M::ConversionsMicros, None), M::AdClicks, 100, "conversions / clicks"),
];

/// Partners' own reports (`"dataset": "partners"`): money in each row's
/// currency (`currency`), never summed across currencies.
pub static PARTNER_METRICS: &[Metric] = &[
    base("impressions", "Impressions", Count, M::PartnerImpressions, "Impressions the partner counted"),
    base("revenue", "Revenue", Currency, M::PartnerRevenueMicros, "Revenue the partner reports, in its currency"),
    ratio("ecpm", "eCPM", Currency, (M::PartnerRevenueMicros, None), M::PartnerImpressions, 1000, "revenue / impressions * 1000"),
];

/// One metric's value in a row or in the totals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricValue {
    Count(i64),
    Money { micros: i64 },
    /// A percentage or a plain ratio, as its unit says.
    Rate(f64),
    Decimal { micros: i64 },
    /// A ratio whose denominator is zero, or a value that does not add up.
    Null,
}

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Self::Count(count) => serializer.serialize_i64(count),
            Self::Money { micros } | Self::Decimal { micros } => money::decimal_literal(micros).serialize(serializer),
            Self::Rate(rate) => serializer.serialize_f64(rate),
            Self::Null => serializer.serialize_none(),
        }
    }
}

impl Metric {
    /// The measures this metric is computed from.
    pub fn measures(&self) -> Vec<Measure> {
        match self.formula {
            Formula::Measure(measure) | Formula::NotAdditive(measure) | Formula::Gauge(measure) => vec![measure],
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
            Formula::NotAdditive(_) => "not_additive",
            Formula::Gauge(_) => "gauge",
            Formula::Ratio { .. } => "ratio_of_sums",
        }
    }

    /// An SQL expression of the metric for ORDER BY, given each measure's
    /// aggregate (the catalog's own SQL, never request text).
    pub fn order_sql(&self, aggregate: impl Fn(Measure) -> &'static str) -> String {
        match self.formula {
            Formula::Measure(measure) | Formula::NotAdditive(measure) | Formula::Gauge(measure) => aggregate(measure).to_owned(),
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
                Unit::Decimal => MetricValue::Decimal { micros: sum(measure) },
                _ => MetricValue::Count(sum(measure)),
            },
            // Both come as -1 from SQL where they have no value.
            Formula::NotAdditive(measure) | Formula::Gauge(measure) => match sum(measure) {
                value if value < 0 => MetricValue::Null,
                value => MetricValue::Count(value),
            },
            Formula::Ratio { numerator: top, minus, denominator: bottom, scale } => {
                let denominator = i128::from(sum(bottom));
                if denominator == 0 {
                    return MetricValue::Null;
                }
                let numerator = i128::from(sum(top)) - minus.map_or(0, |m| i128::from(sum(m)));
                // Both sides in their own units: a denominator in micros
                // multiplies back, a numerator in micros divides back (money
                // results stay in micros).
                let bottom_scale: i128 = if bottom.in_micros() { 1_000_000 } else { 1 };
                match self.unit {
                    Unit::Currency => {
                        MetricValue::Money { micros: money::divide_rounded(numerator * i128::from(scale) * bottom_scale, denominator) }
                    }
                    _ => {
                        let top_scale = if top.in_micros() { 1e6 } else { 1.0 };
                        MetricValue::Rate(numerator as f64 * scale as f64 * bottom_scale as f64 / top_scale / denominator as f64)
                    }
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
            (Self::Decimal { micros: a }, Self::Decimal { micros: b }) => Self::Decimal { micros: a - b },
            (Self::Rate(a), Self::Rate(b)) => Self::Rate(a - b),
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
            Self::Money { micros } | Self::Decimal { micros } => Some(micros as f64),
            Self::Rate(rate) => Some(rate),
            Self::Null => None,
        }
    }
}
