//! The one place that says what can be asked: per dataset, metrics (base
//! measures and the ratios derived from them) and dimensions. SQL
//! identifiers and expressions come only from here, never from a request.

mod metrics;
mod partners;
mod platforms;

pub use adhouse_core::event::Dimension;
pub use metrics::{Formula, METRICS, Measure, Metric, MetricValue, PARTNER_METRICS, PLATFORM_METRICS, Unit};
pub use partners::PartnerDimension;
pub use platforms::PlatformDimension;

crate::names::named_enum!(
    /// What a query reads: log events (the rollups and raw `events`), the
    /// daily numbers of linked ad-platform accounts (`platform_daily`), or
    /// partners' own numbers from the live-metrics feeds (`partner_metrics`).
    Dataset { Logs = "logs", Platforms = "platforms", Partners = "partners" }
);

impl Dataset {
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            Self::Logs => METRICS,
            Self::Platforms => PLATFORM_METRICS,
            Self::Partners => PARTNER_METRICS,
        }
    }

    pub fn metric(self, name: &str) -> Option<&'static Metric> {
        self.metrics().iter().find(|metric| metric.name == name)
    }

    pub fn metric_names(self) -> Vec<&'static str> {
        self.metrics().iter().map(|metric| metric.name).collect()
    }

    pub fn dimensions(self) -> Vec<AnyDimension> {
        match self {
            Self::Logs => Dimension::ALL.into_iter().map(AnyDimension::Log).collect(),
            Self::Platforms => PlatformDimension::ALL.iter().copied().map(AnyDimension::Platform).collect(),
            Self::Partners => PartnerDimension::ALL.iter().copied().map(AnyDimension::Partner).collect(),
        }
    }

    pub fn dimension(self, name: &str) -> Option<AnyDimension> {
        self.dimensions().into_iter().find(|dimension| dimension.name() == name)
    }

    pub fn dimension_names(self) -> Vec<&'static str> {
        self.dimensions().into_iter().map(AnyDimension::name).collect()
    }
}

/// A dimension of either dataset, as queries carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyDimension {
    Log(Dimension),
    Platform(PlatformDimension),
    Partner(PartnerDimension),
}

impl AnyDimension {
    pub fn name(self) -> &'static str {
        match self {
            Self::Log(dimension) => dimension.name(),
            Self::Platform(dimension) => dimension.name(),
            Self::Partner(dimension) => dimension.name(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Log(dimension) => dimension.label(),
            Self::Platform(dimension) => dimension.label(),
            Self::Partner(dimension) => dimension.label(),
        }
    }

    /// The column grouped and filtered by (log dimensions are named after theirs).
    pub fn column(self) -> &'static str {
        match self {
            Self::Log(dimension) => dimension.name(),
            Self::Platform(dimension) => dimension.column(),
            Self::Partner(dimension) => dimension.column(),
        }
    }
}
