//! The one place that says what can be asked: metrics (base measures and the
//! ratios derived from them) and dimensions. SQL identifiers and expressions
//! come only from here, never from a request.

mod dimensions;
mod metrics;

pub use dimensions::Dimension;
pub use metrics::{Formula, METRICS, Measure, Metric, MetricValue, Unit};
