//! X (Twitter) Ads, Ads API v12, behind [`Platform`].
//!
//! * Login: OAuth 1.0a (developer.x.com, "Obtaining user access tokens"):
//!   `POST /oauth/request_token` with `oauth_callback` → the user at
//!   `GET /oauth/authorize?oauth_token=` → back to the callback with
//!   `oauth_token` and `oauth_verifier` → `POST /oauth/access_token`. X
//!   sends nothing like OAuth 2.0's `state`, so the state rides in the
//!   callback URL's own query, which X keeps. The request token's secret is
//!   [`Authorization::temporary`]. Every request is signed (`oauth1`).
//! * Tokens never expire; a revoked one answers 401 → relink. Nothing to
//!   refresh. A 401 is also this host's clock off X's (`clock`) or the
//!   app's consumer key or secret wrong in our settings: not the grant's
//!   fault (`dialect`, `X::call`).
//! * Accounts: `GET /12/accounts` (cursor pages) with `timezone`; the
//!   currency is that of the account's funding instruments. Money is micros
//!   in every currency (`billed_charge_local_micro`).
//! * Rows: `stats` (synchronous stats for short windows, async jobs for
//!   backfills); errors and limits: `dialect`.

mod clock;
mod dialect;
mod stats;

use std::collections::HashMap;

use adhouse_core::settings::XSettings;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use self::clock::Clock;
use self::dialect::XDialect;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Http, json};
use crate::model::{Account, Credentials, Daily, DateRange, Level, PlatformId};
use crate::oauth1::{Consumer, Signed, Token};
use crate::platform::{Authorization, BoxFuture, Consent, Platform};

/// One async job spans at most 90 days (45 when segmented; adhouse asks for
/// no segments), as does one active-entities call: a backfill window is one
/// job per batch of entities and placement.
const WINDOW_DAYS: i64 = 90;
/// How far back X serves analytics (unverified; the Ads API documents no
/// limit for DAY granularity beyond the account's life). Three years covers
/// the default 365-day backfill with room.
const LOOKBACK_DAYS: i64 = 1_095;
/// Most accounts one `GET /accounts` page holds (`count` ≤ 1000).
const PAGE_SIZE: &str = "1000";

pub struct X {
    settings: XSettings,
    http: Http,
    clock: Clock,
}

/// A cursor page of the Ads API.
#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct AdAccount {
    id: String,
    name: String,
    /// IANA name. (`timezone_switch_at` says when it last changed: X reports
    /// every day in the current zone's offset, so adhouse reads it as such.)
    timezone: String,
    /// ACCEPTED, or UNDER_REVIEW, REJECTED …
    approval_status: String,
    #[serde(default)]
    deleted: bool,
}

#[derive(Deserialize)]
struct FundingInstrument {
    currency: String,
    #[serde(default)]
    deleted: bool,
}

/// A form-encoded answer of the OAuth endpoints, by field.
struct FormAnswer(HashMap<String, String>);

impl FormAnswer {
    fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    fn field(&self, name: &str) -> Result<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned().ok_or_else(|| Error::Decode { remote: PlatformId::X.into(), detail: format!("OAuth answer without {name}") })
    }
}

/// One signed Ads API call: method, path below the version, query, and the
/// pacing keys it counts against.
struct Call<'a> {
    post: bool,
    path: String,
    query: Vec<(&'static str, String)>,
    account: Option<&'a str>,
}

impl X {
    pub fn new(settings: &XSettings, http: Http) -> Self {
        Self { settings: settings.clone(), http, clock: Clock::default() }
    }

