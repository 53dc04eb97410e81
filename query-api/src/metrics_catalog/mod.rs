//! The one place that says what can be asked: metrics (base measures and the
//! ratios derived from them) and dimensions. SQL identifiers and expressions
//! come only from here, never from a request.

mod metrics;

pub use adhouse_core::event::Dimension;
pub use metrics::{Formula, METRICS, Measure, Metric, MetricValue, Unit};
