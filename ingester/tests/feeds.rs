//! Live-metrics feeds end to end: the fake partner reporting API of the
//! local stack (`make dev-up`, `.dev/env` sourced) loaded with the manifest
//! of generated traffic, the example feed pointed at it, a database of this
//! test's own, and the stored rows compared with the fake's oracle exactly.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::partners::store::{FeedState, FeedStatus, PartnerStore};
use adhouse_connectors::partners::{Feed, Window};
use adhouse_core::Settings;
use adhouse_core::schema::Migrator;
use adhouse_core::settings::FeedSettings;
use adhouse_ingester::feeds::Poller;
use adhouse_ingester::metrics::Metrics;
use adhouse_tools::samples::GenArgs;
use clap::Parser as _;
use clickhouse::{Client, Row};
use serde::Deserialize;
use time::OffsetDateTime;

fn fake() -> String {
    std::env::var("ADHOUSE_DEV_PLATFORMS_URL").expect("ADHOUSE_DEV_PLATFORMS_URL: make dev-up, then source .dev/env")
}

struct Stack {
    tenant: String,
    clickhouse: Client,
    poller: Poller,
    metrics: std::sync::Arc<Metrics>,
    feed: Feed,
    http: reqwest::Client,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize, Row)]
struct Stored {
    partner: String,
    hour: i64,
    impressions: u64,
    revenue_micros: i64,
    currency: String,
}

