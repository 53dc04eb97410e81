//! The Facebook Pages and Instagram connectors against the organic fake of
//! the local stack, on the Meta fake's login (`make stack-up`, then run with
//! `.dev/env` sourced: `cargo test -p adhouse-connectors --test organic`).
//!
//! The fakes' controls are global, so the tests take turns through one lock
//! and each starts from a reset of both the Meta and the organic fakes.

use std::time::Duration;

use adhouse_connectors::fakes::{self, comparable};
use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::platform::Consent;
use adhouse_connectors::meta::organic::metrics::Product;
use adhouse_connectors::meta::organic::{INSTAGRAM_SCOPES, Organic, PAGES_SCOPES, TIMEZONE};
use adhouse_connectors::{Account, Credentials, DailyRow, DateRange, ErrorKind, Level, Platform, PlatformId};
use adhouse_core::settings::{MetaSettings, OrganicSettings, Secret};
use tokio::sync::{Mutex, MutexGuard};

static TURN: Mutex<()> = Mutex::const_new(());

struct Fake {
    base: String,
    browser: reqwest::Client,
    _turn: MutexGuard<'static, ()>,
}

impl Fake {
    async fn take() -> Self {
        let turn = TURN.lock().await;
        let base = std::env::var("ADHOUSE_DEV_PLATFORMS_URL").expect("ADHOUSE_DEV_PLATFORMS_URL: source .dev/env after `make stack-up`");
        let fake = Self { base, browser: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), _turn: turn };
        fake.control(PlatformId::Meta, "reset", &[]).await;
        fake.control(PlatformId::Facebook, "reset", &[]).await;
        fake
    }

    fn meta_settings(&self) -> MetaSettings {
        MetaSettings {
            enabled: true,
            client_id: "fake-meta-app".into(),
            client_secret: Secret::new("fake-meta-secret"),
            graph_url: format!("{}/meta/graph/v25.0", self.base),
            dialog_url: format!("{}/meta/www/v25.0/dialog/oauth", self.base),
            restate_days: 28,
        }
    }

    /// `product` at Graph API `version`, on Meta's app (no client of its own).
    fn organic(&self, product: Product, version: &str) -> Organic {
        self.organic_with(product, version, Http::new(Duration::from_secs(30), 5, Pacer::default()).with_first_backoff(Duration::from_millis(20)))
    }

    fn organic_with(&self, product: Product, version: &str, http: Http) -> Organic {
        let settings = OrganicSettings {
            enabled: true,
            client_id: String::new(),
            client_secret: Secret::default(),
            graph_url: format!("{}/meta/graph", self.base),
            dialog_url: format!("{}/meta/www/v25.0/dialog/oauth", self.base),
            api_version: version.into(),
            restate_days: 3,
        };
        Organic::new(product, &settings, &self.meta_settings(), http)
    }

    async fn control(&self, platform: PlatformId, name: &str, query: &[(&str, &str)]) {
        let answer = self.browser.post(format!("{}/_fake/{platform}/{name}", self.base)).query(query).send().await.unwrap();
        assert!(answer.status().is_success(), "{name}: {}", answer.status());
    }

    async fn calls(&self, kind: &str) -> u64 {
        let body: serde_json::Value = self.browser.get(format!("{}/_fake/facebook/calls", self.base)).send().await.unwrap().json().await.unwrap();
        body["calls"][kind].as_u64().unwrap_or(0)
    }

    /// The login as a browser does it: Meta's dialog with the product's
    /// scopes, consent, the redirect back, and the exchange.
    async fn link(&self, platform: &Organic, user: &str) -> Credentials {
        let redirect = format!("http://127.0.0.1:8080/oauth/callback/{}", platform.id());
        let authorization = platform.authorize(&redirect, "state-1", "unused").await.unwrap();
        assert!(authorization.temporary.is_none(), "OAuth 2.0: nothing kept besides the state");
        let callback = fakes::consent(&authorization.url, user, "allow").await;
        assert_eq!(callback.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).as_deref(), Some("state-1"));
        let code = fakes::code_of(&callback);
        platform.exchange_code(Consent { redirect_uri: &redirect, code: &code, code_verifier: "", temporary: None }).await.unwrap()
    }

    /// `user` linked, account `id` discovered, and the credentials stored for it.
    async fn linked(&self, platform: &Organic, user: &str, id: &str) -> (Credentials, Account) {
        let grant = self.link(platform, user).await;
        let account = platform.discover(&grant).await.unwrap().into_iter().find(|a| a.id == id).expect("discovered");
        (platform.account_credentials(&grant, &account).await.unwrap(), account)
    }

    async fn oracle(&self, platform: PlatformId, account: &str, range: DateRange) -> Vec<DailyRow> {
        fakes::oracle(&self.base, platform, account, Level::Account, range).await
    }
}

