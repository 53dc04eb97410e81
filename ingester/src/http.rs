//! `/metrics`, `/healthz` and `/readyz` for Prometheus and Kubernetes.

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use clickhouse::Client;

use crate::metrics::Metrics;

struct State {
    metrics: Arc<Metrics>,
    clickhouse: Client,
}

/// Serves until the process ends. Readiness means ClickHouse answers: an
/// ingester that cannot commit should not receive traffic or be counted up.
pub fn serve(addr: &str, metrics: Arc<Metrics>, clickhouse: Client) -> std::io::Result<actix_web::dev::Server> {
    let state = web::Data::new(State { metrics, clickhouse });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(metrics_text))
            .route("/healthz", web::get().to(|| async { HttpResponse::Ok().body("ok\n") }))
            .route("/readyz", web::get().to(ready))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?
    .run();
    Ok(server)
}

async fn metrics_text(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode())
}

async fn ready(state: web::Data<State>) -> HttpResponse {
    match state.clickhouse.query("SELECT 1").fetch_one::<u8>().await {
        Ok(_) => HttpResponse::Ok().body("ready\n"),
        Err(err) => HttpResponse::ServiceUnavailable().body(format!("ClickHouse unreachable: {err}\n")),
    }
}
