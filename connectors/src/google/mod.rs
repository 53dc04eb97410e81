//! Google Ads: OAuth 2.0 with PKCE and offline access (a refresh token),
//! discovery through `customers:listAccessibleCustomers` and the
//! `customer_client` hierarchy, and daily reports through
//! `googleAds:searchStream` (GAQL).
//!
//! Access tokens live about an hour. [`Platform::refresh`] renews one that
//! expires within [`crate::oauth::REFRESH_MARGIN_SECS`]; when Google still refuses an access
//! token as expired (`OAUTH_TOKEN_EXPIRED`: a clock apart, a token cut short),
//! `discover` and `fetch_daily` refresh it themselves and send the request
//! once more. That fresh token is used for the call only; the caller's
//! credentials are unchanged (Google keeps the refresh token), so the worst
//! case is one more token call next time, never a failed sync.

mod dialect;
mod report;

use std::collections::BTreeMap;

use adhouse_core::settings::GoogleSettings;
use serde::{Deserialize, Serialize};

use self::dialect::{GoogleDialect, TOKEN_EXPIRED, TOKEN_INVALID};
use self::report::{Batch, CUSTOMER_CLIENTS, ClientRow, ReportRow, daily_query};
use crate::error::{Error, Result};
use crate::http::{Http, json};
use crate::oauth::TokenEndpoint;
use crate::model::{Account, Credentials, Daily, DailyRow, DateRange, Level, PlatformId};
use crate::platform::{Authorization, BoxFuture, Consent, Platform};

/// The Google Ads API scope.
pub const SCOPE: &str = "https://www.googleapis.com/auth/adwords";
/// One `searchStream` per 90 days. Google takes any range of the last 37
/// months in one stream, but the shared HTTP layer holds a whole answer in
/// memory: 90 days of a large account at ad level stay in the tens of MB,
/// and a 37-month backfill is 13 calls.
pub const WINDOW_DAYS: i64 = 90;
/// Daily segments exist for the last 37 months (DateRangeError
/// `REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED` beyond); 37 months are at least
/// 1,123 days, and a little less keeps the oldest window clear of the edge.
pub const LOOKBACK_DAYS: i64 = 1_120;

/// The oldest API version whose fields the report query names
/// (`metrics.video_trueview_views`, new in v22); start-up refuses older ones.
pub(crate) const FIRST_API_VERSION: u32 = 22;

/// The version `api_url` ends in: `https://googleads.googleapis.com/v26` → 26.
pub(crate) fn api_version(api_url: &str) -> Option<u32> {
    api_url.trim_end_matches('/').rsplit('/').next()?.strip_prefix('v')?.parse().ok()
}

pub struct Google {
    settings: GoogleSettings,
    http: Http,
}

impl Google {
    pub fn new(settings: &GoogleSettings, http: Http) -> Self {
        Self { settings: settings.clone(), http }
    }

