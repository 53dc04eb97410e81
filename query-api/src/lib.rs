//! `adhouse-api`: the HTTP query API and dashboard server.
//!
//! Requests are parsed into typed queries at the edge (`query::request`),
//! matched to the cheapest table that answers them exactly (`rollups`), run
//! as parameterized, tenant-scoped SQL (`query::sql`, `db`) and returned as
//! dense, typed rows (`query::execute`, `query::response`).

pub mod accounts;
pub mod auth;
pub mod metrics_catalog;
pub mod db;
pub mod error;
pub mod money;
mod names;
pub mod query;
pub mod rollups;
pub mod routes;
pub mod state;
pub mod metrics;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, web};

pub use state::AppState;
use metrics::Metrics;

/// What the dashboard may load: its own scripts, styles and API, nothing
/// inline (the token sits in sessionStorage, so injected script is the
/// threat), and no framing by other sites.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Headers on every response, unless a handler set its own (static files
/// set their `Cache-Control`; everything else, tenant data included, is
/// `no-store`).
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cache-Control", "no-store"))
}

/// The whole application; the server and the tests build it the same way.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<ServiceRequest, Config = (), Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error, InitError = ()>,
> {
    let json = routes::json_config(state.max_body_bytes);
    App::new()
        .app_data(state.tokens.clone())
        .app_data(state.metrics.clone())
        .app_data(json)
        .app_data(state)
        .wrap(from_fn(metrics::observe))
        .wrap(security_headers())
        .configure(routes::configure)
}

/// The metrics listener's application: `GET /metrics` only.
pub fn metrics_app(
    metrics: web::Data<Metrics>,
) -> App<
    impl ServiceFactory<ServiceRequest, Config = (), Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error, InitError = ()>,
> {
    App::new().app_data(metrics).wrap(security_headers()).configure(routes::configure_metrics)
}
