//! The X Ads connector against the fake of the local stack (`make
//! stack-up`; `ADHOUSE_DEV_PLATFORMS_URL` and the `ADHOUSE__PLATFORMS__X__*`
//! settings come from `.dev/env`). The fake checks every OAuth 1.0a
//! signature, so each test here also proves the signing.
//!
//! Each test links its own grant; controls are scoped to that grant or to an
//! account no other test here touches (restatement: 5gvk9h of `other`;
//! throttling: 18ce54uhdp2).

use std::collections::HashMap;
use std::time::Duration;

use adhouse_connectors::fakes;
use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::platform::Consent;
use adhouse_connectors::x::X;
use adhouse_connectors::{Account, Credentials, DailyRow, DateRange, ErrorKind, Level, Platform, PlatformId};
use adhouse_core::settings::{Secret, XSettings};
use time::{Date, OffsetDateTime};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback/x";

fn fake_url() -> String {
    std::env::var("ADHOUSE_DEV_PLATFORMS_URL").expect("ADHOUSE_DEV_PLATFORMS_URL: start the stack (`make stack-up`) and source .dev/env")
}

fn setting(name: &str) -> String {
    let key = format!("ADHOUSE__PLATFORMS__X__{name}");
    std::env::var(&key).unwrap_or_else(|_| panic!("{key}: source .dev/env"))
}

fn settings() -> XSettings {
    XSettings {
        enabled: true,
        consumer_key: setting("CONSUMER_KEY"),
        consumer_secret: Secret::new(setting("CONSUMER_SECRET")),
        auth_url: setting("AUTH_URL"),
        api_url: setting("API_URL"),
        api_version: "12".into(),
        restate_days: 3,
    }
}

fn x_with(settings: XSettings, attempts: u32, pacer: Pacer) -> X {
    X::new(&settings, Http::new(Duration::from_secs(30), attempts, pacer).with_first_backoff(Duration::from_millis(10)))
}

fn x() -> X {
    x_with(settings(), 4, Pacer::default())
}

/// What the consent page sends the browser back with.
struct Callback {
    params: HashMap<String, String>,
}

/// The request token, X's consent page, `decision` as `user`: the callback.
async fn consent(x: &X, user: &str, decision: &str) -> (Callback, Credentials) {
    let authorization = x.authorize(REDIRECT, "state-1", "unused").await.expect("a request token and a consent URL");
    let temporary = authorization.temporary.expect("OAuth 1.0a keeps the request token secret");
    let url = url::Url::parse(&authorization.url).unwrap();
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["oauth_token"], temporary.access_token);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Authorize app"));
    let form = [("oauth_token", temporary.access_token.as_str()), ("user", user), ("decision", decision)];
    let answer = browser.post(format!("{}/x/api/oauth/consent", fake_url())).form(&form).send().await.unwrap();
    let callback = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(callback.as_str().starts_with(REDIRECT), "{callback}");
    (Callback { params: callback.query_pairs().into_owned().collect() }, temporary)
}

/// A grant of `user`: consent, then the verifier exchanged.
async fn link(x: &X, user: &str) -> Credentials {
    let (callback, temporary) = consent(x, user, "allow").await;
    assert_eq!(callback.params["state"], "state-1", "the state comes back in the callback URL");
    assert_eq!(callback.params["oauth_token"], temporary.access_token);
    let consent = Consent { redirect_uri: REDIRECT, code: &callback.params["oauth_verifier"], code_verifier: "", temporary: Some(&temporary) };
    x.exchange_code(consent).await.expect("the verifier exchanges")
}

async fn control(name: &str, params: &[(&str, &str)]) -> serde_json::Value {
    let answer = reqwest::Client::new().post(format!("{}/_fake/x/{name}", fake_url())).query(params).send().await.unwrap();
    assert!(answer.status().is_success(), "control {name}");
    answer.json().await.unwrap()
}

async fn calls(kind: &str) -> u64 {
    let all: serde_json::Value = reqwest::get(format!("{}/_fake/x/calls", fake_url())).await.unwrap().json().await.unwrap();
    all["calls"].get(kind).and_then(|n| n.as_u64()).unwrap_or(0)
}

