//! Property test: random tenants, filters and hostile strings never give a
//! 500, never show another tenant's rows and never change the schema.

use actix_web::http::StatusCode;
use adhouse_api::query::time::Zone;
use serde_json::{Value, json};

use crate::common::Rng;
use crate::support::Api;

const HOSTILE: &[&str] = &[
    "'",
    "\\",
    "\\'",
    "''; DROP TABLE events; --",
    "x'); DROP TABLE events_1h; SELECT ('",
    "{tenant:String}",
    "$1 ? ?fields",
    "\0",
    "%' OR 1=1 --",
    "😀 ünïcödé 中文 \u{202e}",
    "\n\t\r",
    "US",
    "acme",
    "globex",
    "",
];

fn hostile(rng: &mut Rng) -> String {
    match rng.below(5) {
        0 => "'\\\"".repeat(1 + rng.below(400) as usize),
        1 => format!("{}{}", HOSTILE[rng.below(HOSTILE.len() as u64) as usize], HOSTILE[rng.below(HOSTILE.len() as u64) as usize]),
        _ => HOSTILE[rng.below(HOSTILE.len() as u64) as usize].to_owned(),
    }
}

/// Whether the generated data has `value` in `dimension`.
fn exists(dimension: &str, value: &str) -> bool {
    match dimension {
        "country" => ["US", "DE", "JP", "IN", "BR", ""].contains(&value),
        "source" => value == "synthetic",
        _ => false,
    }
}

fn pick<'a>(rng: &mut Rng, choices: &[&'a str]) -> &'a str {
    choices[rng.below(choices.len() as u64) as usize]
}

async fn schema(api: &Api) -> String {
    api.db
        .tsv(&format!(
            "SELECT name, engine, create_table_query FROM system.tables WHERE database = '{}' ORDER BY name",
            api.db.settings.clickhouse.database
        ))
        .await
}

async fn rows_per_tenant(api: &Api) -> String {
    api.db.tsv("SELECT tenant, count() FROM events GROUP BY tenant ORDER BY tenant").await
}

#[actix_web::test]
async fn hostile_filters_time_formats_and_tenants_never_fail_leak_or_change_the_schema() {
    let api = Api::loaded("hostile").await;
    let schema_before = (schema(&api).await, rows_per_tenant(&api).await);
    let evil_tenant = "acme' OR tenant != '";
    let evil = adhouse_api::auth::create(&api.db.client, evil_tenant, &Zone::parse("timezone", "UTC").unwrap()).await.unwrap();
    let range = json!({ "from": api.date(-5), "to": api.date(0) });
    let acme_total = api.query(&api.acme, &json!({ "metrics": ["requests"], "time_range": range })).await.totals["requests"].get().to_owned();

    let mut rng = Rng::new(2026);
    for round in 0..60 {
        let op = pick(&mut rng, &["eq", "neq", "in", "not_in", "contains"]);
        let dimension = pick(&mut rng, &["country", "publisher_id", "domain", "os", "creative_id", "source"]);
        let values = [hostile(&mut rng), hostile(&mut rng)];
        let filter = if op == "in" || op == "not_in" {
            json!({ "dimension": dimension, "op": op, "values": values })
        } else {
            json!({ "dimension": dimension, "op": op, "value": values[0] })
        };
        let compared: &[String] = if op == "in" || op == "not_in" { &values } else { &values[..1] };
        let granularity = pick(&mut rng, &["none", "day", "hour"]);
        let (token, tenant) = if rng.below(3) == 0 { (&evil, evil_tenant) } else { (&api.acme, "acme") };
        let mut body = json!({ "metrics": ["requests", "revenue", "ctr"], "filters": [filter], "time_range": range, "granularity": granularity });
        if rng.below(4) == 0 {
            body["dimensions"] = json!([dimension]);
        }
        if rng.below(5) == 0 {
            body["timezone"] = Value::String(hostile(&mut rng));
        }
        let own_range = rng.below(4) == 0;
        if own_range {
            // Near-miss and hostile time formats: refused or read exactly, never a 500.
            let date = api.date(-1);
            let forms = [
                format!("{date}T05:30:00+05:30"), format!("{date}T05:30:00"), format!("{date}T05:30:00.000Z"), format!("{date}T05:30"),
                format!("{date} 05:30:00"), format!("{date}T25:00:00Z"), format!("{date}T05:30:00+99:00"), format!("{date}T05:30:00Z[Asia/Tokyo]"),
                date.replace('-', ""), format!("{date}T05:30:0é"), hostile(&mut rng),
            ];
            let from = forms[rng.below(forms.len() as u64) as usize].clone();
            body["time_range"] = json!({ "from": from, "to": api.date(0) });
            body["timezone"] = json!(pick(&mut rng, &["Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]));
        }
        let (status, text) = api.post(token, &body).await;
        assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "round {round}: {status} for {body}: {text}");
        if status != StatusCode::OK {
            assert!(text.contains("\"code\""), "round {round}: {text}");
            continue;
        }
        let answer: Value = serde_json::from_str(&text).unwrap();
        let requests = answer["totals"]["requests"].to_string();
        let none_exists = compared.iter().all(|value| !exists(dimension, value));
        if tenant == evil_tenant {
            assert_eq!(requests, "0", "round {round}: a tenant without data sees none: {body}");
        } else if own_range {
            // A range of its own: only isolation and the bound below apply.
        } else if none_exists && (op == "eq" || op == "in") {
            assert_eq!(requests, "0", "round {round}: no acme row has {compared:?}: {body}");
        } else if none_exists && (op == "neq" || op == "not_in") {
            assert_eq!(requests, acme_total, "round {round}: excluding values nobody has keeps exactly acme's rows: {body}");
        }
        assert!(requests.parse::<u64>().unwrap() <= acme_total.parse::<u64>().unwrap(), "round {round}: never more than acme's rows");
    }
    assert_eq!((schema(&api).await, rows_per_tenant(&api).await), schema_before, "schema and data unchanged");
}

#[actix_web::test]
async fn a_dimension_value_search_with_hostile_text_stays_inside_the_tenant() {
    let api = Api::loaded("hostile_values").await;
    for search in HOSTILE {
        let uri = format!("/api/v1/dimensions/country/values?search={}", urlencode(search));
        let request = actix_web::test::TestRequest::get().uri(&uri).insert_header(("Authorization", format!("Bearer {}", api.globex)));
        let (status, _, text) = api.call(request).await;
        assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "{search:?}: {status} {text}");
    }
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|byte| format!("%{byte:02X}")).collect()
}
