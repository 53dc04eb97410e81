//! The Yahoo! JAPAN Ads connector against the fake of the local stack
//! (`make stack-up`; `ADHOUSE_DEV_PLATFORMS_URL` and the
//! `ADHOUSE__PLATFORMS__YAHOO__*` settings come from `.dev/env`).
//!
//! Each test links its own grant; controls are scoped to that grant or to an
//! account no other test here touches (restatement: 1000000041 of `other`;
//! throttling: 1000000021; denied: 2000000051; failing jobs: 1000000012).

use std::collections::HashMap;
use std::time::Duration;

use adhouse_connectors::fakes;
use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::platform::Consent;
use adhouse_connectors::yahoo::{SCOPE, Yahoo};
use adhouse_connectors::{Account, Credentials, DailyRow, DateRange, ErrorKind, Level, Platform, PlatformId};
use adhouse_core::settings::{Secret, YahooSettings};
use time::{Date, OffsetDateTime};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback/yahoo";

fn fake_url() -> String {
    std::env::var("ADHOUSE_DEV_PLATFORMS_URL").expect("ADHOUSE_DEV_PLATFORMS_URL: start the stack (`make stack-up`) and source .dev/env")
}

fn setting(name: &str) -> String {
    let key = format!("ADHOUSE__PLATFORMS__YAHOO__{name}");
    std::env::var(&key).unwrap_or_else(|_| panic!("{key}: source .dev/env"))
}

fn settings() -> YahooSettings {
    YahooSettings {
        enabled: true,
        client_id: setting("CLIENT_ID"),
        client_secret: Secret::new(setting("CLIENT_SECRET")),
        auth_url: setting("AUTH_URL"),
        token_url: setting("TOKEN_URL"),
        search_api_url: setting("SEARCH_API_URL"),
        display_api_url: setting("DISPLAY_API_URL"),
        api_version: "v18".into(),
        restate_days: 7,
    }
}

fn yahoo_with(settings: YahooSettings, attempts: u32, pacer: Pacer) -> Yahoo {
    Yahoo::new(&settings, Http::new(Duration::from_secs(30), attempts, pacer).with_first_backoff(Duration::from_millis(10)))
}

fn yahoo() -> Yahoo {
    yahoo_with(settings(), 4, Pacer::default())
}

/// The consent page of `authorize`, "Allow" as `user`, and the code exchanged.
async fn link(yahoo: &Yahoo, user: &str) -> Credentials {
    let url = url::Url::parse(&yahoo.authorize(REDIRECT, "state-1", "unused").await.expect("a consent URL").url).unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Allow"));
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let mut form: Vec<(&str, &str)> = ["client_id", "redirect_uri", "state", "scope"].iter().map(|n| (*n, query[*n].as_str())).collect();
    form.extend([("user", user), ("decision", "allow")]);
    let answer = browser.post(format!("{}/yahoo/biz-oauth/oauth/v1/consent", fake_url())).form(&form).send().await.unwrap();
    let callback = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(callback.as_str().starts_with(REDIRECT));
    let params: HashMap<String, String> = callback.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "state-1");
    yahoo.exchange_code(Consent { redirect_uri: REDIRECT, code: &params["code"], code_verifier: "unused", temporary: None }).await.expect("the code exchanges")
}

async fn control(name: &str, params: &[(&str, &str)]) -> serde_json::Value {
    let answer = reqwest::Client::new().post(format!("{}/_fake/yahoo/{name}", fake_url())).query(params).send().await.unwrap();
    assert!(answer.status().is_success(), "control {name}");
    answer.json().await.unwrap()
}

async fn calls(kind: &str) -> u64 {
    let all: serde_json::Value = reqwest::get(format!("{}/_fake/yahoo/calls", fake_url())).await.unwrap().json().await.unwrap();
    all["calls"].get(kind).and_then(|n| n.as_u64()).unwrap_or(0)
}

