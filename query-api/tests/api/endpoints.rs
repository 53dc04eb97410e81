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
async fn sources_list_what_fed_the_tenant_with_their_configured_display_names() {
    let mut api = Api::loaded("sources").await;
    let answer = json_of(&api, get("/api/v1/sources", Some(&api.globex))).await;
    assert_eq!(answer["values"][0]["value"], "synthetic");
    assert_eq!(answer["values"].as_array().unwrap().len(), 1);
    assert!(answer["values"][0].get("label").is_none(), "no display name configured, none claimed");
    // Answered from the projection by source: one row per hour and source
    // read, not the tenant's tens of thousands of events.
    let rows_read = answer["meta"]["clickhouse"]["rows_read"].as_u64().unwrap();
    assert!(rows_read < 2_000, "read {rows_read} rows");

    let mut settings = api.db.settings.clone();
    settings.api.source_labels.insert("synthetic".into(), "Synthetic traffic".into());
    settings.api.source_labels.insert("unused".into(), "Never seen".into());
    api.state = actix_web::web::Data::new(adhouse_api::AppState::new(&settings).await.expect("state"));
    let answer = json_of(&api, get("/api/v1/sources", Some(&api.globex))).await;
    assert_eq!(answer["values"][0]["label"], "Synthetic traffic");
    let by_source = api.query(&api.acme, &json!({ "metrics": ["impressions"], "dimensions": ["source"], "time_range": { "preset": "last_7_days" } })).await;
    assert_eq!(by_source.labels, json!({ "source": { "synthetic": "Synthetic traffic" } }), "only the sources in the rows");
    let by_country = api.query(&api.acme, &json!({ "metrics": ["impressions"], "dimensions": ["country"], "time_range": { "preset": "last_7_days" } })).await;
    assert!(by_country.labels.is_null(), "{}", by_country.labels);
}

#[actix_web::test]
async fn the_openapi_document_describes_every_route() {
    let api = Api::loaded("openapi").await;
    let document = json_of(&api, get("/api/v1/openapi.json", None)).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/query", "/api/v1/catalog", "/api/v1/dimensions/{name}/values", "/api/v1/sources", "/api/v1/openapi.json", "/healthz", "/readyz", "/metrics"] {
        assert!(document["paths"].get(path).is_some(), "{path} documented");
    }
    for (path, method, _) in adhouse_api::routes::routes() {
        assert!(document["paths"][path].get(method.as_str().to_ascii_lowercase()).is_some(), "{method} {path} documented");
    }
    let platforms = &document["components"]["schemas"]["ConnectRequest"]["properties"]["platform"]["enum"];
    assert_eq!(platforms, &json!(adhouse_connectors::PlatformId::ALL.map(|id| id.as_str())));
}