impl Stack {
    /// A migrated database and a tenant of their own, two days of generated
    /// traffic (yesterday and today) loaded into the fake, and the example
    /// feed pointed at the fake for that tenant.
    async fn new(test: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!("t_feeds_{test}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut settings = Settings::load(None).expect("settings");
        settings.clickhouse.database = name.clone();
        Migrator::new(&settings).apply().await.expect("migrated (make dev-up, then source .dev/env)");
        let clickhouse = adhouse_core::clickhouse::client(&settings.clickhouse);
        let tenant = name.replace('_', "-");

        #[derive(clap::Parser)]
        struct Gen {
            #[command(flatten)]
            args: GenArgs,
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(&name);
        let yesterday = (OffsetDateTime::now_utc().date() - time::Duration::days(1)).to_string();
        let argv = [
            "adhouse-gen", "--out", dir.to_str().unwrap(), "--tenants", &tenant, "--start", &yesterday, "--days", "2",
            "--files", "1", "--rows-per-file", "4000", "--formats", "jsonl",
        ];
        adhouse_tools::samples::run(Gen::parse_from(argv).args).await.expect("gen writes the files");
        let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let http = reqwest::Client::new();
        let loaded = http.post(format!("{}/_fake/partner/load", fake())).json(&serde_json::json!({ "manifest": manifest })).send().await.unwrap();
        assert!(loaded.status().is_success(), "{}", loaded.text().await.unwrap());

        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/feeds/mediation-hourly.toml");
        let mut feed = FeedSettings::from_file(&example).expect("the example feed parses");
        feed.tenant = tenant.clone();
        feed.url = format!("{}/partner/v2/report?account={tenant}&start={{start}}&end={{end}}&page_size=25", fake());
        if let adhouse_core::settings::AuthSettings::Oauth2 { token_url, .. } = &mut feed.auth {
            *token_url = format!("{}/partner/oauth/token", fake());
        }
        let mut partners = settings.partners.clone();
        partners.feeds = vec![feed.clone()];
        partners.validate().expect("the example feed is valid");
        let http_layer = Http::new(Duration::from_secs(10), 4, Pacer::default()).with_first_backoff(Duration::from_millis(50));
        let feed = Feed::new("partners.feeds[0]", feed, http_layer).expect("the feed's secret is in .dev/env");
        let metrics = std::sync::Arc::new(Metrics::new());
        let poller = Poller::new(PartnerStore::new(clickhouse.clone()), metrics.clone());
        Self { tenant, clickhouse, poller, metrics, feed, http }
    }

    fn window(&self) -> Window {
        let s = &self.feed.settings;
        Window::to_poll(OffsetDateTime::now_utc(), None, (s.reread_hours, s.catch_up_hours()), s.grain).0
    }

    /// What the fake serves for the window, money in micros.
    async fn oracle(&self, window: Window) -> Vec<Stored> {
        #[derive(Deserialize)]
        struct Oracle {
            rows: Vec<Stored>,
        }
        let rfc = |at: OffsetDateTime| at.format(&time::format_description::well_known::Rfc3339).unwrap();
        let answer = self.http.get(format!("{}/_fake/partner/oracle", fake()))
            .query(&[("account", self.tenant.as_str()), ("start", &rfc(window.start)), ("end", &rfc(window.end))])
            .send().await.unwrap();
        let mut rows = answer.json::<Oracle>().await.unwrap().rows;
        rows.sort();
        rows
    }

    /// Every stored row of the window, latest fetch only, without the
    /// zeros that replace rows the partner stopped reporting (the fake
    /// reports no zero rows of its own).
    async fn stored(&self, window: Window) -> Vec<Stored> {
        let sql = "SELECT partner, toInt64(toUnixTimestamp(period_start)) AS hour, impressions, revenue_micros, toString(currency) AS currency \
                   FROM partner_metrics FINAL WHERE tenant = ? AND period_start >= toDateTime(?) AND period_start < toDateTime(?) \
                   AND (impressions != 0 OR revenue_micros != 0) ORDER BY partner, hour";
        self.clickhouse.query(sql).bind(&self.tenant).bind(window.start.unix_timestamp()).bind(window.end.unix_timestamp())
            .fetch_all().await.unwrap()
    }

    async fn control(&self, action: &str, body: serde_json::Value) {
        let mut body = body;
        body["account"] = self.tenant.clone().into();
        let answer = self.http.post(format!("{}/_fake/partner/{action}", fake())).json(&body).send().await.unwrap();
        assert!(answer.status().is_success(), "{action}: {}", answer.text().await.unwrap());
    }

    async fn stats(&self) -> BTreeMap<String, u32> {
        self.http.get(format!("{}/_fake/partner/stats", fake())).query(&[("account", &self.tenant)]).send().await.unwrap().json().await.unwrap()
    }
}

#[tokio::test]
async fn stored_partner_numbers_equal_the_fakes_oracle_exactly() {
    let stack = Stack::new("oracle").await;
    let report = stack.poller.poll(&stack.feed).await.expect("the poll succeeds");
    let oracle = stack.oracle(report.window).await;
    assert!(oracle.len() > 100, "two days of eight partners: {}", oracle.len());
    assert_eq!(stack.stored(report.window).await, oracle);
    assert_eq!((report.rows, report.quarantined), (oracle.len() as u64, 0));
    assert_eq!(report.requests, oracle.len().div_ceil(25) as u32, "cursor pages of 25 rows");
    let status = PartnerStore::new(stack.clickhouse.clone()).status(&stack.tenant, "mediation_hourly").await.unwrap().unwrap();
    assert_eq!((status.status, status.rows_stored, status.consecutive_failures), (FeedState::Ok, oracle.len() as u64, 0));
    assert!(status.last_success_at.is_some());
}

#[tokio::test]
async fn a_restated_hour_replaces_its_previous_numbers() {
    let stack = Stack::new("restate").await;
    let window = stack.poller.poll(&stack.feed).await.unwrap().window;
    let before = stack.stored(window).await;
    let hour = before.iter().find(|row| row.partner == "rubicon").expect("rubicon reports").clone();
    stack.control("restate", serde_json::json!({
        "partner": "rubicon", "hour": hour.hour, "impressions": hour.impressions + 17, "revenue_micros": hour.revenue_micros + 1_234_567,
    })).await;
    stack.poller.poll(&stack.feed).await.unwrap();
    let after = stack.stored(window).await;
    assert_eq!(after, stack.oracle(window).await);
    assert_eq!(after.len(), before.len(), "replaced, not added");
    let restated = after.iter().find(|row| row.partner == "rubicon" && row.hour == hour.hour).unwrap();
    assert_eq!((restated.impressions, restated.revenue_micros), (hour.impressions + 17, hour.revenue_micros + 1_234_567));
}

#[tokio::test]
async fn a_row_the_partner_stops_reporting_is_replaced_by_zeros() {
    let stack = Stack::new("vanished").await;
    let window = stack.poller.poll(&stack.feed).await.unwrap().window;
    let before = stack.stored(window).await;
    let gone = before.iter().find(|row| row.partner == "openx").expect("openx reports").clone();
    stack.control("drop", serde_json::json!({ "partner": "openx", "hour": gone.hour })).await;
    let report = stack.poller.poll(&stack.feed).await.unwrap();
    assert_eq!((report.rows, report.vanished), (before.len() as u64 - 1, 1));
    let after = stack.stored(window).await;
    assert_eq!(after, stack.oracle(window).await);
    let sum: u64 = stack.clickhouse.query("SELECT sum(impressions) FROM partner_metrics FINAL WHERE tenant = ? AND partner = 'openx' AND period_start = toDateTime(?)")
        .bind(&stack.tenant).bind(gone.hour).fetch_one().await.unwrap();
    assert_eq!(sum, 0, "the stale hour adds nothing");
}

#[tokio::test]
async fn failures_are_reported_and_recovered_with_nothing_lost_or_doubled() {
    let stack = Stack::new("failures").await;
    let store = PartnerStore::new(stack.clickhouse.clone());
    let status = || async { store.status(&stack.tenant, "mediation_hourly").await.unwrap().unwrap() };

    stack.control("fail", serde_json::json!({ "mode": "malformed" })).await;
    let err = stack.poller.poll(&stack.feed).await.expect_err("a malformed page fails the poll");
    assert!(err.to_string().contains("not JSON"), "{err}");
    let failing = status().await;
    assert_eq!((failing.status, failing.consecutive_failures, failing.last_success_at), (FeedState::Failing, 1, None));
    assert!(failing.last_error.contains("not JSON"), "{}", failing.last_error);
    assert!(stack.stored(stack.window()).await.is_empty(), "a failed poll stores nothing");

    stack.control("fail", serde_json::json!({ "mode": "drift" })).await;
    let err = stack.poller.poll(&stack.feed).await.expect_err("a renamed field fails the poll");
    assert!(err.to_string().contains("schema drift") && err.to_string().contains("revenue"), "{err}");
    assert_eq!(status().await.consecutive_failures, 2);

    // Throttling and a server error pass within the HTTP layer's retries.
    stack.control("fail", serde_json::json!({ "mode": "429", "times": 2 })).await;
    stack.control("fail", serde_json::json!({ "mode": "500" })).await;
    stack.control("bad_row", serde_json::json!({ "on": true })).await;
    let report = stack.poller.poll(&stack.feed).await.expect("recovers");
    assert_eq!(report.quarantined, 1);
    let oracle = stack.oracle(report.window).await;
    assert_eq!(stack.stored(report.window).await, oracle, "nothing lost, nothing doubled");
    let recovered = status().await;
    assert_eq!((recovered.status, recovered.consecutive_failures, recovered.last_error.as_str()), (FeedState::Ok, 0, ""));
    assert_eq!(recovered.rows_quarantined, 1);
    let stats = stack.stats().await;
    assert_eq!((stats["429"], stats["500"], stats["malformed"], stats["drift"]), (2, 1, 1, 1));

    #[derive(Deserialize, Row)]
    struct Bad {
        reason: String,
        detail: String,
    }
    let bad: Vec<Bad> = stack.clickhouse.query("SELECT toString(reason) AS reason, detail FROM partner_quarantine FINAL WHERE tenant = ?")
        .bind(&stack.tenant).fetch_all().await.unwrap();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].reason, "bad_number");
    assert!(bad[0].detail.contains("\"revenue\""), "{}", bad[0].detail);