async fn oracle(account: &str, level: Level, range: DateRange) -> Vec<DailyRow> {
    fakes::oracle(&fake_url(), PlatformId::X, account, level, range).await
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

fn last_days(days: i64, ago: i64) -> DateRange {
    let until = today() - time::Duration::days(ago);
    DateRange { since: until - time::Duration::days(days - 1), until }
}

async fn account(x: &X, credentials: &Credentials, id: &str) -> Account {
    x.discover(credentials).await.unwrap().into_iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id} discovered"))
}

#[tokio::test]
async fn the_oauth_1_dance_gives_a_token_and_secret_that_never_need_a_refresh() {
    let x = x();
    let credentials = link(&x, "demo").await;
    assert!(!credentials.access_token.is_empty() && !credentials.token_secret.is_empty());
    assert_eq!((credentials.refresh_token.as_str(), credentials.expires_at), ("", 0), "X's tokens do not expire");
    assert_eq!(x.refresh(&credentials).await.unwrap(), credentials);

    // A verifier works once.
    let (callback, temporary) = consent(&x, "demo", "allow").await;
    let once = Consent { redirect_uri: REDIRECT, code: &callback.params["oauth_verifier"], code_verifier: "", temporary: Some(&temporary) };
    x.exchange_code(once).await.unwrap();
    assert!(x.exchange_code(once).await.is_err(), "the request token is spent");

    // Cancel: X sends `denied` and no verifier.
    let (cancelled, temporary) = consent(&x, "demo", "cancel").await;
    assert_eq!(cancelled.params.get("denied"), Some(&temporary.access_token));
    assert!(!cancelled.params.contains_key("oauth_verifier"));

    // A wrong consumer secret signs wrongly: X refuses the request token.
    let forged = x_with(XSettings { consumer_secret: Secret::new("not-the-secret"), ..settings() }, 1, Pacer::default());
    let refused = forged.authorize(REDIRECT, "s", "").await.unwrap_err();
    assert!(refused.to_string().contains("Could not authenticate you"), "{refused}");
}

#[tokio::test]
async fn discovery_takes_the_currency_of_the_funding_instrument_and_the_accounts_timezone() {
    let x = x();
    let accounts = x.discover(&link(&x, "demo").await).await.unwrap();
    let found: Vec<_> = accounts.iter().map(|a| (a.id.as_str(), a.currency.as_str(), a.timezone.as_str(), a.active)).collect();
    assert_eq!(
        found,
        [
            ("18ce54d4x5t", "JPY", "Asia/Tokyo", true),
            ("18ce54uhdp2", "USD", "America/Los_Angeles", true),
            ("18ce55a1b2c", "GBP", "Europe/London", false),
        ],
        "the account without a funding instrument is left out; the one in review is inactive"
    );
    assert_eq!(accounts[0].name, "Demo X Tokyo");
}

#[tokio::test]
async fn every_level_equals_the_oracle_through_async_jobs_and_synchronous_stats() {
    let x = x();
    let credentials = link(&x, "demo").await;
    for id in ["18ce54d4x5t", "18ce54uhdp2"] {
        let account = account(&x, &credentials, id).await;
        // 100 days: two windows of async jobs (90 + 10 days); 7 days: synchronous.
        for range in [last_days(100, 1), last_days(7, 1)] {
            for level in Level::ALL {
                let rows = x.fetch_daily(&credentials, &account, level, range).await.unwrap().rows;
                let expected = oracle(id, level, range).await;
                assert!(!expected.is_empty());
                assert_eq!(fakes::comparable(rows), expected, "{id} at {level:?} over {} days", range.days());
            }
        }
    }
    assert!(calls("jobs_created").await > 0);
}

#[tokio::test]
async fn a_restatement_of_billing_is_seen_on_the_next_fetch_and_older_days_stay() {
    let x = x();
    let credentials = link(&x, "other").await;
    let account = account(&x, &credentials, "5gvk9h").await;
    let range = last_days(7, 0);
    let before = fakes::comparable(x.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows);
    control("restate", &[("account", "5gvk9h")]).await;
    let after = fakes::comparable(x.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows);
    assert_eq!(after, oracle("5gvk9h", Level::Campaign, range).await);
    let settled = today() - time::Duration::days(4);
    let old = |rows: &[DailyRow]| rows.iter().filter(|r| r.date <= settled).cloned().collect::<Vec<_>>();
    assert_eq!(old(&before), old(&after));
    assert_ne!(before, after, "recent billing changed");
    let impressions = |rows: &[DailyRow]| rows.iter().map(|r| r.impressions).collect::<Vec<_>>();
    assert_eq!(impressions(&before), impressions(&after), "only billing is an estimate");
}

