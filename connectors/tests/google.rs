//! The Google Ads connector against the fake of the local stack
//! (`make stack-up`; `ADHOUSE_DEV_PLATFORMS_URL` and the
//! `ADHOUSE__PLATFORMS__GOOGLE__*` settings come from `.dev/env`).
//!
//! Tests are independent: each links its own grant, and the controls it uses
//! are scoped to that grant or to a customer no other test here touches
//! (restatement: 4444444444 of user `other`; throttling: 3333333333; the
//! oracle comparisons: 1111111111 and 2222222222; cut streams: by grant).

use std::time::Duration;

use adhouse_connectors::fakes;
use adhouse_connectors::google::{Google, SCOPE};
use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::platform::Consent;
use adhouse_connectors::oauth::pkce_pair;
use adhouse_connectors::{Account, Credentials, DailyRow, DateRange, ErrorKind, Level, Platform};
use adhouse_core::settings::{GoogleSettings, Secret};
use time::{Date, OffsetDateTime};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback/google";

fn fake_url() -> String {
    std::env::var("ADHOUSE_DEV_PLATFORMS_URL").expect("ADHOUSE_DEV_PLATFORMS_URL: start the stack (`make stack-up`) and source .dev/env")
}

fn setting(name: &str) -> String {
    let key = format!("ADHOUSE__PLATFORMS__GOOGLE__{name}");
    std::env::var(&key).unwrap_or_else(|_| panic!("{key}: source .dev/env"))
}

fn settings() -> GoogleSettings {
    GoogleSettings {
        enabled: true,
        client_id: setting("CLIENT_ID"),
        client_secret: Secret::new(setting("CLIENT_SECRET")),
        developer_token: Secret::new(setting("DEVELOPER_TOKEN")),
        auth_url: setting("AUTH_URL"),
        token_url: setting("TOKEN_URL"),
        api_url: setting("API_URL"),
        restate_days: 14,
    }
}

fn google_with(http: Http) -> Google {
    Google::new(&settings(), http)
}

fn google() -> Google {
    google_with(Http::new(Duration::from_secs(30), 3, Pacer::default()).with_first_backoff(Duration::from_millis(10)))
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The consent page of `authorize`, "Allow" as `user`: the callback's code.
async fn consent(google: &Google, user: &str, challenge: &str) -> String {
    let url = url::Url::parse(&google.authorize(REDIRECT, "state-1", challenge).await.expect("a consent URL").url).unwrap();
    let page = browser().get(url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Allow"));
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let form = [
        ("user", user),
        ("client_id", query["client_id"].as_str()),
        ("redirect_uri", query["redirect_uri"].as_str()),
        ("state", query["state"].as_str()),
        ("code_challenge", query["code_challenge"].as_str()),
        ("scope", query["scope"].as_str()),
        ("access_type", query["access_type"].as_str()),
    ];
    let answer = browser().post(format!("{}/google/accounts/o/oauth2/v2/consent", fake_url())).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let callback = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(callback.as_str().starts_with(REDIRECT));
    let params: std::collections::HashMap<String, String> = callback.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "state-1");
    params["code"].clone()
}

async fn link(google: &Google, user: &str) -> Credentials {
    let (verifier, challenge) = pkce_pair();
    let code = consent(google, user, &challenge).await;
    google.exchange_code(Consent { redirect_uri: REDIRECT, code: &code, code_verifier: &verifier, temporary: None }).await.expect("the code exchanges")
}

async fn control(name: &str, params: &[(&str, &str)]) -> serde_json::Value {
    let answer = reqwest::Client::new().post(format!("{}/_fake/google/{name}", fake_url())).query(params).send().await.unwrap();
    assert!(answer.status().is_success(), "control {name}");
    answer.json().await.unwrap()
}

async fn calls() -> serde_json::Value {
    reqwest::get(format!("{}/_fake/google/calls", fake_url())).await.unwrap().json::<serde_json::Value>().await.unwrap()["calls"].clone()
}

fn count(calls: &serde_json::Value, kind: &str) -> u64 {
    calls.get(kind).and_then(|n| n.as_u64()).unwrap_or(0)
}

/// What the fake serves now, as unified rows.
async fn oracle(account: &str, level: Level, range: DateRange) -> Vec<DailyRow> {
    fakes::oracle(&fake_url(), adhouse_connectors::PlatformId::Google, account, level, range).await
}

fn sorted(mut rows: Vec<DailyRow>) -> Vec<DailyRow> {
    rows.sort_by(|a, b| (a.date, &a.entity_id).cmp(&(b.date, &b.entity_id)));
    rows
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// `days` days ending `ago` days before today.
fn last_days(days: i64, ago: i64) -> DateRange {
    let until = today() - time::Duration::days(ago);
    DateRange { since: until - time::Duration::days(days - 1), until }
}

async fn account(google: &Google, credentials: &Credentials, id: &str) -> Account {
    google.discover(credentials).await.unwrap().into_iter().find(|a| a.id == id).unwrap_or_else(|| panic!("{id} discovered"))
}

#[tokio::test]
async fn linking_with_pkce_gives_a_refresh_token_and_refuses_a_wrong_verifier() {
    let google = google();
    let (_, challenge) = pkce_pair();
    let url = url::Url::parse(&google.authorize(REDIRECT, "s", &challenge).await.expect("a consent URL").url).unwrap();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["access_type"], "offline");
    assert_eq!(query["prompt"], "consent");
    assert_eq!(query["scope"], SCOPE);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"], challenge);

    let credentials = link(&google, "demo").await;
    assert!(!credentials.access_token.is_empty() && !credentials.refresh_token.is_empty());
    assert!(credentials.expires_at > OffsetDateTime::now_utc().unix_timestamp() + 3000);

    let (_, challenge) = pkce_pair();
    let code = consent(&google, "demo", &challenge).await;
    let (other_verifier, _) = pkce_pair();
    let refused = google.exchange_code(Consent { redirect_uri: REDIRECT, code: &code, code_verifier: &other_verifier, temporary: None }).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Relink, "{refused}");
}

