use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::metrics_catalog::{Dimension, METRICS, Unit};
use crate::query::request::{DEFAULT_LIMIT, FilterOpName};
use crate::query::time::{Compare, Granularity, Preset};
use crate::state::AppState;

#[derive(Serialize)]
struct MetricEntry {
    name: &'static str,
    label: &'static str,
    unit: Unit,
    description: &'static str,
    /// `sum`, `ratio_of_sums` or `distinct_sketch_merge`.
    combine: &'static str,
}

#[derive(Serialize)]
struct DimensionEntry {
    name: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
struct GranularityEntry {
    name: &'static str,
    max_range_days: i64,
}

/// `GET /api/v1/catalog`: everything a dashboard may ask for. Public: it
/// holds no tenant data.
pub async fn catalog(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "metrics": METRICS.iter().map(|m| MetricEntry {
            name: m.name, label: m.label, unit: m.unit, description: m.description, combine: m.combine_rule(),
        }).collect::<Vec<_>>(),
        "dimensions": Dimension::ALL.iter().map(|d| DimensionEntry { name: d.name(), label: d.label() }).collect::<Vec<_>>(),
        "granularities": Granularity::ALL.iter().map(|g| GranularityEntry { name: g.name(), max_range_days: g.max_range_days() }).collect::<Vec<_>>(),
        "presets": Preset::names(),
        "compare": Compare::names(),
        "filter_ops": FilterOpName::names(),
        "limits": { "max_rows": state.limits.max_rows, "default_limit": DEFAULT_LIMIT },
    }))
}