    // Polling again meets the bad row again: still one entry, as rows are still exact.
    stack.poller.poll(&stack.feed).await.unwrap();
    let again: Vec<Bad> = stack.clickhouse.query("SELECT toString(reason) AS reason, detail FROM partner_quarantine FINAL WHERE tenant = ?")
        .bind(&stack.tenant).fetch_all().await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(stack.stored(report.window).await, oracle);
}

/// The partner, or the ingester itself, down for 20 hours with a re-read of
/// 2: the first poll after it reads from 2 hours before the last success,
/// and with a catch-up of 5 hours it reads 5 and says what it never read.
#[tokio::test]
async fn the_poll_after_an_outage_reads_what_it_missed_up_to_the_catch_up() {
    let mut stack = Stack::new("outage").await;
    stack.feed.settings.reread_hours = 2;
    let store = PartnerStore::new(stack.clickhouse.clone());
    let now = OffsetDateTime::now_utc();
    let hour = |at: OffsetDateTime| at.unix_timestamp() - at.unix_timestamp().rem_euclid(3_600);
    let last_success = now - time::Duration::hours(20);
    let succeeded_then = || {
        let (window, _) = Window::to_poll(last_success, None, (2, 2), stack.feed.settings.grain);
        FeedStatus::after_poll(None, (&stack.tenant, "mediation_hourly"), window, last_success, 1, Ok((0, 0)))
    };

    store.put_status(&succeeded_then()).await.unwrap();
    let report = stack.poller.poll(&stack.feed).await.expect("the poll succeeds");
    assert_eq!((report.window.start.unix_timestamp(), report.missed), (hour(last_success) - 2 * 3_600, None));
    let oracle = stack.oracle(report.window).await;
    assert!(oracle.iter().any(|row| row.hour < hour(now) - 2 * 3_600), "the outage's hours have traffic");
    assert_eq!(stack.stored(report.window).await, oracle, "the outage's hours are read");

    stack.feed.settings.catch_up_hours = Some(5);
    store.put_status(&succeeded_then()).await.unwrap();
    let report = stack.poller.poll(&stack.feed).await.expect("the poll succeeds");
    let missed = report.missed.expect("beyond the catch-up");
    assert_eq!(
        (missed.start.unix_timestamp(), missed.end, report.window.start.unix_timestamp()),
        (hour(last_success) - 2 * 3_600, report.window.start, hour(report.window.end - time::Duration::hours(6)))
    );
    assert_eq!(stack.stored(report.window).await, stack.oracle(report.window).await);
    let missed_hours = (missed.end - missed.start).whole_hours();
    assert!(
        stack.metrics.encode().contains(&format!("adhouse_ingester_feed_hours_missed_total{{feed=\"mediation_hourly\"}} {missed_hours}")),
        "{}",
        stack.metrics.encode()
    );
}

