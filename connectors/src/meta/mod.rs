//! Meta's Marketing API (Graph API) behind [`Platform`].
//!
//! * Login: Facebook Login's manual flow, the code exchanged for a token
//!   and that one for a long-lived token (~60 days). Meta has no refresh
//!   token: when a long-lived token nears its end the user must log in again.
//! * Accounts: `GET /me/adaccounts`.
//! * Rows: one asynchronous report run per call (`report_run`), parsed in
//!   `insights`.
//! * Errors and pacing: `dialect`.
//!
//! Tokens travel in the `Authorization` header, never in a URL, so that no
//! logged URL carries one.

mod dialect;
mod insights;
mod report_run;

use adhouse_core::settings::{MetaSettings, Secret};
use reqwest::RequestBuilder;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::http::{Http, json};
use crate::model::{Account, Credentials, DailyRow, DateRange, Level, PlatformId};
use crate::platform::{Authorization, BoxFuture, Consent, Platform};
use dialect::{APP_KEY, MetaDialect, account_key};

/// What adhouse asks for: reading ads reports, and the business-owned accounts.
pub const SCOPES: &str = "ads_read,business_management";
/// Rows per page: Meta accepts large pages for insights, and fewer pages are
/// fewer calls against the usage budgets.
const PAGE_LIMIT: &str = "500";
/// Meta keeps daily insights for 37 months; 1,123 days is the shortest
/// 37 months can be, so a range starting that far back is always accepted.
const LOOKBACK_DAYS: i64 = 1123;
/// The range of one report run. Meta documents no limit; 90 days of ads of a
/// busy account stay well within what a run delivers, and a caller halves
/// the range when a run fails (`Split`).
const WINDOW_DAYS: i64 = 90;

pub struct Meta {
    http: Http,
    graph_url: String,
    dialog_url: String,
    client_id: String,
    client_secret: Secret,
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    cursors: Option<Cursors>,
    /// Present only when another page follows.
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    after: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    /// Seconds; Meta leaves it out for tokens that do not expire.
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct AdAccountRow {
    account_id: String,
    name: String,
    currency: String,
    timezone_name: String,
    /// 1 is ACTIVE; the others are disabled, unsettled, in review or closed.
    account_status: i64,
}

impl Meta {
    pub fn new(settings: &MetaSettings, http: Http) -> Self {
        Self {
            http,
            graph_url: settings.graph_url.trim_end_matches('/').to_owned(),
            dialog_url: settings.dialog_url.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.graph_url)
    }

    /// The pacing keys of a call about `account` (or about none).
    fn keys(account: Option<&str>) -> Vec<String> {
        let mut keys = vec![APP_KEY.to_owned()];
        keys.extend(account.map(account_key));
        keys
    }

    /// One Graph call about `account` (or about none), its body parsed as `what`.
    async fn call<T: DeserializeOwned>(&self, account: Option<&str>, what: &str, build: impl Fn() -> RequestBuilder) -> Result<T> {
        let body = self.http.send(&MetaDialect { account }, &Self::keys(account), build).await?;
        json(PlatformId::Meta, what, &body)
    }

    /// `GET path?params` with the token in the header.
    async fn get<T: DeserializeOwned>(&self, account: Option<&str>, path: &str, token: &str, params: &[(&str, String)], what: &str) -> Result<T> {
        let url = self.url(path);
        self.call(account, what, || self.http.client().get(&url).bearer_auth(token).query(params)).await
    }

    /// `POST path` with `params` as a form, the token in the header.
    async fn post<T: DeserializeOwned>(&self, account: Option<&str>, path: &str, token: &str, params: &[(&str, String)], what: &str) -> Result<T> {
        let url = self.url(path);
        self.call(account, what, || self.http.client().post(&url).bearer_auth(token).form(params)).await
    }

    /// Every page of a cursor-paged edge, followed by its `after` cursor
    /// (not the `next` URL, which carries the token and the production host).
    async fn pages<T: DeserializeOwned>(&self, account: Option<&str>, path: &str, token: &str, params: &[(&str, String)], what: &str) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = params.to_vec();
            query.push(("limit", PAGE_LIMIT.to_owned()));
            query.extend(after.take().map(|cursor| ("after", cursor)));
            let page: Page<T> = self.get(account, path, token, &query, what).await?;
            items.extend(page.data);
            match page.paging {
                Some(Paging { next: Some(_), cursors: Some(Cursors { after: Some(cursor) }) }) => after = Some(cursor),
                _ => return Ok(items),
            }
        }
    }

    /// `GET /oauth/access_token` with the app's credentials and `grant`.
    /// Meta documents this exchange as a GET with the secret in the query.
    async fn token(&self, grant: &[(&str, &str)]) -> Result<Credentials> {
        let url = self.url("oauth/access_token");
        let mut query = vec![("client_id", self.client_id.as_str()), ("client_secret", self.client_secret.expose())];
        query.extend_from_slice(grant);
        let answer: TokenAnswer = self.call(None, "access token", || self.http.client().get(&url).query(&query)).await?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Ok(Credentials::bearer(answer.access_token, String::new(), answer.expires_in.map_or(0, |secs| now + secs)))
    }
}

impl Platform for Meta {
    fn id(&self) -> PlatformId {
        PlatformId::Meta
    }

    /// The login dialog. `code_challenge` is not sent: Meta takes PKCE only
    /// in its OpenID Connect flow, not in the code flow that yields tokens
    /// for the Marketing API; the signed single-use `state` and the app
    /// secret in the exchange protect this one.
    fn authorize<'a>(&'a self, redirect_uri: &'a str, state: &'a str, _code_challenge: &'a str) -> BoxFuture<'a, Result<Authorization>> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("scope", SCOPES)
            .append_pair("response_type", "code")
            .finish();
        let url = format!("{}?{query}", self.dialog_url);
        Box::pin(async move { Ok(Authorization { url, temporary: None }) })
    }

    /// Code → token → long-lived token (the code's token lasts hours).
    fn exchange_code<'a>(&'a self, consent: Consent<'a>) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(async move {
            let short = self.token(&[("redirect_uri", consent.redirect_uri), ("code", consent.code)]).await?;
            self.token(&[("grant_type", "fb_exchange_token"), ("fb_exchange_token", &short.access_token)]).await
        })
    }

    /// Meta has no refresh token: the credentials stay as they are, and a
    /// long-lived token near its end needs the user (the caller warns).
    fn refresh<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(async move { Ok(credentials.clone()) })
    }

    fn discover<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Vec<Account>>> {
        Box::pin(async move {
            let fields = [("fields", "account_id,name,currency,timezone_name,account_status".to_owned())];
            let rows: Vec<AdAccountRow> = self.pages(None, "me/adaccounts", &credentials.access_token, &fields, "ad accounts").await?;
            Ok(rows
                .into_iter()
                .map(|row| Account {
                    id: row.account_id,
                    kind: String::new(),
                    name: row.name,
                    currency: row.currency,
                    timezone: row.timezone_name,
                    manager_id: String::new(),
                    active: row.account_status == 1,
                })
                .collect())
        })
    }

    fn fetch_daily<'a>(&'a self, credentials: &'a Credentials, account: &'a Account, level: Level, range: DateRange) -> BoxFuture<'a, Result<Vec<DailyRow>>> {
        Box::pin(async move {
            let rows = self.report(credentials, account, level, range).await?;
            rows.into_iter().map(|row| row.into_daily(level, account)).collect()
        })
    }

    fn window_days(&self) -> i64 {
        WINDOW_DAYS
    }

    fn lookback_days(&self) -> i64 {
        LOOKBACK_DAYS
    }
}