#[tokio::test]
async fn an_access_token_near_expiry_or_expired_by_google_is_refreshed() {
    let google = google();
    let credentials = link(&google, "demo").await;
    assert_eq!(google.refresh(&credentials).await.unwrap(), credentials, "an hour left: nothing to do");

    let near = Credentials { expires_at: OffsetDateTime::now_utc().unix_timestamp() + 60, ..credentials.clone() };
    let refreshed = google.refresh(&near).await.unwrap();
    assert_ne!(refreshed.access_token, credentials.access_token);
    assert_eq!(refreshed.refresh_token, credentials.refresh_token);
    assert!(refreshed.expires_at > near.expires_at + 3000);

    // Google cuts the tokens short: the connector refreshes on OAUTH_TOKEN_EXPIRED and goes on.
    let expired = control("expire", &[("refresh_token", &credentials.refresh_token)]).await;
    assert_eq!(expired["expired"], 2);
    let accounts = google.discover(&refreshed).await.expect("refreshed on OAUTH_TOKEN_EXPIRED");
    assert_eq!(accounts.len(), 3);
}

#[tokio::test]
async fn discovery_reaches_the_clients_of_the_manager_with_its_login_customer_id() {
    let google = google();
    let demo = google.discover(&link(&google, "demo").await).await.unwrap();
    let found: Vec<_> =
        demo.iter().map(|a| (a.id.as_str(), a.currency.as_str(), a.timezone.as_str(), a.manager_id.as_str(), a.active)).collect();
    assert_eq!(
        found,
        [
            ("1111111111", "USD", "America/New_York", "9000000001", true),
            ("2222222222", "JPY", "Asia/Tokyo", "9000000001", true),
            ("3333333333", "EUR", "Europe/Paris", "", true),
        ],
        "the manager itself and its closed client are left out"
    );
    assert_eq!(demo[1].name, "デモショップ東京");
    let other = google.discover(&link(&google, "other").await).await.unwrap();
    assert_eq!(other.iter().map(|a| (a.id.as_str(), a.currency.as_str())).collect::<Vec<_>>(), [("4444444444", "GBP")]);
}

#[tokio::test]
async fn every_level_over_90_days_equals_the_oracle_for_a_usd_and_the_jpy_account() {
    let google = google();
    let credentials = link(&google, "demo").await;
    let range = last_days(90, 3);
    for id in ["1111111111", "2222222222"] {
        // Small batches, so that reading every batch of the stream matters.
        control("batch", &[("customer", id), ("rows", "250")]).await;
        let account = account(&google, &credentials, id).await;
        for level in Level::ALL {
            let rows = google.fetch_daily(&credentials, &account, level, range).await.unwrap().rows;
            let expected = oracle(id, level, range).await;
            assert!(expected.len() > 250 || level != Level::Ad, "{id} {level:?}: {} rows span several batches", expected.len());
            assert_eq!(sorted(rows), sorted(expected), "{id} at {level:?}");
        }
    }
}

