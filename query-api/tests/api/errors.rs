//! Error responses: problem+json naming the field and, for closed sets, the
//! valid choices; 401 without a valid token; limits; timeouts as 504.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use adhouse_api::db::Db;
use adhouse_api::error::ApiError;
use serde_json::{Value, json};

use crate::support::Api;

async fn problem(api: &Api, token: &str, body: Value) -> (StatusCode, Value) {
    let (status, text) = api.post(token, &body).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}")))
}

#[actix_web::test]
async fn requests_without_a_valid_token_are_refused_with_401() {
    let api = Api::loaded("auth").await;
    let body = json!({ "metrics": ["requests"], "time_range": { "preset": "today" } });
    let (status, content_type, text) = api.call(TestRequest::post().uri("/api/v1/query").set_json(&body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(content_type, "application/problem+json");
    assert!(text.contains("\"code\":\"missing_token\""), "{text}");
    for token in ["adh_0000", "nonsense", &format!("{}x", api.acme)] {
        let (status, problem) = problem(&api, token, body.clone()).await;
        assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")), "{token}");
    }
    for path in ["/api/v1/sources", "/api/v1/dimensions/country/values"] {
        let (status, _, _) = api.call(TestRequest::get().uri(path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[actix_web::test]
async fn invalid_requests_name_the_field_and_the_valid_choices() {
    let api = Api::loaded("errors").await;
    let range = json!({ "from": api.date(-1), "to": api.date(0) });
    let cases = [
        (json!({ "metrics": ["requests", "revenu"], "time_range": range }), "unknown_metric", "metrics[1]", Some("revenue")),
        (json!({ "metrics": ["requests"], "dimensions": ["city"], "time_range": range }), "unknown_dimension", "dimensions[0]", Some("country")),
        (json!({ "metrics": ["requests"], "time_range": range, "granularity": "fortnight" }), "invalid_choice", "granularity", Some("week")),
        (json!({ "metrics": ["requests"], "time_range": range, "compare": "last_week" }), "invalid_choice", "compare", Some("previous_period")),
        (json!({ "metrics": ["requests"], "time_range": { "preset": "last_week" } }), "invalid_choice", "time_range.preset", Some("last_7_days")),
        (json!({ "metrics": ["requests"], "time_range": range, "filters": [{ "dimension": "country", "op": "like", "value": "U" }] }), "invalid_choice", "filters[0].op", Some("contains")),
        (json!({ "metrics": ["requests"], "time_range": range, "filters": [{ "dimension": "country", "op": "in", "value": "US" }] }), "invalid_value", "filters[0].values", None),
        (json!({ "metrics": ["requests"], "time_range": range, "order_by": [{ "field": "clicks" }] }), "invalid_choice", "order_by[0].field", Some("requests")),
        (json!({ "metrics": ["requests"], "time_range": range, "timezone": "Mars/Base" }), "invalid_value", "timezone", None),
        (json!({ "metrics": ["requests"], "time_range": { "from": "yesterday", "to": api.date(0) } }), "invalid_value", "time_range.from", None),
        (json!({ "metrics": ["requests"], "time_range": { "from": api.date(-10), "to": api.date(0) }, "granularity": "minute" }), "range_too_long", "time_range", None),
        (json!({ "metrics": ["requests"], "dimensions": ["country"], "time_range": { "from": api.date(-80), "to": api.date(0) }, "granularity": "day", "limit": 500 }), "too_many_rows", "limit", None),
        (json!({ "metrics": [], "time_range": range }), "invalid_value", "metrics", Some("ctr")),
    ];
    for (body, code, field, choice) in cases {
        let (status, problem) = problem(&api, &api.acme, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {problem}");
        assert_eq!(problem["code"], code, "{body} → {problem}");
        assert_eq!(problem["field"], field, "{body} → {problem}");
        assert_eq!(problem["status"], 400);
        if let Some(choice) = choice {
            let choices = problem["choices"].as_array().unwrap_or_else(|| panic!("choices in {problem}"));
            assert!(choices.contains(&json!(choice)), "{problem}");
        }
    }
}

#[actix_web::test]
async fn malformed_and_oversized_bodies_are_client_errors() {
    let api = Api::loaded("bodies").await;
    let request = |body: String| {
        TestRequest::post()
            .uri("/api/v1/query")
            .insert_header(("Authorization", format!("Bearer {}", api.acme)))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body)
    };
    let (status, content_type, text) = api.call(request("{\"metrics\": [".into())).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::BAD_REQUEST, "application/problem+json"), "{text}");
    let (status, _, text) = api.call(request(r#"{"metrics": ["requests"], "time_range": {"preset": "today"}, "metricz": 1}"#.into())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("metricz") && text.contains("invalid_request_body"), "{text}");
    let huge = format!(r#"{{"metrics": ["requests"], "time_range": {{"preset": "today"}}, "timezone": "{}"}}"#, "x".repeat(300_000));
    let (status, _, text) = api.call(request(huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
}

#[actix_web::test]
async fn a_query_over_the_time_limit_is_a_timeout_under_readonly_settings() {
    let api = Api::loaded("timeout").await;
    let db = Db::new(api.db.client.clone(), 1);
    let endless = db.client().query("SELECT count() FROM system.numbers");
    let err = db.fetch_query::<u64>(endless).await.expect_err("an endless query stops");
    assert!(matches!(err, ApiError::Timeout { limit_secs: 1 }), "{err:?}");
    assert_eq!(actix_web::ResponseError::status_code(&err), StatusCode::GATEWAY_TIMEOUT);
    let write = db.client().query("CREATE TABLE sneaky (x UInt8) ENGINE = Memory");
    let err = db.fetch_query::<u8>(write).await.expect_err("readonly refuses DDL");
    assert!(matches!(err, ApiError::ClickHouse(_)), "{err:?}");
}

/// The API's retention of raw events is 90 days here (the test database
/// still holds older rows, which must not be used as if complete, nor
/// replaced by zeros).
async fn with_raw_retention_of_90_days(api: &mut Api) {
    let mut settings = api.db.settings.clone();
    settings.schema.events_ttl_days = 90;
    api.state = actix_web::web::Data::new(adhouse_api::AppState::new(&settings).await.expect("state"));
}

#[actix_web::test]
async fn a_comparison_older_than_raw_retention_that_no_rollup_answers_is_unavailable_not_zero() {
    let mut api = Api::loaded("beyond_retention").await;
    with_raw_retention_of_90_days(&mut api).await;
    let range = json!({ "from": api.date(-5), "to": api.date(0) });
    let cases = [
        (json!({ "metrics": ["requests"], "dimensions": ["os"], "time_range": range, "compare": "previous_year" }), "acme"),
        (json!({ "metrics": ["requests"], "filters": [{ "dimension": "source", "op": "eq", "value": "synthetic" }], "time_range": range, "compare": "previous_year" }), "acme"),
        (json!({ "metrics": ["requests"], "dimensions": ["placement_id"], "time_range": range, "timezone": "Asia/Kolkata", "compare": "previous_year" }), "globex"),
    ];
    for (body, tenant) in cases {
        let token = if tenant == "acme" { &api.acme } else { &api.globex };
        let (status, text) = api.post(token, &body).await;
        assert_eq!(status, StatusCode::OK, "{body} → {text}");
        let full: Value = serde_json::from_str(&text).unwrap();
        assert!(full["meta"].get("comparison_table").is_none(), "{body}: no table answered the comparison: {text}");
        let unavailable = &full["comparison"]["unavailable"];
        assert_eq!(unavailable["code"], "beyond_retention", "{body} → {text}");
        assert_eq!(unavailable["setting"], "schema.events_ttl_days");
        assert_eq!(unavailable["retention_days"], 90);
        assert!(full["comparison"].get("totals").is_none() && full["comparison"].get("change").is_none(), "no numbers: {text}");
        assert!(full["comparison"]["time_range"]["from"].as_str().is_some(), "the period it is about: {text}");
        assert!(full["totals"]["requests"].as_i64().unwrap() > 0, "the main period is answered: {text}");
        let mut alone = body.clone();
        alone.as_object_mut().unwrap().remove("compare");
        let (_, alone) = api.post(token, &alone).await;
        let alone: Value = serde_json::from_str(&alone).unwrap();
        for stat in ["queries", "rows_read"] {
            let stats = |answer: &Value| answer["meta"]["clickhouse"][stat].clone();
            assert_eq!(stats(&full), stats(&alone), "{stat}: nothing is queried for the unavailable period: {text}");
        }
    }
}

#[actix_web::test]
async fn a_main_period_older_than_raw_retention_that_no_rollup_answers_is_an_error_naming_the_retention() {
    let mut api = Api::loaded("beyond_retention_main").await;
    with_raw_retention_of_90_days(&mut api).await;
    let year_ago = |days: i64| {
        let date = api.date(days);
        format!("{}{}", date[..4].parse::<i32>().unwrap() - 1, &date[4..])
    };
    let old = json!({ "from": year_ago(-5), "to": year_ago(0) });
    let seconds = json!({ "from": format!("{}T00:00:07Z", year_ago(-5)), "to": format!("{}T00:00:00Z", year_ago(0)) });
    for body in [
        json!({ "metrics": ["requests"], "dimensions": ["os"], "time_range": old }),
        json!({ "metrics": ["requests"], "time_range": seconds }),
        json!({ "metrics": ["requests"], "dimensions": ["country"], "time_range": old, "use_rollups": false }),
    ] {
        let (status, problem) = problem(&api, &api.acme, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {problem}");
        assert_eq!(problem["code"], "beyond_retention", "{body} → {problem}");
        assert_eq!(problem["field"], "time_range");
        assert!(problem["detail"].as_str().unwrap().contains("schema.events_ttl_days"), "{problem}");
    }
    let answer = api.query(&api.acme, &json!({ "metrics": ["requests"], "dimensions": ["country"], "time_range": old })).await;
    assert_eq!(answer.meta["table"], "events_1d", "a rollup that keeps the period answers it");
}

#[actix_web::test]
async fn wrong_methods_and_options_get_405_with_allow_not_404() {
    let api = Api::loaded("methods").await;
    let app = actix_web::test::init_service(adhouse_api::app(api.state.clone())).await;
    for (method, uri, allow) in [
        ("TRACE", "/api/v1/catalog", "GET"),
        ("PUT", "/api/v1/catalog", "GET"),
        ("OPTIONS", "/api/v1/catalog", "GET"),
        ("GET", "/api/v1/query", "POST"),
        ("OPTIONS", "/api/v1/query", "POST"),
        ("DELETE", "/api/v1/dimensions/country/values", "GET"),
        ("POST", "/healthz", "GET"),
        ("PUT", "/", "GET, HEAD"),
        ("TRACE", "/reports/daily", "GET, HEAD"),
    ] {
        let request = TestRequest::default().method(method.parse().unwrap()).uri(uri).to_request();
        let response = actix_web::test::call_service(&app, request).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(response.headers().get("allow").unwrap(), allow, "{method} {uri}");
        let body: Value = serde_json::from_slice(&actix_web::test::read_body(response).await).unwrap();
        assert_eq!(body["code"], "method_not_allowed", "{method} {uri}");
    }
}
