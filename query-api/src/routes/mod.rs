//! HTTP routes. Handlers are thin: extract typed input, call the query
//! layer, serialize.

mod catalog;
mod health;
mod listings;
pub mod openapi;
mod query;
mod static_files;

use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::Method;
use actix_web::{HttpRequest, Route, web};

use crate::error::ApiError;

/// JSON bodies up to `limit_bytes`, with errors in the API's problem shape.
/// A body without a `Content-Type` is read as JSON too (as `curl -d` sends
/// it); a body declared as something else is still refused.
pub fn json_config(limit_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit_bytes)
        .content_type_required(false)
        .error_handler(move |err, _| match err {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                ApiError::PayloadTooLarge { limit_bytes }.into()
            }
            other => ApiError::InvalidRequestBody(other.to_string()).into(),
        })
}

/// One route: path, its method, and the handler on that method.
fn at(path: &'static str, method: Method, handler: impl FnOnce(Route) -> Route) -> (&'static str, Method, Route) {
    let route = handler(web::route().method(method.clone()));
    (path, method, route)
}

/// Every API route. The OpenAPI document is checked against this list.
pub fn routes() -> Vec<(&'static str, Method, Route)> {
    vec![
        at("/healthz", Method::GET, |route| route.to(health::healthz)),
        at("/readyz", Method::GET, |route| route.to(health::readyz)),
        at("/api/v1/query", Method::POST, |route| route.to(query::query)),
        at("/api/v1/catalog", Method::GET, |route| route.to(catalog::catalog)),
        at("/api/v1/dimensions/{name}/values", Method::GET, |route| route.to(listings::dimension_values)),
        at("/api/v1/sources", Method::GET, |route| route.to(listings::sources)),
        at("/api/v1/openapi.json", Method::GET, |route| route.to(openapi::openapi)),
    ]
}

pub fn configure(config: &mut web::ServiceConfig) {
    config.app_data(
        web::QueryConfig::default()
            .error_handler(|err: QueryPayloadError, _| ApiError::InvalidRequestBody(format!("query string: {err}")).into()),
    );
    for (path, method, route) in routes() {
        // Any other method on a known path (OPTIONS and TRACE included) is
        // 405 with `Allow`, not the dashboard's 404.
        let allow = method.to_string();
        let refuse = move |request: HttpRequest| {
            let error = ApiError::MethodNotAllowed { method: request.method().to_string(), allow: allow.clone() };
            async move { Err::<actix_web::HttpResponse, _>(error) }
        };
        config.service(web::resource(path).route(route).default_service(web::to(refuse)));
    }
    config.default_service(web::to(static_files::serve));
}

/// `GET /metrics` alone, for the metrics listener (`--metrics-addr`): the
/// public port does not serve it.
pub fn configure_metrics(config: &mut web::ServiceConfig) {
    config.service(web::resource("/metrics").route(web::get().to(health::metrics)));
}
