//! `adhouse-api`: the HTTP query API and dashboard server.
//!
//! Requests are parsed into typed queries at the edge (`query::request`),
//! matched to the cheapest table that answers them exactly (`rollups`), run
//! as parameterized, tenant-scoped SQL (`query::sql`, `db`) and returned as
//! dense, typed rows (`query::execute`, `query::response`).

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
pub mod telemetry;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, web};

pub use state::AppState;

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
        .wrap(from_fn(telemetry::observe))
        .configure(routes::configure)
}