/// The last `days` complete Pacific days: up to the last one the fake serves.
async fn last_days(fake: &Fake, days: i64) -> DateRange {
    let today = time::OffsetDateTime::now_utc().date();
    let around = DateRange { since: today - time::Duration::days(3), until: today + time::Duration::days(1) };
    let until = fake.oracle(PlatformId::Facebook, "5001", around).await.last().expect("recent days").date;
    DateRange { since: until - time::Duration::days(days - 1), until }
}

/// Every window of `range` the way the syncer asks for it.
async fn fetch_all(platform: &Organic, credentials: &Credentials, account: &Account, range: DateRange) -> (Vec<DailyRow>, Vec<String>) {
    let (mut rows, mut warnings) = (Vec::new(), Vec::new());
    for window in range.windows(platform.window_days()) {
        let daily = platform.fetch_daily(credentials, account, Level::Account, window).await.unwrap();
        rows.extend(daily.rows);
        warnings = daily.warnings;
    }
    (comparable(rows), warnings)
}

#[tokio::test]
async fn consent_asks_each_products_scopes_and_discovery_finds_pages_and_their_instagram_accounts() {
    let fake = Fake::take().await;
    let pages = fake.organic(Product::Pages, "v25.0");
    let instagram = fake.organic(Product::Instagram, "v25.0");
    for (platform, scopes) in [(&pages, PAGES_SCOPES), (&instagram, INSTAGRAM_SCOPES)] {
        let url = url::Url::parse(&platform.authorize("http://127.0.0.1:8080/oauth/callback/x", "s", "c").await.unwrap().url).unwrap();
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!((query["client_id"].as_str(), query["scope"].as_str()), ("fake-meta-app", scopes), "Meta's app, the product's scopes");
    }
    let grant = fake.link(&pages, "demo").await;
    let found = pages.discover(&grant).await.unwrap();
    let summary: Vec<_> = found.iter().map(|a| (a.id.as_str(), a.name.as_str(), a.timezone.as_str(), a.manager_id.as_str())).collect();
    assert_eq!(summary, [("5001", "Demo Bakery", TIMEZONE, ""), ("5002", "Demo Books", TIMEZONE, "")]);
    let accounts = instagram.discover(&fake.link(&instagram, "demo").await).await.unwrap();
    let summary: Vec<_> = accounts.iter().map(|a| (a.id.as_str(), a.name.as_str(), a.manager_id.as_str())).collect();
    assert_eq!(summary, [("17841400000000501", "demobakery", "5001")], "only the Page with a connected account; reached through it");

    // What a linked account keeps is its Page's own token, which does not expire.
    let page_token = pages.account_credentials(&grant, &found[0]).await.unwrap();
    assert!(page_token.access_token != grant.access_token && page_token.expires_at == 0 && page_token.refresh_token.is_empty());
}

#[tokio::test]
async fn the_two_years_kept_equal_the_oracle_exactly_for_a_page_and_an_instagram_account() {
    let fake = Fake::take().await;
    let range = last_days(&fake, 730).await;
    for (product, platform_id, id) in [(Product::Pages, PlatformId::Facebook, "5001"), (Product::Instagram, PlatformId::Instagram, "17841400000000501")] {
        let platform = fake.organic(product, "v25.0");
        let (credentials, account) = fake.linked(&platform, "demo", id).await;
        let (rows, warnings) = fetch_all(&platform, &credentials, &account, range).await;
        let expected = fake.oracle(platform_id, id, range).await;
        assert_eq!(expected.len(), 730, "every complete day of two years");
        assert_eq!(rows, expected, "{product:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
        // The followers gauge on every Page day; Instagram keeps no follower history.
        assert!(rows.iter().all(|r| r.organic.followers.is_some() == (product == Product::Pages)));
    }
    // Pages: 90 days a request; Instagram: 30 a request for its daily series
    // and one a day for its totals.
    assert_eq!(fake.calls("insights").await, 9 + 25 + 730);
}

#[tokio::test]
async fn a_restatement_replaces_the_recent_days() {
    let fake = Fake::take().await;
    let pages = fake.organic(Product::Pages, "v25.0");
    let (credentials, account) = fake.linked(&pages, "demo", "5001").await;
    let range = last_days(&fake, 10).await;
    let (before, _) = fetch_all(&pages, &credentials, &account, range).await;
    fake.control(PlatformId::Facebook, "restate", &[]).await;
    let (after, _) = fetch_all(&pages, &credentials, &account, range).await;
    assert_eq!(after, fake.oracle(PlatformId::Facebook, "5001", range).await);
    let changed: Vec<_> = before.iter().zip(&after).filter(|(b, a)| b != a).map(|(b, _)| b.date).collect();
    assert_eq!(changed.len(), 3, "the last three complete days restated, the older ones kept: {changed:?}");
}

#[tokio::test]
async fn a_revoked_grant_asks_for_a_relink() {
    let fake = Fake::take().await;
    let instagram = fake.organic(Product::Instagram, "v25.0");
    let (credentials, account) = fake.linked(&instagram, "demo", "17841400000000501").await;
    fake.control(PlatformId::Facebook, "revoke", &[("user", "demo")]).await;
    let err = instagram.fetch_daily(&credentials, &account, Level::Account, last_days(&fake, 3).await).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Relink, "{err}");
    assert!(!err.to_string().contains(&credentials.access_token));
}

