//! Yahoo! JAPAN Ads (Search Ads API and Display Ads API) behind [`Platform`].
//!
//! * Login: OAuth 2.0 authorization code with a Business ID (scope
//!   `yahooads`) at `biz-oauth.yahoo.co.jp`; access tokens last about an
//!   hour, refresh tokens until revoked. PKCE is not documented for this
//!   flow, so none is sent; the signed single-use `state` and the client
//!   secret in the exchange protect it (as for Meta).
//! * Two APIs, one grant: Search and Display have their own base URL and
//!   their own accounts. An account's [`Account::kind`] (`search`,
//!   `display`) says which API it lives in.
//! * Every call is a JSON `POST <base>/<version>/<Service>/<operation>` with
//!   the bearer token and `x-z-base-account-id` (the account, or the MCC it
//!   is reached through), except `BaseAccountService/get`, which lists the
//!   base accounts themselves.
//! * Accounts: `BaseAccountService/get` → `AccountLinkService/get` (the
//!   accounts under an MCC) → `AccountService/get`, paged (≤ 200 a page).
//! * Rows: report jobs (`report`), errors (`dialect`).

mod dialect;
mod report;

use std::collections::BTreeMap;

use adhouse_core::settings::YahooSettings;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use self::dialect::{AUTH_FAILED, YahooDialect};
use crate::error::{Error, Result};
use crate::http::{Http, json};
use crate::model::{Account, Credentials, Daily, DateRange, Level, PlatformId};
use crate::oauth::TokenEndpoint;
use crate::platform::{Authorization, BoxFuture, Consent, Platform};

/// The Ads API scope of a Business ID grant.
pub const SCOPE: &str = "yahooads";
/// Yahoo! JAPAN accounts bill in yen and report days in Japan time
/// (AccountService returns neither a currency nor a time zone).
pub const CURRENCY: &str = "JPY";
pub const TIMEZONE: &str = "Asia/Tokyo";
/// Most entries one `get` page holds (`numberResults` ≤ 200).
const PAGE_SIZE: u32 = 200;
/// The range of one `fetch_daily`: six report jobs of 30 days, created in
/// one `add` (≤ 30 operands) and run side by side by Yahoo.
const WINDOW_DAYS: i64 = 180;
/// Report data is kept for about three years (unverified); 1,095 days
/// stays inside that.
const LOOKBACK_DAYS: i64 = 1_095;

/// Search Ads or Display Ads: which API an account lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Search,
    Display,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Self::Search, Self::Display];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Search => "search",
            Self::Display => "display",
        }
    }

    fn of(account: &Account) -> Result<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == account.kind).ok_or_else(|| Error::Decode {
            remote: PlatformId::Yahoo.into(),
            detail: format!("account {} has kind {:?}, not search or display", account.id, account.kind),
        })
    }
}

pub struct Yahoo {
    settings: YahooSettings,
    http: Http,
}

/// Every answer of the JSON API: `rval` on success.
#[derive(Deserialize)]
struct Answer<T> {
    rval: Option<T>,
}