    fn dialect(&self, customer: Option<&str>) -> GoogleDialect<'_> {
        GoogleDialect { pacer: self.http.pacer(), pacing_key: customer.map(pacing_key) }
    }

    fn token_endpoint(&self) -> TokenEndpoint<'_> {
        TokenEndpoint {
            http: &self.http,
            url: &self.settings.token_url,
            client_id: &self.settings.client_id,
            client_secret: self.settings.client_secret.expose(),
        }
    }

    /// One API call as `customer` (`login_customer_id` when reached through a
    /// manager), refreshing the access token once if Google says it expired.
    async fn call(&self, credentials: &Credentials, call: ApiCall<'_>) -> Result<Vec<u8>> {
        match self.send(&credentials.access_token, &call).await {
            Err(Error::Platform { code, .. }) if code == TOKEN_EXPIRED || code == TOKEN_INVALID => {
                let fresh = self.token_endpoint().refresh(&self.dialect(None), credentials).await?;
                self.send(&fresh.access_token, &call).await
            }
            outcome => outcome,
        }
    }

    async fn send(&self, access_token: &str, call: &ApiCall<'_>) -> Result<Vec<u8>> {
        let url = format!("{}/{}", self.settings.api_url.trim_end_matches('/'), call.path);
        let keys: Vec<String> = call.customer.map(pacing_key).into_iter().collect();
        let dialect = self.dialect(call.customer);
        self.http
            .send(&dialect, &keys, || {
                let mut request = match call.query {
                    Some(query) => self.http.client().post(&url).json(&SearchRequest { query }),
                    None => self.http.client().get(&url),
                };
                request = request.bearer_auth(access_token);
                let developer_token = self.settings.developer_token.expose();
                if !developer_token.is_empty() {
                    request = request.header("developer-token", developer_token);
                }
                if let Some(login) = call.login_customer_id {
                    request = request.header("login-customer-id", login);
                }
                request
            })
            .await
    }

    /// Every row of a GAQL query, all batches read.
    async fn search_stream<T: serde::de::DeserializeOwned>(
        &self,
        credentials: &Credentials,
        customer: &str,
        login_customer_id: &str,
        query: &str,
    ) -> Result<Vec<T>> {
        let path = format!("customers/{customer}/googleAds:searchStream");
        let call = ApiCall { path: &path, customer: Some(customer), login_customer_id: Some(login_customer_id), query: Some(query) };
        let body = self.call(credentials, call).await?;
        let batches: Vec<Batch<T>> = json(PlatformId::Google, "searchStream batches", &body)?;
        Ok(batches.into_iter().flat_map(|batch| batch.results).collect())
    }

    async fn accessible_customers(&self, credentials: &Credentials) -> Result<Vec<String>> {
        let call = ApiCall { path: "customers:listAccessibleCustomers", customer: None, login_customer_id: None, query: None };
        let body = self.call(credentials, call).await?;
        let answer: AccessibleCustomers = json(PlatformId::Google, "listAccessibleCustomers", &body)?;
        answer.resource_names.iter().map(|name| customer_id(name)).collect()
    }

    async fn discover_all(&self, credentials: &Credentials) -> Result<Vec<Account>> {
        // Direct access wins over access through a manager: no login-customer-id to keep.
        let mut accounts: BTreeMap<String, Account> = BTreeMap::new();
        for root in self.accessible_customers(credentials).await? {
            let rows: Vec<ClientRow> = match self.search_stream(credentials, &root, &root, CUSTOMER_CLIENTS).await {
                Err(err) if is_not_enabled(&err) => continue,
                outcome => outcome?,
            };
            for client in rows.into_iter().map(|row| row.customer_client) {
                if client.manager || client.status != "ENABLED" {
                    continue;
                }
                let manager_id = if client.id == root { String::new() } else { root.clone() };
                let account = Account {
                    id: client.id,
                    kind: String::new(),
                    name: client.descriptive_name,
                    currency: client.currency_code,
                    timezone: client.time_zone,
                    manager_id,
                    active: true,
                };
                match accounts.get(&account.id) {
                    Some(known) if known.manager_id.is_empty() => {}
                    _ => {
                        accounts.insert(account.id.clone(), account);
                    }
                }
            }
        }
        Ok(accounts.into_values().collect())
    }

    async fn fetch_all(&self, credentials: &Credentials, account: &Account, level: Level, range: DateRange) -> Result<Vec<DailyRow>> {
        let login = if account.manager_id.is_empty() { &account.id } else { &account.manager_id };
        let mut rows = Vec::new();
        for window in range.windows(WINDOW_DAYS) {
            let found: Vec<ReportRow> = self.search_stream(credentials, &account.id, login, &daily_query(level, window)).await?;
            for row in found {
                rows.push(row.into_daily(level)?);
            }
        }
        Ok(rows)
    }
}