#[tokio::test]
async fn retired_metrics_are_dropped_with_a_warning_while_the_rest_syncs() {
    let fake = Fake::take().await;
    let range = last_days(&fake, 20).await;

    // Instagram at v21.0 still asks for impressions, which Meta retired in every version.
    let old = fake.organic(Product::Instagram, "v21.0");
    let (credentials, account) = fake.linked(&old, "demo", "17841400000000501").await;
    let (rows, warnings) = fetch_all(&old, &credentials, &account, range).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("impressions") && warnings[0].contains("v21.0"), "{warnings:?}");
    let mut expected = fake.oracle(PlatformId::Instagram, &account.id, range).await;
    for row in &mut expected {
        row.impressions = 0; // views came with v22.0: nothing fills the column at v21.0
    }
    assert_eq!(rows, expected);

    // Pages at v23.0: the page_impressions family and page_fans are gone.
    let pages = fake.organic(Product::Pages, "v23.0");
    let (credentials, account) = fake.linked(&pages, "demo", "5001").await;
    let (rows, warnings) = fetch_all(&pages, &credentials, &account, range).await;
    let dropped: Vec<_> = ["page_fans", "page_impressions", "page_impressions_unique"].iter().map(|m| warnings.iter().any(|w| w.contains(&format!("metric {m} ")))).collect();
    assert_eq!((dropped, warnings.len()), (vec![true; 3], 3), "{warnings:?}");
    let mut expected = fake.oracle(PlatformId::Facebook, "5001", range).await;
    for row in &mut expected {
        // Their successors came with v24.0.
        (row.impressions, row.reach, row.organic.followers) = (0, 0, None);
    }
    assert_eq!(rows, expected);

    // A retirement the table does not know yet: only that metric goes.
    let current = fake.organic(Product::Pages, "v25.0");
    fake.control(PlatformId::Facebook, "retire", &[("metric", "page_views_total")]).await;
    let (rows, warnings) = fetch_all(&current, &credentials, &account, range).await;
    assert!(warnings.len() == 1 && warnings[0].contains("page_views_total"), "{warnings:?}");
    let mut expected = fake.oracle(PlatformId::Facebook, "5001", range).await;
    for row in &mut expected {
        row.organic.profile_views = 0;
    }
    assert_eq!(rows, expected);
}

#[tokio::test]
async fn a_throttled_page_is_retried_and_still_exact() {
    let fake = Fake::take().await;
    let pages = fake.organic(Product::Pages, "v25.0");
    let (credentials, account) = fake.linked(&pages, "demo", "5001").await;
    fake.control(PlatformId::Facebook, "throttle", &[("calls", "2"), ("code", "32")]).await;
    let range = last_days(&fake, 30).await;
    let (rows, _) = fetch_all(&pages, &credentials, &account, range).await;
    assert_eq!(rows, fake.oracle(PlatformId::Facebook, "5001", range).await);
    assert_eq!(fake.calls("throttled").await, 2);

    // Without retries the throttling is a Retry for the caller.
    fake.control(PlatformId::Facebook, "throttle", &[("calls", "1"), ("code", "4")]).await;
    let once = fake.organic_with(Product::Pages, "v25.0", Http::new(Duration::from_secs(30), 1, Pacer::default()));
    let err = once.fetch_daily(&credentials, &account, Level::Account, range).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retry, "{err}");
}