    fn consumer(&self) -> Consumer<'_> {
        Consumer { key: &self.settings.consumer_key, secret: self.settings.consumer_secret.expose() }
    }

    fn dialect(&self, family: &str, account: Option<&str>) -> XDialect<'_> {
        XDialect {
            app_key: format!("x:{family}"),
            account_key: account.map(|a| format!("x:account:{a}")),
            jobs_key: account.map(jobs_key),
            api_version: &self.settings.api_version,
            clock: &self.clock,
        }
    }

    /// Sends the request `build` signs at a timestamp; once more when the
    /// refusal's `Date` moved the clock (another task's correction may
    /// bring one needless attempt).
    async fn send(&self, dialect: &XDialect<'_>, keys: &[String], build: impl Fn(i64) -> reqwest::RequestBuilder) -> Result<Vec<u8>> {
        let offset = self.clock.offset_secs();
        match self.http.send(dialect, keys, || build(self.clock.now())).await {
            Err(err) if self.clock.offset_secs() != offset => {
                tracing::warn!(offset_secs = self.clock.offset_secs(), "this host's clock is off X's: signing with X's time from now on; fix the clock (NTP): {err}");
                self.http.send(dialect, keys, || build(self.clock.now())).await
            }
            outcome => outcome,
        }
    }

    /// The Ads API answers every failed authentication alike (401
    /// UNAUTHORIZED_ACCESS), a revoked grant as a consumer key or secret X
    /// does not know, which no relink mends. The OAuth endpoint, signed
    /// with the app's key alone (a request token for the PIN flow, never
    /// used), tells them apart: its refusal (32) names the settings; its
    /// success leaves the grant to blame.
    async fn blame(&self, refused: Error) -> Error {
        match self.oauth_post("request_token", None, &[("oauth_callback", "oob")]).await {
            Ok(_) => refused,
            Err(app) => app,
        }
    }

    /// A signed form POST to an OAuth endpoint; its form-encoded answer.
    async fn oauth_post(&self, path: &str, token: Option<Token<'_>>, extra: &[(&str, &str)]) -> Result<FormAnswer> {
        let url = url::Url::parse(&format!("{}/oauth/{path}", self.settings.auth_url.trim_end_matches('/'))).expect("auth_url is a URL (validated settings)");
        let dialect = self.dialect("oauth", None);
        let body = self
            .send(&dialect, &[], |timestamp| {
                let signed = Signed { method: "POST", url: &url, form: &[], extra };
                self.http.client().post(url.clone()).header("Authorization", self.consumer().authorization(&signed, token, timestamp))
            })
            .await?;
        Ok(FormAnswer::parse(&body))
    }

    /// One Ads API call signed with the user's token; the parsed answer.
    async fn call<T: DeserializeOwned>(&self, credentials: &Credentials, call: &Call<'_>) -> Result<T> {
        let base = format!("{}/{}/{}", self.settings.api_url.trim_end_matches('/'), self.settings.api_version, call.path);
        let url = url::Url::parse_with_params(&base, &call.query).expect("api_url is a URL (validated settings)");
        let family = call.path.split('/').next().unwrap_or_default();
        let family = if call.path.starts_with("stats/jobs") { "stats/jobs" } else { family };
        let dialect = self.dialect(family, call.account);
        let mut keys = vec![dialect.app_key.clone()];
        keys.extend(dialect.account_key.clone());
        if call.post {
            keys.extend(dialect.jobs_key.clone());
        }
        let token = Token { token: &credentials.access_token, secret: &credentials.token_secret };
        let method = if call.post { "POST" } else { "GET" };
        let sent = self
            .send(&dialect, &keys, |timestamp| {
                let signed = Signed { method, url: &url, form: &[], extra: &[] };
                let request = if call.post { self.http.client().post(url.clone()) } else { self.http.client().get(url.clone()) };
                request.header("Authorization", self.consumer().authorization(&signed, Some(token), timestamp))
            })
            .await;
        let body = match sent {
            Err(err) if err.kind() == ErrorKind::Relink => return Err(self.blame(err).await),
            sent => sent?,
        };
        json(PlatformId::X, &call.path, &body)
    }

    /// Every item of a cursor-paged listing.
    async fn all<T: DeserializeOwned>(&self, credentials: &Credentials, path: String, query: Vec<(&'static str, String)>, account: Option<&str>) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = query.clone();
            query.push(("count", PAGE_SIZE.to_owned()));
            query.extend(cursor.take().map(|c| ("cursor", c)));
            let page: Page<T> = self.call(credentials, &Call { post: false, path: path.clone(), query, account }).await?;
            items.extend(page.data);
            match page.next_cursor {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => return Ok(items),
            }
        }
    }

    async fn discover_all(&self, credentials: &Credentials) -> Result<Vec<Account>> {
        let accounts: Vec<AdAccount> = self.all(credentials, "accounts".into(), vec![("with_deleted", "false".into())], None).await?;
        let mut out = Vec::with_capacity(accounts.len());
        for account in accounts {
            let path = format!("accounts/{}/funding_instruments", account.id);
            let instruments: Vec<FundingInstrument> = self.all(credentials, path, Vec::new(), Some(&account.id)).await?;
            // An account without a funding instrument cannot spend; its
            // currency is unknown until it has one.
            let Some(currency) = instruments.into_iter().find(|f| !f.deleted).map(|f| f.currency) else {
                tracing::info!(account = %account.id, "X account without a funding instrument: left out");
                continue;
            };
            out.push(Account {
                active: account.approval_status == "ACCEPTED" && !account.deleted,
                id: account.id,
                kind: String::new(),
                name: account.name,
                currency,
                timezone: account.timezone,
                manager_id: String::new(),
            });
        }
        Ok(out)
    }
}