/// What one API call is: a path below the versioned base, the customer it
/// is about (the pacing key), and a GAQL query for `searchStream`.
struct ApiCall<'a> {
    path: &'a str,
    customer: Option<&'a str>,
    login_customer_id: Option<&'a str>,
    query: Option<&'a str>,
}

#[derive(Serialize)]
struct SearchRequest<'a> {
    query: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessibleCustomers {
    #[serde(default)]
    resource_names: Vec<String>,
}

fn pacing_key(customer: &str) -> String {
    format!("google:{customer}")
}

/// `customers/1234567890` → `1234567890`, digits only.
fn customer_id(resource_name: &str) -> Result<String> {
    let id = resource_name.strip_prefix("customers/").unwrap_or(resource_name);
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Decode { remote: PlatformId::Google.into(), detail: format!("customer resource name {resource_name:?}") });
    }
    Ok(id.to_owned())
}

fn is_not_enabled(err: &Error) -> bool {
    matches!(err, Error::Platform { code, .. } if code == "authorizationError.CUSTOMER_NOT_ENABLED")
}

impl Platform for Google {
    fn id(&self) -> PlatformId {
        PlatformId::Google
    }

    fn authorize<'a>(&'a self, redirect_uri: &'a str, state: &'a str, code_challenge: &'a str) -> BoxFuture<'a, Result<Authorization>> {
        let url = url::Url::parse_with_params(
            &self.settings.auth_url,
            [
                ("client_id", self.settings.client_id.as_str()),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("scope", SCOPE),
                // A refresh token, and again on every consent (not only the first).
                ("access_type", "offline"),
                ("prompt", "consent"),
                ("state", state),
                ("code_challenge", code_challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .expect("auth_url is a URL (settings are validated at start-up)");
        Box::pin(async move { Ok(Authorization { url: url.into(), temporary: None }) })
    }

    fn exchange_code<'a>(&'a self, consent: Consent<'a>) -> BoxFuture<'a, Result<Credentials>> {
        let fields = [("code", consent.code), ("redirect_uri", consent.redirect_uri), ("code_verifier", consent.code_verifier)];
        Box::pin(async move { self.token_endpoint().exchange(&self.dialect(None), &fields).await })
    }

    fn refresh<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(async move { self.token_endpoint().refresh_if_due(&self.dialect(None), credentials).await })
    }

    fn discover<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Vec<Account>>> {
        Box::pin(self.discover_all(credentials))
    }

    fn fetch_daily<'a>(
        &'a self,
        credentials: &'a Credentials,
        account: &'a Account,
        level: Level,
        range: DateRange,
    ) -> BoxFuture<'a, Result<Daily>> {
        Box::pin(async move { self.fetch_all(credentials, account, level, range).await.map(Daily::from) })
    }

    fn window_days(&self) -> i64 {
        WINDOW_DAYS
    }

    fn lookback_days(&self) -> i64 {
        LOOKBACK_DAYS
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn a_range_is_cut_into_windows_that_cover_it_once() {
        let range = DateRange { since: date!(2026 - 01 - 01), until: date!(2026 - 12 - 31) };
        let cut = range.windows(90);
        assert_eq!(cut.len(), 5);
        assert_eq!(cut.iter().map(|w| w.days()).sum::<i64>(), 365);
        assert!(cut.windows(2).all(|p| p[0].until.next_day() == Some(p[1].since)));
        assert_eq!((cut[0].since, cut[4].until), (range.since, range.until));
    }

    #[test]
    fn the_api_version_is_the_last_segment_of_api_url() {
        assert_eq!(api_version("https://googleads.googleapis.com/v26"), Some(26));
        assert_eq!(api_version("http://127.0.0.1:14580/google/ads/v22/"), Some(22));
        assert_eq!(api_version("https://googleads.googleapis.com"), None);
    }

    #[test]
    fn customer_ids_are_digits_only() {
        assert_eq!(customer_id("customers/1234567890").unwrap(), "1234567890");
        assert!(customer_id("customers/123-456-7890").is_err());
    }
}
