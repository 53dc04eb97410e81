//! A database per test, and a deterministic synthetic event stream.

use std::sync::atomic::{AtomicU32, Ordering};

use adhouse_core::Settings;
use adhouse_core::event::{Event, EventType};
use adhouse_core::schema::Migrator;
use clickhouse::Client;
use time::{Duration, OffsetDateTime};

pub struct TestDb {
    pub settings: Settings,
    pub client: Client,
}

impl TestDb {
    /// A fresh database named after the test, with no tables.
    pub async fn empty(test: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let mut settings = Settings::load(None).expect("settings");
        if let Ok(url) = std::env::var("CLICKHOUSE_URL") {
            settings.clickhouse.url = url;
        }
        settings.clickhouse.database = format!(
            "t_{test}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let server = adhouse_core::clickhouse::server_client(&settings.clickhouse);
        for ddl in ["DROP DATABASE IF EXISTS {db:Identifier}", "CREATE DATABASE {db:Identifier}"] {
            server.query(ddl).param("db", &settings.clickhouse.database).execute().await.unwrap_or_else(|err| {
                panic!(
                    "ClickHouse at {} failed ({err}); start the local stack with `make dev-up` and `source .dev/env`",
                    settings.clickhouse.url
                )
            });
        }
        let client = adhouse_core::clickhouse::client(&settings.clickhouse);
        Self { settings, client }
    }

    /// A fresh database with every migration applied.
    pub async fn migrated(test: &str) -> Self {
        let db = Self::empty(test).await;
        Migrator::new(&db.settings).apply().await.expect("migrations apply");
        db
    }

    pub async fn insert(&self, events: &[Event<'_>], dedup_token: Option<&str>) {
        let mut insert = self.client.insert::<Event<'_>>("events").await.expect("insert starts");
        if let Some(token) = dedup_token {
            insert = adhouse_core::clickhouse::deduplicated(insert, token);
        }
        for event in events {
            insert.write(event).await.expect("row written");
        }
        insert.end().await.expect("insert committed");
    }

    /// Result of `sql` as TabSeparated text, for exact comparisons.
    pub async fn tsv(&self, sql: &str) -> String {
        let bytes = self
            .client
            .query(sql)
            .fetch_bytes("TabSeparated")
            .expect("query starts")
            .collect()
            .await
            .unwrap_or_else(|err| panic!("{sql}\nfailed: {err}"));
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    pub async fn count(&self, sql: &str) -> u64 {
        self.client.query(sql).fetch_one().await.unwrap_or_else(|err| panic!("{sql}\nfailed: {err}"))
    }
}

/// SplitMix64: a tiny deterministic generator, so a failing test replays.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len() as u64) as usize]
    }
}

/// UTC midnight `days` days ago: synthetic data must be recent, or the
/// tables' TTLs (30 days for minutes) drop it on insert.
pub fn days_ago(days: i64) -> OffsetDateTime {
    let today = OffsetDateTime::now_utc().date().midnight().assume_utc();
    today - Duration::days(days)
}

/// `count` events spread over `days` UTC days from `start`, for two tenants,
/// with every event type, several values of each dimension and about
/// `users` distinct viewers (hash 0, unknown, for one event in ten).
pub fn synthetic_events(seed: u64, start: OffsetDateTime, days: i64, count: usize, users: u64) -> Vec<Event<'static>> {
    let mut rng = Rng::new(seed);
    let span_ms = days * 86_400_000;
    (0..count)
        .map(|i| {
            let event_type = EventType::ALL[rng.below(EventType::ALL.len() as u64) as usize];
            Event {
                tenant: rng.pick(&["acme", "globex"]).into(),
                ts: start + Duration::milliseconds(rng.below(span_ms as u64) as i64),
                event_type,
                publisher_id: format!("pub-{}", rng.below(7)).into(),
                placement_id: format!("plc-{}", rng.below(25)).into(),
                demand_partner: rng.pick(&["appnexus", "rubicon", "pubmatic", "openx"]).into(),
                campaign_id: format!("cmp-{}", rng.below(12)).into(),
                creative_id: format!("cr-{}", rng.below(40)).into(),
                ad_format: rng.pick(&["banner", "video", "native"]).into(),
                country: rng.pick(&["US", "DE", "JP", "IN", "BR", ""]).into(),
                device_type: rng.pick(&["desktop", "mobile", "tablet", "ctv"]).into(),
                os: rng.pick(&["ios", "android", "windows", "macos"]).into(),
                domain: format!("site{}.example", rng.below(30)).into(),
                user_id_hash: if rng.below(10) == 0 { 0 } else { 1 + rng.below(users) },
                revenue_micros: if event_type == EventType::Impression { rng.below(5_000) as i64 } else { 0 },
                cost_micros: if event_type == EventType::Impression { rng.below(3_000) as i64 } else { 0 },
                error_code: if event_type == EventType::Error { 400 + rng.below(3) as u16 } else { 0 },
                source: "synthetic".into(),
                file: format!("s3://test/day-{seed}.jsonl").into(),
                line: i as u64 + 1,
            }
        })
        .collect()
}
