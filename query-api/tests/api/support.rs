//! An API over a test database: generated events for two tenants around
//! today and a year ago, a token per tenant, and helpers to call it.

use actix_web::http::StatusCode;
use actix_web::{test, web};
use adhouse_api::AppState;
use adhouse_api::query::time::Zone;
use adhouse_core::schema::Migrator;
use serde::Deserialize;
use serde_json::value::RawValue;
use time::{Duration, OffsetDateTime, Time};

use crate::common::{TestDb, synthetic_events};

pub struct Api {
    pub db: TestDb,
    pub state: web::Data<AppState>,
    pub acme: String,
    pub globex: String,
    /// UTC midnight of today; events cover the 5 days before it and today.
    pub today: OffsetDateTime,
}

/// A response as text cells, so money and counts compare exactly.
#[derive(Debug, Deserialize)]
pub struct Answer {
    pub columns: Vec<ColumnInfo>,
    pub rows: Vec<Vec<Box<RawValue>>>,
    pub totals: std::collections::BTreeMap<String, Box<RawValue>>,
    pub comparison: Option<ComparisonAnswer>,
    #[serde(default)]
    pub labels: serde_json::Value,
    pub meta: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct ComparisonAnswer {
    pub rows: Vec<Vec<Box<RawValue>>>,
    pub totals: std::collections::BTreeMap<String, Box<RawValue>>,
    pub change: serde_json::Value,
    pub time_range: serde_json::Value,
}

impl Api {
    /// Raw events are kept 10 years here, so that the previous year can be
    /// compared against raw events too.
    pub async fn loaded(test: &str) -> Self {
        let api = Self::empty(test).await;
        let today = api.today;
        let recent = synthetic_events(11, today - Duration::days(5), 6, 60_000, 20_000);
        let year_ago = today.replace_year(today.year() - 1).expect("a date a year ago");
        let old = synthetic_events(12, year_ago - Duration::days(6), 8, 20_000, 5_000);
        for chunk in recent.chunks(30_000).chain(old.chunks(30_000)) {
            api.db.insert(chunk, None).await;
        }
        api
    }

    /// A migrated database without events, and the two tenants' tokens.
    pub async fn empty(test: &str) -> Self {
        let mut db = TestDb::empty(test).await;
        db.settings.schema.events_ttl_days = 3_650;
        Migrator::new(&db.settings).apply().await.expect("migrations apply");
        let today = OffsetDateTime::now_utc().replace_time(Time::MIDNIGHT);
        let state = web::Data::new(AppState::new(&db.settings).await.expect("state"));
        let acme = adhouse_api::auth::create(&db.client, "acme", &zone("UTC")).await.expect("token");
        let globex = adhouse_api::auth::create(&db.client, "globex", &zone("Asia/Tokyo")).await.expect("token");
        Self { db, state, acme, globex, today }
    }

    pub async fn call(&self, request: test::TestRequest) -> (StatusCode, String, String) {
        let app = test::init_service(adhouse_api::app(self.state.clone())).await;
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap_or("").to_owned())
            .unwrap_or_default();
        let body = test::read_body(response).await;
        (status, content_type, String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn post(&self, token: &str, body: &serde_json::Value) -> (StatusCode, String) {
        let request = test::TestRequest::post()
            .uri("/api/v1/query")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(body);
        let (status, _, body) = self.call(request).await;
        (status, body)
    }

    /// A query that must succeed.
    pub async fn query(&self, token: &str, body: &serde_json::Value) -> Answer {
        let (status, text) = self.post(token, body).await;
        assert_eq!(status, StatusCode::OK, "{body}\n→ {text}");
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
    }

    /// `count` more synthetic events over `days` UTC days from today plus `from_day`.
    pub async fn insert_events(&self, seed: u64, from_day: i64, days: i64, count: usize) {
        let events = synthetic_events(seed, self.today + Duration::days(from_day), days, count, 5_000);
        for chunk in events.chunks(30_000) {
            self.db.insert(chunk, None).await;
        }
    }

    /// `YYYY-MM-DD` of today plus `days`.
    pub fn date(&self, days: i64) -> String {
        let date = (self.today + Duration::days(days)).date();
        format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
    }
}

pub fn zone(name: &str) -> Zone {
    Zone::parse("timezone", name).expect("a timezone")
}