async fn oracle(account: &str, level: Level, range: DateRange) -> Vec<DailyRow> {
    fakes::oracle(&fake_url(), PlatformId::Yahoo, account, level, range).await
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

fn last_days(days: i64, ago: i64) -> DateRange {
    let until = today() - time::Duration::days(ago);
    DateRange { since: until - time::Duration::days(days - 1), until }
}

async fn account(yahoo: &Yahoo, credentials: &Credentials, id: &str) -> Account {
    yahoo.discover(credentials).await.unwrap().into_iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id} discovered"))
}

#[tokio::test]
async fn linking_asks_for_yahooads_and_gives_a_refresh_token_that_renews_an_expired_access_token() {
    let yahoo = yahoo();
    let url = url::Url::parse(&yahoo.authorize(REDIRECT, "s", "c").await.expect("a consent URL").url).unwrap();
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!((query["scope"].as_str(), query["response_type"].as_str()), (SCOPE, "code"));
    assert!(!query.contains_key("code_challenge"), "no PKCE in Yahoo!'s documented flow");

    let credentials = link(&yahoo, "demo").await;
    assert!(!credentials.refresh_token.is_empty());
    assert_eq!(yahoo.refresh(&credentials).await.unwrap(), credentials, "an hour left: nothing to do");
    let near = Credentials { expires_at: OffsetDateTime::now_utc().unix_timestamp() + 60, ..credentials.clone() };
    let refreshed = yahoo.refresh(&near).await.unwrap();
    assert_ne!(refreshed.access_token, credentials.access_token);
    assert_eq!(refreshed.refresh_token, credentials.refresh_token, "Yahoo! keeps the refresh token");

    // The access tokens die early: 0111, one refresh, and the call goes on.
    control("expire", &[("refresh_token", &credentials.refresh_token)]).await;
    assert!(yahoo.discover(&refreshed).await.is_ok());
}

#[tokio::test]
async fn discovery_walks_base_accounts_links_and_pages_of_both_apis() {
    let yahoo = yahoo();
    let demo = yahoo.discover(&link(&yahoo, "demo").await).await.unwrap();
    let found: Vec<_> = demo.iter().map(|a| (a.id.as_str(), a.kind.as_str(), a.manager_id.as_str(), a.active)).collect();
    assert_eq!(
        found,
        [
            ("1000000011", "search", "1000000001", true),
            ("1000000012", "search", "1000000001", true),
            ("1000000013", "search", "1000000001", false),
            ("1000000021", "search", "", true),
            ("2000000031", "display", "", true),
        ]
    );
    assert!(demo.iter().all(|a| a.currency == "JPY" && a.timezone == "Asia/Tokyo"));
    assert_eq!(demo[0].name, "デモ検索 東京");

    let key = "AccountLinkService/get.1100000000";
    let before = calls(key).await;
    let agency = yahoo.discover(&link(&yahoo, "agency").await).await.unwrap();
    assert_eq!(agency.len(), 205, "every linked account, over two pages");
    assert_eq!(calls(key).await - before, 2);
}

#[tokio::test]
async fn every_level_of_a_search_and_a_display_account_equals_the_oracle_without_the_summary_row() {
    let yahoo = yahoo();
    let credentials = link(&yahoo, "demo").await;
    // 100 days: four 30-day operands in one add.
    let range = last_days(100, 1);
    for id in ["1000000011", "2000000031"] {
        let account = account(&yahoo, &credentials, id).await;
        for level in Level::ALL {
            let rows = yahoo.fetch_daily(&credentials, &account, level, range).await.unwrap().rows;
            let expected = oracle(id, level, range).await;
            assert!(!expected.is_empty());
            assert_eq!(rows.len(), expected.len(), "{id} {level:?}: no summary row among the rows");
            assert_eq!(fakes::comparable(rows), expected, "{id} at {level:?}");
        }
    }
}

#[tokio::test]
async fn a_restatement_is_seen_on_the_next_fetch_and_older_days_stay() {
    let yahoo = yahoo();
    let credentials = link(&yahoo, "other").await;
    let account = account(&yahoo, &credentials, "1000000041").await;
    let range = last_days(30, 0);
    let before = fakes::comparable(yahoo.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows);
    control("restate", &[("account", "1000000041")]).await;
    let after = fakes::comparable(yahoo.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows);
    assert_eq!(after, oracle("1000000041", Level::Campaign, range).await);
    let settled = today() - time::Duration::days(8);
    let old = |rows: &[DailyRow]| rows.iter().filter(|r| r.date <= settled).cloned().collect::<Vec<_>>();
    assert_eq!(old(&before), old(&after));
    assert_ne!(before, after, "recent days changed");
}

