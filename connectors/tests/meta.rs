//! The Meta connector against the Meta fake of the local stack
//! (`make stack-up`, then run with `.dev/env` sourced:
//! `set -a && . ./.dev/env && set +a && cargo test -p adhouse-connectors --test meta`).
//!
//! The fake's controls (reset, restate, revoke, throttle) are global, so the
//! tests take turns through one lock and each starts from a reset.

use std::time::Duration;

use adhouse_connectors::fakes::{self, comparable};
use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::platform::Consent;
use adhouse_connectors::meta::{Meta, SCOPES};
use adhouse_connectors::{Account, Credentials, DailyRow, DateRange, ErrorKind, Level, Platform, PlatformId};
use adhouse_core::settings::{MetaSettings, Secret};
use tokio::sync::{Mutex, MutexGuard};

const REDIRECT: &str = "http://127.0.0.1:8080/oauth/callback/meta";

static TURN: Mutex<()> = Mutex::const_new(());

struct Fake {
    base: String,
    /// Does not follow redirects: the consent's 302 is what the test reads.
    browser: reqwest::Client,
    _turn: MutexGuard<'static, ()>,
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

impl Fake {
    /// The fake, reset, for this test alone.
    async fn take() -> Self {
        let turn = TURN.lock().await;
        let base = std::env::var("ADHOUSE_DEV_PLATFORMS_URL").expect("ADHOUSE_DEV_PLATFORMS_URL: source .dev/env after `make stack-up`");
        let fake = Self { base, browser: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), _turn: turn };
        fake.control("reset", &[]).await;
        fake
    }

    fn settings(&self) -> MetaSettings {
        MetaSettings {
            enabled: true,
            client_id: env("ADHOUSE__PLATFORMS__META__CLIENT_ID", "fake-meta-app"),
            client_secret: Secret::new(env("ADHOUSE__PLATFORMS__META__CLIENT_SECRET", "fake-meta-secret")),
            graph_url: env("ADHOUSE__PLATFORMS__META__GRAPH_URL", &format!("{}/meta/graph/v25.0", self.base)),
            dialog_url: env("ADHOUSE__PLATFORMS__META__DIALOG_URL", &format!("{}/meta/www/v25.0/dialog/oauth", self.base)),
            restate_days: 28,
        }
    }

    fn meta(&self) -> Meta {
        self.meta_with(Http::new(Duration::from_secs(30), 5, Pacer::default()))
    }

    fn meta_with(&self, http: Http) -> Meta {
        Meta::new(&self.settings(), http)
    }

    async fn control(&self, name: &str, query: &[(&str, &str)]) {
        let answer = self.browser.post(format!("{}/_fake/meta/{name}", self.base)).query(query).send().await.unwrap();
        assert!(answer.status().is_success(), "{name}: {}", answer.status());
    }

    async fn oracle(&self, account: &str, level: Level, range: DateRange) -> Vec<DailyRow> {
        fakes::oracle(&self.base, PlatformId::Meta, account, level, range).await
    }

    async fn calls(&self, kind: &str) -> u64 {
        let body: serde_json::Value = self.browser.get(format!("{}/_fake/meta/calls", self.base)).send().await.unwrap().json().await.unwrap();
        body["calls"][kind].as_u64().unwrap_or(0)
    }

    /// The whole login as a browser does it: the dialog, the user's consent,
    /// the redirect back with the code, and the connector's exchange.
    async fn link(&self, meta: &Meta, user: &str) -> Credentials {
        let authorization = meta.authorize(REDIRECT, "state-1", "a-pkce-challenge").await.expect("a consent URL");
        let url = url::Url::parse(&authorization.url).unwrap();
        let page = self.browser.get(url.clone()).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Allow") && page.contains("business_management"), "{page}");
        let mut form: Vec<(String, String)> = url.query_pairs().into_owned().filter(|(k, _)| k != "response_type").collect();
        form.push(("user".into(), user.into()));
        let consent = self.browser.post(format!("{}/meta/www/v25.0/dialog/oauth/consent", self.base)).form(&form).send().await.unwrap();
        assert_eq!(consent.status(), 302);
        let back = url::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
        assert!(back.as_str().starts_with(REDIRECT));
        let query: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
        assert_eq!(query["state"], "state-1");
        meta.exchange_code(Consent { redirect_uri: REDIRECT, code: &query["code"], code_verifier: "", temporary: None }).await.unwrap()
    }
}


/// The last `days` days up to today (UTC; days the account has not reached
/// yet are simply absent).
fn last_days(days: i64) -> DateRange {
    let until = time::OffsetDateTime::now_utc().date();
    DateRange { since: until - time::Duration::days(days - 1), until }
}

/// `user` linked, and their ad account `id` as discovery describes it.
async fn linked(fake: &Fake, meta: &Meta, user: &str, id: &str) -> (Credentials, Account) {
    let credentials = fake.link(meta, user).await;
    let account = meta.discover(&credentials).await.unwrap().into_iter().find(|a| a.id == id).unwrap();
    (credentials, account)
}

