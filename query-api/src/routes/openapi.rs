use actix_web::HttpResponse;

/// Hand-written and checked by a test against the routes, so it needs no
/// generator dependency.
pub const OPENAPI: &str = include_str!("../../openapi.json");

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}