#[actix_web::test]
async fn the_openapi_document_states_the_names_limits_and_errors_the_server_enforces() {
    let api = Api::loaded("openapi_enforced").await;
    let document = json_of(&api, get("/api/v1/openapi.json", None)).await;
    let schemas = &document["components"]["schemas"];
    let names = |schema: &str| -> Vec<String> {
        schemas[schema]["enum"].as_array().unwrap_or_else(|| panic!("{schema} enum")).iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    };
    use adhouse_api::metrics_catalog::{Dataset, Dimension, PartnerDimension, PlatformDimension};
    assert_eq!(names("MetricName"), Dataset::Logs.metric_names());
    assert_eq!(names("PlatformMetricName"), Dataset::Platforms.metric_names());
    assert_eq!(names("DimensionName"), Dimension::names());
    assert_eq!(names("PlatformDimensionName"), PlatformDimension::names());
    assert_eq!(names("PartnerMetricName"), Dataset::Partners.metric_names());
    assert_eq!(names("PartnerDimensionName"), PartnerDimension::names());
    assert_eq!(schemas["QueryRequest"]["properties"]["dataset"]["enum"], json!(["logs", "platforms", "partners"]));
    let zones = names("Timezone");
    assert!(zones.iter().any(|zone| zone == "Australia/Lord_Howe") && zones.len() > 300, "{} zones", zones.len());
    let request = &schemas["QueryRequest"]["properties"];
    assert_eq!(request["limit"]["maximum"], json!(api.state.limits.max_rows));
    assert_eq!(request["offset"]["maximum"], json!(1_000_000));
    assert_eq!(schemas["TimeRange"]["oneOf"][0]["required"], json!(["preset"]));
    assert_eq!(schemas["TimeRange"]["oneOf"][1]["required"], json!(["from", "to"]));
    let codes = schemas["Problem"]["properties"]["code"]["enum"].as_array().unwrap();
    assert!(codes.contains(&json!("beyond_retention")) && codes.contains(&json!("method_not_allowed")));
    for (path, method, _) in adhouse_api::routes::routes() {
        let responses = &document["paths"][path][method.as_str().to_ascii_lowercase()]["responses"];
        for status in ["200", "405", "500"] {
            assert!(responses.get(status).is_some(), "{method} {path} documents {status}");
        }
    }
    for path in ["/api/v1/query"] {
        for status in ["503", "504", "413", "400", "401"] {
            assert!(document["paths"][path]["post"]["responses"].get(status).is_some(), "{path} documents {status}");
        }
    }
    // What the document lists, the server takes; what it does not, the server refuses.
    for (dataset, schema) in [("logs", "MetricName"), ("platforms", "PlatformMetricName")] {
        let all = names(schema);
        let body = json!({ "dataset": dataset, "metrics": all, "time_range": { "preset": "today" }, "timezone": zones[0] });
        assert_eq!(api.query(&api.acme, &body).await.totals.len(), all.len(), "{dataset}");
    }
    let (status, _) = api.post(&api.acme, &json!({ "metrics": ["requests"], "time_range": { "preset": "today" }, "limit": api.state.limits.max_rows + 1 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn every_response_carries_security_headers_and_tenant_data_is_never_cached() {
    let api = Api::loaded("security_headers").await;
    let app = actix_web::test::init_service(adhouse_api::app(api.state.clone())).await;
    let query = actix_web::test::TestRequest::post()
        .uri("/api/v1/query")
        .insert_header(("Authorization", format!("Bearer {}", api.acme)))
        .set_json(json!({ "metrics": ["requests"], "time_range": { "preset": "today" } }));
    for (what, request) in [
        ("query", query),
        ("sources", get("/api/v1/sources", Some(&api.acme))),
        ("catalog", get("/api/v1/catalog", None)),
        ("unknown api path", get("/api/v1/nothing", None)),
        ("401", get("/api/v1/sources", None)),
    ] {
        let response = actix_web::test::call_service(&app, request.to_request()).await;
        let header = |name: &str| response.headers().get(name).map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default();
        let csp = header("content-security-policy");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{what}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(header("x-frame-options"), "DENY", "{what}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
        assert_eq!(header("cache-control"), "no-store", "{what}");
    }
}

#[actix_web::test]
async fn metrics_are_served_by_the_metrics_listener_not_the_public_port() {
    let api = Api::loaded("metrics_listener").await;
    api.query(&api.acme, &json!({ "metrics": ["requests"], "time_range": { "preset": "today" } })).await;
    let (status, _, _) = api.call(get("/metrics", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not on the public port");
    let metrics = actix_web::test::init_service(adhouse_api::metrics_app(api.state.metrics.clone())).await;
    let response = actix_web::test::call_service(&metrics, get("/metrics", None).to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(actix_web::test::read_body(response).await.to_vec()).unwrap();
    assert!(text.contains(r#"adhouse_api_http_requests_total{route="/api/v1/query",method="POST",status="200"} 1"#), "{text}");
    assert!(text.contains("adhouse_api_unexpected_buckets_total 0"), "{text}");
}

/// The README's `curl` example (no `Content-Type`, as `curl -d` sends it)
/// and its request body, exactly as written there.
#[actix_web::test]
async fn the_readme_query_examples_work_as_written() {
    let api = Api::loaded("readme").await;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = &readme[readme.find("## Query API").expect("a Query API section")..];
    let curl = section.lines().skip_while(|line| !line.starts_with("curl ")).take(2).collect::<Vec<_>>().join("\n");
    assert!(curl.contains("-H \"Authorization: Bearer $TOKEN\""), "{curl}");
    assert!(!curl.to_ascii_lowercase().contains("content-type"), "the example sends no content type: {curl}");
    let body = curl.split("-d '").nth(1).and_then(|rest| rest.split('\'').next()).expect("a -d '…' body");
    let request = actix_web::test::TestRequest::post()
        .uri("/api/v1/query")
        .insert_header(("Authorization", format!("Bearer {}", api.acme)))
        .set_payload(body.to_owned());
    let (status, _, text) = api.call(request).await;
    assert_eq!(status, StatusCode::OK, "{body} → {text}");
    let example = section.split("### Request").nth(1).and_then(|rest| rest.split("```json").nth(1)).and_then(|rest| rest.split("```").next()).unwrap();
    let (status, text) = api.post(&api.acme, &serde_json::from_str(example).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{example} → {text}");
}

#[actix_web::test]
async fn health_readiness_and_metrics_answer() {
    let api = Api::loaded("health").await;
    assert_eq!(json_of(&api, get("/healthz", None)).await["status"], "ok");
    assert_eq!(json_of(&api, get("/readyz", None)).await["status"], "ready");
    api.query(&api.acme, &json!({ "metrics": ["requests"], "time_range": { "preset": "today" } })).await;
    let metrics = actix_web::test::init_service(adhouse_api::metrics_app(api.state.metrics.clone())).await;
    let response = actix_web::test::call_service(&metrics, get("/metrics", None).to_request()).await;
    let status = response.status();
    let text = String::from_utf8(actix_web::test::read_body(response).await.to_vec()).unwrap();
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
    api.state = actix_web::web::Data::new(adhouse_api::AppState::new(&settings).await.expect("state"));

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

#[actix_web::test]
async fn today_is_compared_with_yesterday_until_the_same_minute_and_last_7_days_end_yesterday() {
    let api = Api::loaded("to_date").await;
    let minute = |epoch: i64| epoch - epoch.rem_euclid(60);
    let before = minute(time::OffsetDateTime::now_utc().unix_timestamp());
    let body = json!({ "metrics": ["requests", "impressions"], "time_range": { "preset": "today" }, "compare": "previous_period_to_date" });
    let answer = api.query(&api.acme, &body).await;
    let after = minute(time::OffsetDateTime::now_utc().unix_timestamp());
    let comparison = answer.comparison.expect("compared");
    let parse = |text: &Value| time::OffsetDateTime::parse(text.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    let (from, to) = (parse(&comparison.time_range["from"]), parse(&comparison.time_range["to"]));
    assert_eq!(from, api.today - time::Duration::days(1));
    assert!([before, after].contains(&(to.unix_timestamp() + 86_400)), "yesterday until this minute: {to}");
    let raw = |event_type: &str| {
        format!(
            "SELECT count() FROM events WHERE tenant = 'acme' AND event_type = '{event_type}' AND ts >= toDateTime({}) AND ts < toDateTime({})",
            from.unix_timestamp(),
            to.unix_timestamp()
        )
    };
    assert_eq!(comparison.totals["requests"].get(), api.db.count(&raw("request")).await.to_string());
    assert_eq!(comparison.totals["impressions"].get(), api.db.count(&raw("impression")).await.to_string());
    assert!(api.db.count(&raw("request")).await > 0, "the generated events cover yesterday");

    assert!(answer.meta.get("currency").is_none(), "no money asked for, no currency claimed");

    let week = api.query(&api.acme, &json!({ "metrics": ["requests", "revenue"], "time_range": { "preset": "last_7_days" } })).await;
    assert_eq!(week.meta["currency"], "USD", "log money is in the reporting currency (api.reporting_currency)");
    assert_eq!(week.meta["time_range"]["to"], format!("{}T00:00:00+00:00", api.date(0)), "the last 7 days end with yesterday");
    assert_eq!(week.meta["time_range"]["from"], format!("{}T00:00:00+00:00", api.date(-7)));
}

#[actix_web::test]
async fn freshness_is_the_newest_event_of_the_tenant_and_null_without_one() {
    let api = Api::loaded("freshness").await;
    let get = |token: &str| TestRequest::get().uri("/api/v1/freshness").insert_header(("Authorization", format!("Bearer {token}")));
    let (status, _, body) = api.call(get(&api.acme)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let newest = api.db.count("SELECT toUInt64(toUnixTimestamp(max(ts))) FROM events WHERE tenant = 'acme' AND ts >= now() - toIntervalDay(7)").await;
    let shown = time::OffsetDateTime::parse(answer["latest_event_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(shown.unix_timestamp() as u64, newest);
    let other = adhouse_api::auth::create(&api.db.client, "nobody", &crate::support::zone("UTC")).await.unwrap();
    let (_, _, body) = api.call(get(&other)).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["latest_event_at"], Value::Null);
}
