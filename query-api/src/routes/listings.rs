//! Lists for filter drop-downs and the sidebar, answered by the same query
//! machinery (and so the same rollup matcher) as `POST /api/v1/query`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::Tenant;
use crate::metrics_catalog::{AnyDimension, Dataset, Dimension, MetricValue};
use crate::error::{ApiError, ErrorCode, Result};
use crate::query::request::{Filter, FilterOp, Query};
use crate::query::response::Cell;
use crate::query::time::{self, Compare, Granularity, TimeRangeRequest};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValuesParams {
    search: Option<String>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct ValueEntry {
    value: String,
    /// Its display name, where one is configured (sources: `api.source_labels`).
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    impressions: MetricValue,
    requests: MetricValue,
}

const MAX_VALUES: u32 = 1_000;

/// Top values of one dimension over the last `days` local days up to and
/// including today (a value first seen today is offered too), most
/// impressions first.
async fn top_values(
    state: &AppState,
    tenant: &Tenant,
    dimension: Dimension,
    days: i64,
    search: Option<String>,
    limit: u32,
) -> Result<HttpResponse> {
    let now = jiff::Timestamp::now().as_second();
    let today: jiff::civil::Date = tenant.zone.local_date(now).parse().map_err(|err| ApiError::Internal(format!("today's date: {err}")))?;
    let first = today.checked_sub(jiff::Span::new().days(days - 1)).map_err(|err| ApiError::Internal(format!("a date {days} days back: {err}")))?;
    let window = TimeRangeRequest { from: Some(first.to_string()), to: Some(today.to_string()), preset: None };
    let range = time::resolve(&window, &tenant.zone, now)?;
    let dimension = AnyDimension::Log(dimension);
    let query = Query {
        dataset: Dataset::Logs,
        metrics: ["impressions", "requests"].iter().filter_map(|name| Dataset::Logs.metric(name)).collect(),
        dimensions: vec![dimension],
        filters: search.map(|text| Filter { dimension, op: FilterOp::Contains(text) }).into_iter().collect(),
        zone: tenant.zone.clone(),
        range,
        granularity: Granularity::None,
        compare: Compare::None,
        order_by: Vec::new(),
        limit,
        offset: 0,
        use_rollups: true,
    };
    let response = super::query::executor(state, tenant, now).run(&query).await?;
    state.metrics.observe_clickhouse(response.meta.table, &response.meta.clickhouse);
    let labels = response.labels.as_ref().and_then(|labels| labels.get(dimension.name())).cloned().unwrap_or_default();
    let values: Vec<ValueEntry> = response
        .rows
        .into_iter()
        .filter_map(|row| match <[Cell; 3]>::try_from(row).ok()? {
            [Cell::Text(value), Cell::Metric(impressions), Cell::Metric(requests)] => {
                let label = labels.get(value.as_str()).cloned();
                Some(ValueEntry { value, label, impressions, requests })
            }
            _ => None,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "dimension": dimension.name(),
        "values": values,
        "meta": response.meta,
    })))
}

/// `GET /api/v1/dimensions/{name}/values?search=&limit=`: the last 30 days.
pub async fn dimension_values(
    state: web::Data<AppState>,
    tenant: Tenant,
    name: web::Path<String>,
    params: web::Query<ValuesParams>,
) -> Result<HttpResponse> {
    let dimension = Dimension::by_name(&name)
        .ok_or_else(|| ApiError::unknown(ErrorCode::UnknownDimension, "name", &name, Dimension::names()))?;
    let ValuesParams { search, limit } = params.into_inner();
    let limit = limit.unwrap_or(50);
    if limit == 0 || limit > MAX_VALUES {
        return Err(ApiError::invalid(ErrorCode::InvalidValue, "limit", format!("must be 1 to {MAX_VALUES}")));
    }
    if search.as_ref().is_some_and(|text| text.chars().count() > 200) {
        return Err(ApiError::invalid(ErrorCode::InvalidValue, "search", "at most 200 characters"));
    }
    top_values(&state, &tenant, dimension, 30, search.filter(|text| !text.is_empty()), limit).await
}

/// `GET /api/v1/sources`: the ingest sources of the tenant's raw events
/// (their retention: the last 90 days), for the dashboard sidebar.
pub async fn sources(state: web::Data<AppState>, tenant: Tenant) -> Result<HttpResponse> {
    top_values(&state, &tenant, Dimension::Source, 90, None, MAX_VALUES).await
}

/// How far back `GET /api/v1/freshness` looks for the newest event.
const FRESHNESS_LOOKBACK_DAYS: u32 = 7;

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Latest {
    latest: i64,
}

/// `GET /api/v1/freshness`: the time of the tenant's newest event (within
/// the last week), for the dashboard's "data as of" label.
pub async fn freshness(state: web::Data<AppState>, tenant: Tenant) -> Result<HttpResponse> {
    // Bounded by whole hours, so that ClickHouse reads migration 0015's
    // projection (one row per hour and source) rather than every event.
    let sql = "SELECT toInt64(toUnixTimestamp(max(ts))) AS latest FROM events \
               WHERE tenant = {tenant:String} AND toStartOfHour(ts) >= toStartOfHour(now() - toIntervalDay({days:UInt32}))";
    let query = state.db.client().query(sql).param("tenant", &tenant.id).param("days", FRESHNESS_LOOKBACK_DAYS);
    let (rows, stats) = state.db.fetch_query::<Latest>(query).await?;
    state.metrics.observe_clickhouse("events", &stats);
    // max() over no rows is 1970: no event in the window.
    let latest = rows.first().map(|row| row.latest).filter(|&at| at > 0);
    let format = |at: i64| jiff::Timestamp::from_second(at).map(|ts| ts.to_string()).ok();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "latest_event_at": latest.and_then(format),
        "lookback_days": FRESHNESS_LOOKBACK_DAYS,
    })))
}
