use actix_web::{HttpResponse, web};

use crate::error::Result;
use crate::state::AppState;
use crate::metrics::Metrics;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// ClickHouse answers; a load balancer sends traffic only then.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    state.db.ping().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}

pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(metrics.encode())
}
