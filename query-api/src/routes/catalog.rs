use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::metrics_catalog::{Dataset, Metric, Unit};
use crate::query::request::{DEFAULT_LIMIT, FilterOpName};
use crate::query::time::{Compare, Granularity, Preset};
use crate::state::AppState;

#[derive(Serialize)]
struct MetricEntry {
    name: &'static str,
    label: &'static str,
    unit: Unit,
    description: &'static str,
    /// `sum`, `ratio_of_sums`, `distinct_sketch_merge`, `not_additive` or
    /// `gauge` (the last value of a range, never summed over days).
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

fn metric_entries(metrics: &'static [Metric]) -> Vec<MetricEntry> {
    metrics
        .iter()
        .map(|m| MetricEntry { name: m.name, label: m.label, unit: m.unit, description: m.description, combine: m.combine_rule() })
        .collect()
}

fn dimension_entries(dataset: Dataset) -> Vec<DimensionEntry> {
    dataset.dimensions().into_iter().map(|d| DimensionEntry { name: d.name(), label: d.label() }).collect()
}

/// `GET /api/v1/catalog`: everything a dashboard may ask for. Public: it
/// holds no tenant data. `metrics` and `dimensions` are the logs dataset's;
/// `datasets` has each dataset's own.
pub async fn catalog(state: web::Data<AppState>) -> HttpResponse {
    let datasets: serde_json::Map<String, serde_json::Value> = Dataset::ALL
        .iter()
        .map(|dataset| {
            let entry = serde_json::json!({ "metrics": metric_entries(dataset.metrics()), "dimensions": dimension_entries(*dataset) });
            (dataset.name().to_owned(), entry)
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({
        "metrics": metric_entries(Dataset::Logs.metrics()),
        "dimensions": dimension_entries(Dataset::Logs),
        "datasets": datasets,
        "granularities": Granularity::ALL.iter().map(|g| GranularityEntry { name: g.name(), max_range_days: g.max_range_days() }).collect::<Vec<_>>(),
        "presets": Preset::names(),
        "compare": Compare::names(),
        "filter_ops": FilterOpName::names(),
        "limits": { "max_rows": state.limits.max_rows, "default_limit": DEFAULT_LIMIT },
    }))
}
