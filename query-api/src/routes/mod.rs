//! HTTP routes. Handlers are thin: extract typed input, call the query
//! layer, serialize.

mod accounts;
mod catalog;
mod feeds;
mod health;
mod listings;
mod oauth;
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
        at("/api/v1/discrepancy", Method::POST, |route| route.to(query::discrepancy)),
        at("/api/v1/feeds", Method::GET, |route| route.to(feeds::list)),
        at("/api/v1/catalog", Method::GET, |route| route.to(catalog::catalog)),
        at("/api/v1/dimensions/{name}/values", Method::GET, |route| route.to(listings::dimension_values)),
        at("/api/v1/sources", Method::GET, |route| route.to(listings::sources)),
        at("/api/v1/freshness", Method::GET, |route| route.to(listings::freshness)),
        at("/api/v1/openapi.json", Method::GET, |route| route.to(openapi::openapi)),
        at("/api/v1/accounts", Method::GET, |route| route.to(accounts::list)),
        at("/api/v1/accounts", Method::POST, |route| route.to(accounts::link)),
        at("/api/v1/accounts/connect", Method::POST, |route| route.to(accounts::connect)),
        at("/api/v1/accounts/grants/{id}", Method::GET, |route| route.to(accounts::grant)),
        at("/api/v1/accounts/{platform}/{id}", Method::DELETE, |route| route.to(accounts::unlink)),
        at("/oauth/callback/{platform}", Method::GET, |route| route.to(oauth::callback)),
    ]
}

pub fn configure(config: &mut web::ServiceConfig) {
    config.app_data(
        web::QueryConfig::default()
            .error_handler(|err: QueryPayloadError, _| ApiError::InvalidRequestBody(format!("query string: {err}")).into()),
    );
    // One resource per path, with every method the path has.
    let mut paths: Vec<(&'static str, Vec<Method>, Vec<Route>)> = Vec::new();
    for (path, method, route) in routes() {
        match paths.iter_mut().find(|(known, ..)| *known == path) {
            Some((_, methods, routes)) => {
                methods.push(method);
                routes.push(route);
            }
            None => paths.push((path, vec![method], vec![route])),
        }
    }
    for (path, methods, routes) in paths {
        // Any other method on a known path (OPTIONS and TRACE included) is
        // 405 with `Allow`, not the dashboard's 404.
        let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        let refuse = move |request: HttpRequest| {
            let error = ApiError::MethodNotAllowed { method: request.method().to_string(), allow: allow.clone() };
            async move { Err::<actix_web::HttpResponse, _>(error) }
        };
        let resource = routes.into_iter().fold(web::resource(path), |resource, route| resource.route(route));
        config.service(resource.default_service(web::to(refuse)));
    }
    config.default_service(web::to(static_files::serve));
}

/// `GET /metrics` alone, for the metrics listener (`--metrics-addr`): the
/// public port does not serve it.
pub fn configure_metrics(config: &mut web::ServiceConfig) {
    config.service(web::resource("/metrics").route(web::get().to(health::metrics)));
}
