//! `GET /api/v1/openapi.json`. The prose and shapes are written by hand in
//! `query-api/openapi.json`; every closed set and limit the server enforces
//! is filled in here from the code that enforces it (metric, dimension and
//! timezone names, granularities, presets, operators, error codes, `limit`
//! and `offset` maxima, the error responses of every route), so the document
//! cannot drift from the server.

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use adhouse_connectors::PlatformId;
use serde_json::{Value, json};

use crate::error::ErrorCode;
use crate::metrics_catalog::{Dataset, Dimension, PartnerDimension, PlatformDimension};
use crate::query::request::{Direction, FilterOpName, MAX_OFFSET};
use crate::query::time::{Compare, Granularity, Preset, Zone};
use crate::state::AppState;

const SKELETON: &str = include_str!("../../openapi.json");

/// Routes that run ClickHouse queries, and so can time out or find it down.
const CLICKHOUSE_ROUTES: &[&str] = &[
    "/api/v1/query",
    "/api/v1/dimensions/{name}/values",
    "/api/v1/sources",
    "/api/v1/freshness",
    "/readyz",
    "/api/v1/accounts",
    "/api/v1/accounts/grants/{id}",
    "/api/v1/accounts/{platform}/{id}",
    "/api/v1/discrepancy",
    "/api/v1/feeds",
];

fn reference(schema: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{schema}") })
}

fn problem(description: &str) -> Value {
    json!({ "description": description, "content": { "application/problem+json": { "schema": reference("Problem") } } })
}

/// The document, for a server that allows `max_rows` rows per response.
pub fn document(max_rows: u32) -> Value {
    let mut doc: Value = serde_json::from_str(SKELETON).expect("openapi.json is valid JSON (checked by a test)");
    let names = |names: Vec<&'static str>| json!({ "type": "string", "enum": names });
    let schemas = &mut doc["components"]["schemas"];
    schemas["MetricName"] = names(Dataset::Logs.metric_names());
    schemas["PlatformMetricName"] = names(Dataset::Platforms.metric_names());
    schemas["DimensionName"] = names(Dimension::names());
    schemas["PlatformDimensionName"] = names(PlatformDimension::names());
    schemas["PartnerMetricName"] = names(Dataset::Partners.metric_names());
    schemas["PartnerDimensionName"] = names(PartnerDimension::names());
    schemas["Timezone"] = json!({ "type": "string", "description": "IANA timezone name", "enum": Zone::names() });
    schemas["Problem"]["properties"]["code"]["enum"] = json!(ErrorCode::ALL.iter().map(|code| code.as_str()).collect::<Vec<_>>());
    let any_dimension =
        json!({ "oneOf": [reference("DimensionName"), reference("PlatformDimensionName"), reference("PartnerDimensionName")] });
    schemas["Filter"]["properties"]["dimension"] = any_dimension.clone();
    schemas["ConnectRequest"]["properties"]["platform"]["enum"] = json!(PlatformId::ALL.iter().map(|id| id.as_str()).collect::<Vec<_>>());
    schemas["Filter"]["properties"]["op"]["enum"] = json!(FilterOpName::names());
    schemas["TimeRange"] = json!({
        "description": schemas["TimeRange"]["description"].clone(),
        "oneOf": [
            { "type": "object", "required": ["preset"], "additionalProperties": false,
              "properties": { "preset": { "type": "string", "enum": Preset::names(), "description": "last_N_days are the whole days before today; today, this_month and this_year run to their end (compare them _to_date)" } } },
            { "type": "object", "required": ["from", "to"], "additionalProperties": false,
              "properties": {
                  "from": { "type": "string", "pattern": TIME_PATTERN, "example": "2026-11-01" },
                  "to": { "type": "string", "pattern": TIME_PATTERN, "example": "2026-11-21" } } },
        ],
    });
    let request = &mut schemas["QueryRequest"]["properties"];
    request["metrics"]["items"] = json!({ "oneOf": [reference("MetricName"), reference("PlatformMetricName"), reference("PartnerMetricName")],
        "description": "MetricName for the logs dataset, PlatformMetricName for platforms, PartnerMetricName for partners" });
    request["dataset"]["enum"] = json!(Dataset::names());
    request["dimensions"]["items"] = any_dimension;
    request["timezone"] = json!({ "allOf": [reference("Timezone")], "description": "default: the token's timezone" });
    request["granularity"]["enum"] = json!(Granularity::names());
    request["compare"]["enum"] = json!(Compare::names());
    request["order_by"]["items"]["properties"]["direction"]["enum"] = json!(Direction::names());
    request["limit"]["maximum"] = json!(max_rows);
    request["offset"]["maximum"] = json!(MAX_OFFSET);
    let discrepancy = &mut schemas["DiscrepancyRequest"]["properties"];
    discrepancy["timezone"] = json!({ "allOf": [reference("Timezone")], "description": "default: the token's timezone" });
    discrepancy["granularity"]["enum"] = json!(Granularity::names());

    for (path, method, _) in super::routes() {
        let operation = &mut doc["paths"][path][method.as_str().to_ascii_lowercase()];
        let responses = &mut operation["responses"];
        responses["405"] = problem("Method not allowed (the `Allow` header lists the one allowed)");
        responses["500"] = if path.starts_with("/oauth/") {
            // A browser navigation: the failure is a page, not a problem document.
            json!({ "description": "Internal error (a page; details only in the server log)", "content": { "text/html": {} } })
        } else {
            problem("Internal error; details only in the server log")
        };
        if CLICKHOUSE_ROUTES.contains(&path) {
            responses["503"] = problem("ClickHouse unavailable");
            responses["504"] = problem("Query ran past api.max_execution_secs");
        }
        if method == Method::POST {
            responses["413"] = problem("Request body too large");
        }
        if let Some(parameters) = operation["parameters"].as_array_mut() {
            for parameter in parameters.iter_mut().filter(|parameter| parameter["name"] == "name") {
                parameter["schema"] = reference("DimensionName");
            }
        }
    }
    doc
}

/// A date `YYYY-MM-DD`, or a timestamp in whole seconds with an optional
/// offset (the shapes `query::time` accepts).
const TIME_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.0+)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$";

pub async fn openapi(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(document(state.limits.max_rows))
}