#[tokio::test]
async fn a_revoked_token_asks_for_relink_and_other_grants_go_on() {
    let x = x();
    let credentials = link(&x, "demo").await;
    let other = link(&x, "demo").await;
    let account = account(&x, &credentials, "18ce54d4x5t").await;
    control("revoke", &[("token", &credentials.access_token)]).await;
    let fetched = x.fetch_daily(&credentials, &account, Level::Account, last_days(7, 1)).await.unwrap_err();
    assert_eq!(fetched.kind(), ErrorKind::Relink, "{fetched}");
    assert!(fetched.to_string().contains("UNAUTHORIZED_ACCESS"), "{fetched}");
    assert!(x.fetch_daily(&other, &account, Level::Account, last_days(7, 1)).await.is_ok());
}

#[tokio::test]
async fn a_429_is_waited_out_until_the_reset_with_nothing_lost() {
    let id = "18ce54uhdp2";
    let range = last_days(30, 2);
    let pacer = Pacer::default();
    let once = x_with(settings(), 1, pacer.clone());
    let credentials = link(&once, "demo").await;
    let account = account(&once, &credentials, id).await;
    control("throttle", &[("account", id), ("calls", "1")]).await;
    let throttled = once.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap_err();
    assert_eq!((throttled.kind(), throttled.to_string().contains("TOO_MANY_REQUESTS")), (ErrorKind::Retry, true), "{throttled}");
    let rows = once.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows;
    assert!(pacer.waited() > Duration::ZERO, "the next call waited for the exhausted limit's reset");
    assert_eq!(fakes::comparable(rows), oracle(id, Level::Campaign, range).await);

    let before = calls("throttled").await;
    control("throttle", &[("account", id), ("calls", "3")]).await;
    let rows = x().fetch_daily(&credentials, &account, Level::Ad, range).await.unwrap().rows;
    assert_eq!(fakes::comparable(rows), oracle(id, Level::Ad, range).await);
    assert!(calls("throttled").await - before >= 3);
}

#[tokio::test]
async fn a_sunset_version_says_so() {
    let x = x();
    let credentials = link(&x, "demo").await;
    let account = account(&x, &credentials, "18ce54d4x5t").await;
    let old = x_with(XSettings { api_version: "11".into(), ..settings() }, 2, Pacer::default());
    let sunset = old.fetch_daily(&credentials, &account, Level::Campaign, last_days(5, 1)).await.unwrap_err();
    assert_eq!(sunset.kind(), ErrorKind::Fatal);
    assert!(sunset.to_string().contains("Ads API version 11 is not served"), "{sunset}");
}

#[tokio::test]
async fn a_wrong_consumer_secret_names_the_settings_and_leaves_the_grant_linked() {
    let x = x();
    let credentials = link(&x, "demo").await;
    let account = account(&x, &credentials, "18ce54d4x5t").await;
    let misconfigured = x_with(XSettings { consumer_secret: Secret::new("not-the-secret"), ..settings() }, 1, Pacer::default());
    let refused = misconfigured.fetch_daily(&credentials, &account, Level::Account, last_days(7, 1)).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Fatal, "relinking cannot mend the app's secret: {refused}");
    assert!(refused.to_string().contains("check platforms.x.consumer_key and platforms.x.consumer_secret"), "{refused}");
    assert!(x.fetch_daily(&credentials, &account, Level::Account, last_days(7, 1)).await.is_ok(), "the grant is fine");
}

#[tokio::test]
async fn a_host_clock_an_hour_behind_xs_is_corrected_from_the_date_and_the_call_retried_once() {
    let x = x_with(settings(), 1, Pacer::default());
    let credentials = link(&x, "demo").await;
    let account = account(&x, &credentials, "18ce54uhdp2").await;
    control("clock", &[("token", &credentials.access_token), ("ahead_secs", "3600")]).await;
    let range = last_days(7, 1);
    let rows = x.fetch_daily(&credentials, &account, Level::Campaign, range).await.expect("signed again with X's time").rows;
    assert_eq!(fakes::comparable(rows), oracle("18ce54uhdp2", Level::Campaign, range).await);
}