#[tokio::test]
async fn a_restatement_is_seen_on_the_next_fetch_and_older_days_stay() {
    let google = google();
    let credentials = link(&google, "other").await;
    let account = account(&google, &credentials, "4444444444").await;
    let range = last_days(40, 0);
    let before = sorted(google.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows);
    control("restate", &[("customer", "4444444444")]).await;
    let after = sorted(google.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows);
    assert_eq!(after, sorted(oracle("4444444444", Level::Campaign, range).await));
    let settled = today() - time::Duration::days(15);
    let old = |rows: &[DailyRow]| rows.iter().filter(|r| r.date <= settled).cloned().collect::<Vec<_>>();
    assert_eq!(old(&before), old(&after));
    assert_ne!(before, after, "recent days changed");
}

#[tokio::test]
async fn a_revoked_grant_asks_for_relink() {
    let google = google();
    let credentials = link(&google, "demo").await;
    let account = account(&google, &credentials, "3333333333").await;
    control("revoke", &[("refresh_token", &credentials.refresh_token)]).await;

    let fetched = google.fetch_daily(&credentials, &account, Level::Account, last_days(7, 1)).await.unwrap_err();
    assert_eq!(fetched.kind(), ErrorKind::Relink, "{fetched}");
    assert!(fetched.to_string().contains("authenticationError.OAUTH_TOKEN_REVOKED"), "{fetched}");
    let expiring = Credentials { expires_at: 0, ..credentials };
    let refreshed = google.refresh(&expiring).await.unwrap_err();
    assert_eq!(refreshed.kind(), ErrorKind::Relink);
    assert!(refreshed.to_string().contains("invalid_grant"), "{refreshed}");
}

#[tokio::test]
async fn throttling_is_retried_after_googles_delay_and_paced_with_nothing_lost() {
    let customer = "3333333333";
    let range = last_days(30, 2);

    // One attempt only: the quota error comes back typed, and the customer is held.
    let pacer = Pacer::default();
    let once = google_with(Http::new(Duration::from_secs(30), 1, pacer.clone()));
    let credentials = link(&once, "demo").await;
    let account = account(&once, &credentials, customer).await;
    control("throttle", &[("customer", customer), ("calls", "1"), ("retry_delay_secs", "2")]).await;
    let throttled = once.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap_err();
    assert_eq!(throttled.kind(), ErrorKind::Retry);
    assert_eq!(throttled.retry_after(), Some(Duration::from_secs(2)));
    assert!(throttled.to_string().contains("quotaError.RESOURCE_EXHAUSTED"), "{throttled}");
    let rows = once.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows;
    assert!(pacer.waited() > Duration::ZERO, "the next call to the customer waited for the hold");
    assert_eq!(sorted(rows), sorted(oracle(customer, Level::Campaign, range).await));

    // With retries: two throttled answers, then every row.
    let retrying = google();
    let before = calls().await;
    control("throttle", &[("customer", customer), ("calls", "2"), ("retry_delay_secs", "1")]).await;
    let rows = retrying.fetch_daily(&credentials, &account, Level::Ad, range).await.unwrap().rows;
    assert_eq!(sorted(rows), sorted(oracle(customer, Level::Ad, range).await));
    let after = calls().await;
    let key = format!("searchStream.{customer}");
    assert_eq!(count(&after, &format!("throttled.{customer}")) - count(&before, &format!("throttled.{customer}")), 2);
    assert_eq!(count(&after, &key) - count(&before, &key), 3, "two throttled calls and one answered");
}

#[tokio::test]
async fn a_stream_ending_in_an_error_after_http_200_is_that_error_and_is_retried_never_a_short_answer() {
    let range = last_days(30, 2);
    let once = google_with(Http::new(Duration::from_secs(30), 1, Pacer::default()));
    let credentials = link(&once, "demo").await;
    let account = account(&once, &credentials, "3333333333").await;
    let cut = [("refresh_token", credentials.refresh_token.as_str()), ("calls", "1"), ("rows", "1")];

    // One row, then TRANSIENT_ERROR: the error, typed as it would be as an HTTP 500.
    control("cut", &cut).await;
    let failed = once.fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap_err();
    assert_eq!(failed.kind(), ErrorKind::Retry, "{failed}");
    assert!(failed.to_string().contains("internalError.TRANSIENT_ERROR"), "{failed}");

    // With retries: the cut call again, then every row.
    control("cut", &cut).await;
    let before = calls().await;
    let rows = google().fetch_daily(&credentials, &account, Level::Campaign, range).await.unwrap().rows;
    assert_eq!(sorted(rows), sorted(oracle("3333333333", Level::Campaign, range).await));
    let after = calls().await;
    assert_eq!(count(&after, "cut.3333333333") - count(&before, "cut.3333333333"), 1);
}
