//! Which insights metrics each Graph API version serves, as one table:
//! adding or retiring a metric is a line here, not code elsewhere.
//!
//! Page insights: <https://developers.facebook.com/docs/graph-api/reference/insights>;
//! the `page_impressions` family and `page_fans` were retired on 2025-11-15
//! (in every version, so an older `api_version` still asks for them and the
//! connector drops them with a warning). Instagram account insights:
//! <https://developers.facebook.com/docs/instagram-platform/api-reference/instagram-user/insights>;
//! `impressions` is gone from v22.0 on (and from every version since
//! 2025-04-21), replaced by `views`. The first versions of the replacements
//! are unverified.

/// A Meta product with organic insights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Pages,
    Instagram,
}

/// Where a metric's daily value goes in [`crate::model::DailyRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `impressions`: times content was on screen (views).
    Views,
    Reach,
    VideoViews,
    /// The gauge `organic.followers`.
    Followers,
    Follows,
    ProfileViews,
    Engagements,
}

/// Instagram's `metric_type`: one value per day, or one total over the
/// request's range (so asked one day at a time). Page insights are all
/// daily series and take no `metric_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    TimeSeries,
    TotalValue,
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TimeSeries => "time_series",
            Self::TotalValue => "total_value",
        }
    }
}

#[derive(Debug)]
pub struct Metric {
    pub product: Product,
    pub name: &'static str,
    pub column: Column,
    pub shape: Shape,
    /// The first API version that serves it.
    pub from: u32,
    /// The first API version that no longer does.
    pub until: Option<u32>,
}

const fn metric(product: Product, name: &'static str, column: Column, shape: Shape, from: u32, until: Option<u32>) -> Metric {
    Metric { product, name, column, shape, from, until }
}

use Column::*;
use Product::{Instagram, Pages};
use Shape::{TimeSeries, TotalValue};

pub static METRICS: &[Metric] = &[
    metric(Pages, "page_impressions", Views, TimeSeries, 0, Some(24)),
    metric(Pages, "page_impressions_unique", Reach, TimeSeries, 0, Some(24)),
    metric(Pages, "page_fans", Followers, TimeSeries, 0, Some(24)),
    metric(Pages, "page_media_view", Views, TimeSeries, 24, None),
    metric(Pages, "page_total_media_view_unique", Reach, TimeSeries, 24, None),
    metric(Pages, "page_follows", Followers, TimeSeries, 24, None),
    metric(Pages, "page_daily_follows_unique", Follows, TimeSeries, 0, None),
    metric(Pages, "page_views_total", ProfileViews, TimeSeries, 0, None),
    metric(Pages, "page_post_engagements", Engagements, TimeSeries, 0, None),
    metric(Pages, "page_video_views", VideoViews, TimeSeries, 0, None),
    metric(Instagram, "impressions", Views, TimeSeries, 0, Some(22)),
    metric(Instagram, "views", Views, TotalValue, 22, None),
    metric(Instagram, "reach", Reach, TimeSeries, 0, None),
    metric(Instagram, "follower_count", Follows, TimeSeries, 0, None),
    metric(Instagram, "profile_views", ProfileViews, TotalValue, 0, None),
    metric(Instagram, "total_interactions", Engagements, TotalValue, 0, None),
];

/// The metrics `product` asks for at API `version`.
pub fn for_version(product: Product, version: u32) -> Vec<&'static Metric> {
    METRICS.iter().filter(|m| m.product == product && m.from <= version && m.until.is_none_or(|until| version < until)).collect()
}

/// The major number of a Graph API version (`v25.0` → 25).
pub fn major(version: &str) -> Option<u32> {
    version.strip_prefix('v')?.strip_suffix(".0")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_fills_each_column_from_at_most_one_metric() {
        for product in [Pages, Instagram] {
            for version in 15..=30 {
                let metrics = for_version(product, version);
                for (i, a) in metrics.iter().enumerate() {
                    assert!(metrics[i + 1..].iter().all(|b| b.column != a.column), "{product:?} v{version}: {a:?} twice");
                }
            }
        }
    }

    #[test]
    fn retired_metrics_are_asked_for_only_by_the_versions_that_served_them() {
        let names = |product, version| for_version(product, version).iter().map(|m| m.name).collect::<Vec<_>>();
        assert!(names(Instagram, 21).contains(&"impressions") && !names(Instagram, 21).contains(&"views"));
        assert!(!names(Instagram, 22).contains(&"impressions") && names(Instagram, 25).contains(&"views"));
        assert!(names(Pages, 23).contains(&"page_fans") && !names(Pages, 25).contains(&"page_fans"));
        assert_eq!((major("v25.0"), major("v21.0"), major("25"), major("v25.1")), (Some(25), Some(21), None, None));
    }
}