/// A `get` page: `values` of `totalNumEntries` in all.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default)]
    total_num_entries: u64,
    #[serde(default = "Vec::new")]
    values: Vec<T>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    start_index: u32,
    number_results: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BaseAccountValue {
    base_account: AccountRef,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountLinkValue {
    account_link: AccountRef,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountRef {
    account_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountValue {
    account: AccountInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountInfo {
    account_id: u64,
    account_name: String,
    /// SERVING, or ENDED, SUSPENDED, INPROGRESS, WAIT_DECIDE …
    account_status: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkSelector {
    mcc_account_id: u64,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountSelector<'a> {
    account_ids: &'a [u64],
    #[serde(flatten)]
    paging: Paging,
}

/// One API call: which API, the `x-z-base-account-id` (none for
/// `BaseAccountService/get`), the account it counts against for pacing.
struct Call<'a> {
    kind: Kind,
    base_account: Option<&'a str>,
    path: &'a str,
}

impl Yahoo {
    pub fn new(settings: &YahooSettings, http: Http) -> Self {
        Self { settings: settings.clone(), http }
    }

    fn dialect(&self, account: Option<&str>) -> YahooDialect<'_> {
        YahooDialect { pacer: self.http.pacer(), pacing_key: account.map(pacing_key), api_version: &self.settings.api_version }
    }

    fn token_endpoint(&self) -> TokenEndpoint<'_> {
        TokenEndpoint {
            http: &self.http,
            url: &self.settings.token_url,
            client_id: &self.settings.client_id,
            client_secret: self.settings.client_secret.expose(),
        }
    }

    fn url(&self, kind: Kind, path: &str) -> String {
        let base = match kind {
            Kind::Search => &self.settings.search_api_url,
            Kind::Display => &self.settings.display_api_url,
        };
        format!("{}/{}/{path}", base.trim_end_matches('/'), self.settings.api_version)
    }

    /// One call, refreshing the access token once if Yahoo refuses it
    /// (0111 also answers an access token past its hour; a refused refresh
    /// then says whether the grant itself is gone).
    async fn call(&self, credentials: &Credentials, call: &Call<'_>, body: &(impl Serialize + Sync)) -> Result<Vec<u8>> {
        match self.send(&credentials.access_token, call, body).await {
            Err(Error::Platform { code, .. }) if code == AUTH_FAILED => {
                let fresh = self.token_endpoint().refresh(&self.dialect(None), credentials).await?;
                self.send(&fresh.access_token, call, body).await
            }
            outcome => outcome,
        }
    }

    async fn send(&self, access_token: &str, call: &Call<'_>, body: &(impl Serialize + Sync)) -> Result<Vec<u8>> {
        let url = self.url(call.kind, call.path);
        let keys: Vec<String> = call.base_account.map(pacing_key).into_iter().collect();
        let dialect = self.dialect(call.base_account);
        self.http
            .send(&dialect, &keys, || {
                let request = self.http.client().post(&url).bearer_auth(access_token).json(body);
                match call.base_account {
                    Some(base) => request.header("x-z-base-account-id", base),
                    None => request,
                }
            })
            .await
    }

    /// `rval` of a JSON answer.
    async fn rval<T: DeserializeOwned>(&self, credentials: &Credentials, call: &Call<'_>, body: &(impl Serialize + Sync)) -> Result<T> {
        let bytes = self.call(credentials, call, body).await?;
        let answer: Answer<T> = json(PlatformId::Yahoo, call.path, &bytes)?;
        answer.rval.ok_or_else(|| Error::Decode { remote: PlatformId::Yahoo.into(), detail: format!("{}: no rval", call.path) })
    }

    /// Every value of a paged `get`, `body(paging)` asking for each page.
    async fn pages<T: DeserializeOwned, B: Serialize + Sync>(&self, credentials: &Credentials, call: &Call<'_>, body: impl Fn(Paging) -> B) -> Result<Vec<T>> {
        let mut values = Vec::new();
        loop {
            let paging = Paging { start_index: values.len() as u32 + 1, number_results: PAGE_SIZE };
            let page: Page<T> = self.rval(credentials, call, &body(paging)).await?;
            let empty = page.values.is_empty();
            values.extend(page.values);
            if empty || values.len() as u64 >= page.total_num_entries {
                return Ok(values);
            }
        }
    }

    /// The ad accounts of one API: each base account's links (an MCC's
    /// accounts) and the base itself, as AccountService knows them.
    async fn discover_kind(&self, credentials: &Credentials, kind: Kind) -> Result<Vec<Account>> {
        let call = Call { kind, base_account: None, path: "BaseAccountService/get" };
        let bases: Vec<BaseAccountValue> = self.pages(credentials, &call, |paging| paging).await?;
        // Direct access wins over access through an MCC.
        let mut accounts: BTreeMap<u64, Account> = BTreeMap::new();
        for base in bases.into_iter().map(|b| b.base_account.account_id) {
            let base_text = base.to_string();
            let links = Call { kind, base_account: Some(&base_text), path: "AccountLinkService/get" };
            let linked: Vec<AccountLinkValue> =
                self.pages(credentials, &links, |paging| LinkSelector { mcc_account_id: base, paging }).await?;
            let mut ids: Vec<u64> = linked.into_iter().map(|l| l.account_link.account_id).collect();
            ids.push(base);
            let call = Call { kind, base_account: Some(&base_text), path: "AccountService/get" };
            for chunk in ids.chunks(PAGE_SIZE as usize) {
                let found: Vec<AccountValue> = self.pages(credentials, &call, |paging| AccountSelector { account_ids: chunk, paging }).await?;
                for info in found.into_iter().map(|v| v.account) {
                    let manager_id = if info.account_id == base { String::new() } else { base_text.clone() };
                    let account = Account {
                        id: info.account_id.to_string(),
                        kind: kind.as_str().to_owned(),
                        name: info.account_name,
                        currency: CURRENCY.to_owned(),
                        timezone: TIMEZONE.to_owned(),
                        manager_id,
                        active: info.account_status == "SERVING",
                    };
                    match accounts.get(&info.account_id) {
                        Some(known) if known.manager_id.is_empty() => {}
                        _ => {
                            accounts.insert(info.account_id, account);
                        }
                    }
                }
            }
        }
        Ok(accounts.into_values().collect())
    }
}

fn pacing_key(account: &str) -> String {
    format!("yahoo:{account}")
}

impl Platform for Yahoo {
    fn id(&self) -> PlatformId {
        PlatformId::Yahoo
    }

    fn authorize<'a>(&'a self, redirect_uri: &'a str, state: &'a str, _code_challenge: &'a str) -> BoxFuture<'a, Result<Authorization>> {
        let url = url::Url::parse_with_params(
            &self.settings.auth_url,
            [
                ("response_type", "code"),
                ("client_id", self.settings.client_id.as_str()),
                ("redirect_uri", redirect_uri),
                ("scope", SCOPE),
                ("state", state),
            ],
        )
        .expect("auth_url is a URL (settings are validated at start-up)");
        Box::pin(async move { Ok(Authorization { url: url.into(), temporary: None }) })
    }

    fn exchange_code<'a>(&'a self, consent: Consent<'a>) -> BoxFuture<'a, Result<Credentials>> {
        let fields = [("code", consent.code), ("redirect_uri", consent.redirect_uri)];
        Box::pin(async move { self.token_endpoint().exchange(&self.dialect(None), &fields).await })
    }

    fn refresh<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(async move { self.token_endpoint().refresh_if_due(&self.dialect(None), credentials).await })
    }

    /// Search accounts, then Display accounts: one account list per API.
    fn discover<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Vec<Account>>> {
        Box::pin(async move {
            let mut accounts = Vec::new();
            for kind in Kind::ALL {
                accounts.extend(self.discover_kind(credentials, kind).await?);
            }
            Ok(accounts)
        })
    }

    fn fetch_daily<'a>(&'a self, credentials: &'a Credentials, account: &'a Account, level: Level, range: DateRange) -> BoxFuture<'a, Result<Daily>> {
        Box::pin(async move { self.report(credentials, account, level, range).await.map(Daily::from) })
    }

    fn window_days(&self) -> i64 {
        WINDOW_DAYS
    }

    fn lookback_days(&self) -> i64 {
        LOOKBACK_DAYS
    }
}