/// A row sent unreadable is still there: its numbers stay. A row whose key
/// cannot be read may be any row, so nothing is zeroed until a poll reads
/// every key again.
#[tokio::test]
async fn an_unreadable_row_keeps_its_numbers_and_zeroes_no_row_it_may_be() {
    let stack = Stack::new("garbled").await;
    let window = stack.poller.poll(&stack.feed).await.unwrap().window;
    let before = stack.stored(window).await;
    let mut openx = before.iter().filter(|row| row.partner == "openx");
    let (garbled, gone) = (openx.next().expect("openx reports").hour, openx.next().expect("openx reports twice").hour);
    let garble = |field: serde_json::Value| stack.control("garble", serde_json::json!({ "partner": "openx", "hour": garbled, "field": field }));

    garble("revenue".into()).await;
    let report = stack.poller.poll(&stack.feed).await.unwrap();
    assert_eq!((report.quarantined, report.vanished), (1, 0));
    assert_eq!(stack.stored(window).await, before, "the unreadable row keeps its numbers");

    garble("hour".into()).await;
    stack.control("drop", serde_json::json!({ "partner": "openx", "hour": gone })).await;
    let report = stack.poller.poll(&stack.feed).await.unwrap();
    assert_eq!((report.quarantined, report.vanished), (1, 0), "the row without a readable hour may be the dropped one");
    assert_eq!(stack.stored(window).await, before);

    garble(serde_json::Value::Null).await;
    let report = stack.poller.poll(&stack.feed).await.unwrap();
    assert_eq!((report.quarantined, report.vanished), (0, 1));
    assert_eq!(stack.stored(window).await, stack.oracle(window).await);
}
