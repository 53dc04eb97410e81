//! HTTP routes. Handlers are thin: extract typed input, call the query
//! layer, serialize.

mod catalog;
mod health;
mod listings;
mod openapi;
mod query;
mod static_files;

use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::web;

use crate::error::ApiError;

/// JSON bodies up to `limit_bytes`, with errors in the API's problem shape.
pub fn json_config(limit_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit_bytes).error_handler(move |err, _| match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge { limit_bytes }.into()
        }
        other => ApiError::InvalidRequestBody(other.to_string()).into(),
    })
}

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .app_data(web::QueryConfig::default().error_handler(|err: QueryPayloadError, _| {
            ApiError::InvalidRequestBody(format!("query string: {err}")).into()
        }))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .service(
            web::scope("/api/v1")
                .route("/query", web::post().to(query::query))
                .route("/catalog", web::get().to(catalog::catalog))
                .route("/dimensions/{name}/values", web::get().to(listings::dimension_values))
                .route("/sources", web::get().to(listings::sources))
                .route("/openapi.json", web::get().to(openapi::openapi)),
        )
        .default_service(web::to(static_files::serve));
}
