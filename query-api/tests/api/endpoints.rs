//! The endpoints around the query: catalog, value lists, sources, OpenAPI,
//! health, metrics and the dashboard's static files.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::support::Api;

fn get(uri: &str, token: Option<&str>) -> TestRequest {
    let request = TestRequest::get().uri(uri);
    match token {
        Some(token) => request.insert_header(("Authorization", format!("Bearer {token}"))),
        None => request,
    }
}

async fn json_of(api: &Api, request: TestRequest) -> Value {
    let (status, _, text) = api.call(request).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[actix_web::test]
async fn the_catalog_lists_metrics_with_units_and_combining_rules() {
    let api = Api::loaded("catalog").await;
    let catalog = json_of(&api, get("/api/v1/catalog", None)).await;
    let ctr = catalog["metrics"].as_array().unwrap().iter().find(|m| m["name"] == "ctr").unwrap();
    assert_eq!((ctr["unit"].as_str(), ctr["combine"].as_str()), (Some("percent"), Some("ratio_of_sums")));
    let users = catalog["metrics"].as_array().unwrap().iter().find(|m| m["name"] == "users").unwrap();
    assert_eq!(users["combine"], "distinct_sketch_merge");
    assert_eq!(catalog["dimensions"].as_array().unwrap().len(), 11);
    assert!(catalog["granularities"].as_array().unwrap().contains(&json!({ "name": "minute", "max_range_days": 3 })));
}

#[actix_web::test]
async fn dimension_values_come_from_a_rollup_and_only_from_the_tenant() {
    let api = Api::loaded("values").await;
    let answer = json_of(&api, get("/api/v1/dimensions/country/values?search=u&limit=10", Some(&api.acme))).await;
    assert_eq!(answer["meta"]["table"], "events_1d");
    let values: Vec<&str> = answer["values"].as_array().unwrap().iter().map(|v| v["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["US"], "case-insensitive search");
    let expected = api
        .db
        .count("SELECT countIf(event_type = 'impression') FROM events WHERE tenant = 'acme' AND country = 'US' AND ts >= today() - 29")
        .await;
    assert_eq!(answer["values"][0]["impressions"], json!(expected));

    let os = json_of(&api, get("/api/v1/dimensions/os/values", Some(&api.acme))).await;
    assert_eq!(os["meta"]["table"], "events", "os is only in raw events");
    assert_eq!(os["values"].as_array().unwrap().len(), 4);

    let (status, _, text) = api.call(get("/api/v1/dimensions/city/values", Some(&api.acme))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("unknown_dimension") && text.contains("placement_id"), "{text}");
}

#[actix_web::test]
async fn sources_list_what_fed_the_tenant() {
    let api = Api::loaded("sources").await;
    let answer = json_of(&api, get("/api/v1/sources", Some(&api.globex))).await;
    assert_eq!(answer["values"][0]["value"], "synthetic");
    assert_eq!(answer["values"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn the_openapi_document_describes_every_route() {
    let api = Api::loaded("openapi").await;
    let document = json_of(&api, get("/api/v1/openapi.json", None)).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/query", "/api/v1/catalog", "/api/v1/dimensions/{name}/values", "/api/v1/sources", "/api/v1/openapi.json", "/healthz", "/readyz", "/metrics"] {
        assert!(document["paths"].get(path).is_some(), "{path} documented");
    }
}

#[actix_web::test]
async fn health_readiness_and_metrics_answer() {
    let api = Api::loaded("health").await;
    assert_eq!(json_of(&api, get("/healthz", None)).await["status"], "ok");
    assert_eq!(json_of(&api, get("/readyz", None)).await["status"], "ready");
    api.query(&api.acme, &json!({ "metrics": ["requests"], "time_range": { "preset": "today" } })).await;
    let (status, _, text) = api.call(get("/metrics", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains(r#"adhouse_api_http_requests_total{route="/api/v1/query",method="POST",status="200"} 1"#), "{text}");
    assert!(text.contains("adhouse_api_clickhouse_rows_read_total{table=\"events_1d\"}"), "{text}");
    assert!(!text.contains(&api.acme), "no token in metrics");
}

#[actix_web::test]
async fn dashboard_files_are_served_with_cache_headers_and_a_client_route_fallback() {
    let mut api = Api::loaded("static").await;
    let dir = std::env::temp_dir().join(format!("adhouse-static-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<html>dashboard</html>").unwrap();
    std::fs::write(dir.join("assets/app-1a2b.js"), "console.log(1)").unwrap();
    let mut settings = api.db.settings.clone();
    settings.api.static_dir = dir.clone();
    api.state = actix_web::web::Data::new(adhouse_api::AppState::new(&settings));

    let app = actix_web::test::init_service(adhouse_api::app(api.state.clone())).await;
    for (uri, body, cache) in [
        ("/", "<html>dashboard</html>", "no-cache"),
        ("/reports/daily", "<html>dashboard</html>", "no-cache"),
        ("/assets/app-1a2b.js", "console.log(1)", "public, max-age=31536000, immutable"),
    ] {
        let response = actix_web::test::call_service(&app, get(uri, None).to_request()).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert_eq!(response.headers().get("cache-control").unwrap(), cache, "{uri}");
        assert_eq!(actix_web::test::read_body(response).await, body.as_bytes(), "{uri}");
    }
    for uri in ["/assets/missing.js", "/api/v1/nothing", "/../Cargo.toml"] {
        let response = actix_web::test::call_service(&app, get(uri, None).to_request()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