#[tokio::test]
async fn consent_then_code_exchange_gives_a_long_lived_token_and_refresh_keeps_it() {
    let fake = Fake::take().await;
    let meta = fake.meta();
    let url = url::Url::parse(&meta.authorize(REDIRECT, "s", "challenge").await.expect("a consent URL").url).unwrap();
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let expected = [("client_id", "fake-meta-app"), ("redirect_uri", REDIRECT), ("state", "s"), ("scope", SCOPES), ("response_type", "code")];
    assert_eq!(query, expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec());
    let credentials = fake.link(&meta, "demo").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(credentials.refresh_token.is_empty());
    // Long-lived: about 60 days (5183944 s), not the code's hours.
    assert!((credentials.expires_at - now - 5_183_944).abs() < 600, "{credentials:?}");
    assert_eq!(meta.refresh(&credentials).await.unwrap(), credentials);
    assert_eq!(fake.calls("oauth").await, 2);
}

#[tokio::test]
async fn discovery_lists_each_users_accounts_without_the_act_prefix() {
    let fake = Fake::take().await;
    let meta = fake.meta();
    let demo = meta.discover(&fake.link(&meta, "demo").await).await.unwrap();
    let summary: Vec<_> = demo.iter().map(|a| (a.id.as_str(), a.name.as_str(), a.currency.as_str(), a.timezone.as_str(), a.active)).collect();
    assert_eq!(summary, [("1001", "Demo US", "USD", "America/Los_Angeles", true), ("1002", "Demo DE", "EUR", "Europe/Berlin", true)]);
    let other = meta.discover(&fake.link(&meta, "other").await).await.unwrap();
    assert_eq!(other.iter().map(|a| (a.id.as_str(), a.currency.as_str())).collect::<Vec<_>>(), [("2001", "GBP")]);
}

#[tokio::test]
async fn ninety_days_at_every_level_equal_the_oracle_exactly() {
    let fake = Fake::take().await;
    let meta = fake.meta();
    let (credentials, act) = linked(&fake, &meta, "demo", "1001").await;
    let range = last_days(90);
    for level in Level::ALL {
        let rows = meta.fetch_daily(&credentials, &act, level, range).await.unwrap().rows;
        assert!(rows.iter().all(|r| r.level == level));
        let expected = fake.oracle("1001", level, range).await;
        assert!(!expected.is_empty());
        assert_eq!(comparable(rows), expected, "{level:?}");
    }
    // One report run per level, each read in pages of 500 (ad level: > 500 rows).
    assert_eq!(fake.calls("insights_async").await, 4);
    assert!(fake.calls("report_run_insights").await > 4);
}

#[tokio::test]
async fn a_restatement_is_visible_on_refetch_in_the_last_28_days_only() {
    let fake = Fake::take().await;
    let meta = fake.meta();
    let (credentials, act) = linked(&fake, &meta, "demo", "1002").await;
    let range = last_days(60);
    let before = comparable(meta.fetch_daily(&credentials, &act, Level::Campaign, range).await.unwrap().rows);
    fake.control("restate", &[]).await;
    let after = comparable(meta.fetch_daily(&credentials, &act, Level::Campaign, range).await.unwrap().rows);
    assert_eq!(after, fake.oracle("1002", Level::Campaign, range).await);
    let changed: Vec<_> = before.iter().filter(|row| !after.contains(row)).collect();
    assert!(!changed.is_empty());
    // Berlin's today is at most one day after UTC's: nothing older than 29 days moved.
    let oldest_restated = range.until - time::Duration::days(28);
    assert!(changed.iter().all(|row| row.date >= oldest_restated), "{changed:?}");
}

#[tokio::test]
async fn a_revoked_grant_asks_for_relinking() {
    let fake = Fake::take().await;
    let meta = fake.meta();
    let (credentials, act) = linked(&fake, &meta, "other", "2001").await;
    fake.control("revoke", &[("user", "other")]).await;
    let discovered = meta.discover(&credentials).await.unwrap_err();
    assert_eq!(discovered.kind(), ErrorKind::Relink);
    assert!(discovered.to_string().contains("error 190/460"), "{discovered}");
    let fetched = meta.fetch_daily(&credentials, &act, Level::Campaign, last_days(7)).await.unwrap_err();
    assert_eq!(fetched.kind(), ErrorKind::Relink);
}

#[tokio::test]
async fn throttled_calls_are_retried_after_metas_wait_and_nothing_is_lost() {
    let fake = Fake::take().await;
    let meta = fake.meta_with(Http::new(Duration::from_secs(30), 5, Pacer::default()).with_first_backoff(Duration::from_millis(10)));
    let (credentials, act) = linked(&fake, &meta, "demo", "1001").await;
    // The next 3 Graph calls (the report run's creation and first polls)
    // answer 80000 with the account at 100 % and access back in 0 minutes.
    fake.control("throttle", &[("calls", "3"), ("minutes", "0")]).await;
    let range = last_days(30);
    let rows = meta.fetch_daily(&credentials, &act, Level::Ad, range).await.unwrap().rows;
    assert_eq!(comparable(rows), fake.oracle("1001", Level::Ad, range).await);
    assert_eq!(fake.calls("throttled").await, 3);
    assert_eq!(fake.calls("insights_async").await, 4, "three throttled creations, then one report run");
}

#[tokio::test]
async fn a_year_at_ad_level_is_answered_split() {
    let fake = Fake::take().await;
    let meta = fake.meta();
    let (credentials, act) = linked(&fake, &meta, "demo", "1001").await;
    let err = meta.fetch_daily(&credentials, &act, Level::Ad, last_days(365)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Split, "{err}");
    let (first, second) = last_days(365).halves().unwrap();
    for half in [first, second] {
        let rows = meta.fetch_daily(&credentials, &act, Level::Ad, half).await.unwrap().rows;
        assert_eq!(comparable(rows), fake.oracle("1001", Level::Ad, half).await);
    }
}