#[tokio::test]
async fn a_revoked_grant_asks_for_relink_and_a_denied_account_is_fatal_for_itself_only() {
    let yahoo = yahoo();
    let credentials = link(&yahoo, "demo").await;
    let account = account(&yahoo, &credentials, "1000000021").await;
    control("revoke", &[("refresh_token", &credentials.refresh_token)]).await;
    let fetched = yahoo.fetch_daily(&credentials, &account, Level::Account, last_days(7, 1)).await.unwrap_err();
    assert_eq!(fetched.kind(), ErrorKind::Relink, "{fetched}");
    let refreshed = yahoo.refresh(&Credentials { expires_at: 0, ..credentials }).await.unwrap_err();
    assert_eq!(refreshed.kind(), ErrorKind::Relink);
    assert!(refreshed.to_string().contains("invalid_grant"), "{refreshed}");

    let other = link(&yahoo, "other").await;
    let (denied, fine) = (account_of(&yahoo, &other, "2000000051").await, account_of(&yahoo, &other, "1000000041").await);
    control("deny", &[("account", "2000000051")]).await;
    let refused = yahoo.fetch_daily(&other, &denied, Level::Account, last_days(7, 1)).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Fatal, "{refused}");
    assert!(refused.to_string().contains("0098"), "{refused}");
    assert!(yahoo.fetch_daily(&other, &fine, Level::Account, last_days(7, 1)).await.is_ok());
}

async fn account_of(yahoo: &Yahoo, credentials: &Credentials, id: &str) -> Account {
    account(yahoo, credentials, id).await
}

#[tokio::test]
async fn the_frequency_limit_is_retried_and_paced_with_nothing_lost() {
    let id = "1000000021";
    let range = last_days(60, 2);
    let pacer = Pacer::default();
    let once = yahoo_with(settings(), 1, pacer.clone());
    let credentials = link(&once, "demo").await;
    let account = account(&once, &credentials, id).await;
    control("throttle", &[("account", id), ("calls", "1")]).await;
    let throttled = once.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap_err();
    assert_eq!(throttled.kind(), ErrorKind::Retry, "{throttled}");
    assert!(throttled.to_string().contains("0003"), "{throttled}");
    let rows = once.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows;
    assert!(pacer.waited() > Duration::ZERO, "the next call to the account waited for the hold");
    assert_eq!(fakes::comparable(rows), oracle(id, Level::Campaign, range).await);

    let before = calls(&format!("throttled.{id}")).await;
    control("throttle", &[("account", id), ("calls", "3")]).await;
    let rows = yahoo().fetch_daily(&credentials, &account, Level::Ad, range).await.unwrap().rows;
    assert_eq!(fakes::comparable(rows), oracle(id, Level::Ad, range).await);
    assert_eq!(calls(&format!("throttled.{id}")).await - before, 3);
}

#[tokio::test]
async fn a_failed_job_asks_for_a_smaller_range_and_a_sunset_version_says_so() {
    let yahoo = yahoo();
    let credentials = link(&yahoo, "demo").await;
    let account = account(&yahoo, &credentials, "1000000012").await;
    control("fail_jobs", &[("account", "1000000012"), ("jobs", "1")]).await;
    let failed = yahoo.fetch_daily(&credentials, &account, Level::Campaign, last_days(20, 1)).await.unwrap_err();
    assert_eq!(failed.kind(), ErrorKind::Split, "{failed}");

    let old = yahoo_with(YahooSettings { api_version: "v9".into(), ..settings() }, 2, Pacer::default());
    let sunset = old.fetch_daily(&credentials, &account, Level::Campaign, last_days(5, 1)).await.unwrap_err();
    assert_eq!(sunset.kind(), ErrorKind::Fatal);
    assert!(sunset.to_string().contains("API version v9 is not served"), "{sunset}");
}