fn jobs_key(account: &str) -> String {
    format!("x:jobs:{account}")
}

impl Platform for X {
    fn id(&self) -> PlatformId {
        PlatformId::X
    }

    /// A request token for a callback that carries `state`, then X's
    /// consent page for it.
    fn authorize<'a>(&'a self, redirect_uri: &'a str, state: &'a str, _code_challenge: &'a str) -> BoxFuture<'a, Result<Authorization>> {
        Box::pin(async move {
            let callback = url::Url::parse_with_params(redirect_uri, [("state", state)]).expect("the redirect URI is a URL");
            let answer = self.oauth_post("request_token", None, &[("oauth_callback", callback.as_str())]).await?;
            if answer.0.get("oauth_callback_confirmed").map(String::as_str) != Some("true") {
                return Err(Error::Decode { remote: PlatformId::X.into(), detail: "request token without oauth_callback_confirmed=true".into() });
            }
            let token = answer.field("oauth_token")?;
            let temporary = Credentials { token_secret: answer.field("oauth_token_secret")?, ..Credentials::bearer(token.clone(), String::new(), 0) };
            let base = format!("{}/oauth/authorize", self.settings.auth_url.trim_end_matches('/'));
            let url = url::Url::parse_with_params(&base, [("oauth_token", token.as_str())]).expect("auth_url is a URL (validated settings)");
            Ok(Authorization { url: url.into(), temporary: Some(temporary) })
        })
    }

    /// The verifier and the request token for the access token and its secret.
    fn exchange_code<'a>(&'a self, consent: Consent<'a>) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(async move {
            let temporary = consent.temporary.ok_or_else(|| Error::Decode { remote: PlatformId::X.into(), detail: "no request token kept for the flow".into() })?;
            let token = Token { token: &temporary.access_token, secret: &temporary.token_secret };
            let answer = self.oauth_post("access_token", Some(token), &[("oauth_verifier", consent.code)]).await?;
            Ok(Credentials { token_secret: answer.field("oauth_token_secret")?, ..Credentials::bearer(answer.field("oauth_token")?, String::new(), 0) })
        })
    }

    fn discover<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Vec<Account>>> {
        Box::pin(self.discover_all(credentials))
    }

    fn fetch_daily<'a>(&'a self, credentials: &'a Credentials, account: &'a Account, level: Level, range: DateRange) -> BoxFuture<'a, Result<Daily>> {
        Box::pin(async move { self.stats(credentials, account, level, range).await.map(Daily::from) })
    }

    fn window_days(&self) -> i64 {
        WINDOW_DAYS
    }

    fn lookback_days(&self) -> i64 {
        LOOKBACK_DAYS
    }
}
