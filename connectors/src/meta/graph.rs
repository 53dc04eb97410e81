//! The Graph API client every Meta product shares (Meta Ads, Facebook
//! Pages, Instagram): Facebook Login's manual flow, the code exchanged for a
//! token and that one for a long-lived token (~60 days), calls with the
//! token in the `Authorization` header (never in a URL, so that no logged
//! URL carries one), cursor paging, and Meta's dialect for errors and pacing.

use adhouse_core::settings::Secret;
use reqwest::RequestBuilder;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::dialect::{APP_KEY, MetaDialect, account_key};
use crate::error::Result;
use crate::http::{Http, json};
use crate::model::{Credentials, PlatformId};
use crate::platform::Authorization;

/// Rows per page: Meta accepts large pages, and fewer pages are fewer calls
/// against the usage budgets.
const PAGE_LIMIT: &str = "500";

/// One Meta product's view of the Graph API: its base URL (with the
/// version), its login dialog, the app, and the scopes it asks for.
pub(crate) struct Graph {
    pub platform: PlatformId,
    pub http: Http,
    graph_url: String,
    dialog_url: String,
    client_id: String,
    client_secret: Secret,
    scopes: &'static str,
}

#[derive(Deserialize)]
pub(crate) struct Page<T> {
    pub data: Vec<T>,
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

impl Graph {
    pub fn new(platform: PlatformId, http: Http, graph_url: &str, dialog_url: &str, (client_id, client_secret): (&str, &Secret), scopes: &'static str) -> Self {
        Self {
            platform,
            http,
            graph_url: graph_url.trim_end_matches('/').to_owned(),
            dialog_url: dialog_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.clone(),
            scopes,
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
        let body = self.http.send(&MetaDialect { platform: self.platform, account }, &Self::keys(account), build).await?;
        json(self.platform, what, &body)
    }

    /// `GET path?params` with the token in the header.
    pub async fn get<T: DeserializeOwned>(&self, account: Option<&str>, path: &str, token: &str, params: &[(&str, String)], what: &str) -> Result<T> {
        let url = self.url(path);
        self.call(account, what, || self.http.client().get(&url).bearer_auth(token).query(params)).await
    }

    /// `POST path` with `params` as a form, the token in the header.
    pub async fn post<T: DeserializeOwned>(&self, account: Option<&str>, path: &str, token: &str, params: &[(&str, String)], what: &str) -> Result<T> {
        let url = self.url(path);
        self.call(account, what, || self.http.client().post(&url).bearer_auth(token).form(params)).await
    }

    /// Every page of a cursor-paged edge, followed by its `after` cursor
    /// (not the `next` URL, which carries the token and the production host).
    pub async fn pages<T: DeserializeOwned>(&self, account: Option<&str>, path: &str, token: &str, params: &[(&str, String)], what: &str) -> Result<Vec<T>> {
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

    /// The login dialog. No PKCE: Meta takes it only in its OpenID Connect
    /// flow, not in the code flow that yields Graph API tokens; the signed
    /// single-use `state` and the app secret in the exchange protect this one.
    pub fn authorize(&self, redirect_uri: &str, state: &str) -> Authorization {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("scope", self.scopes)
            .append_pair("response_type", "code")
            .finish();
        Authorization { url: format!("{}?{query}", self.dialog_url), temporary: None }
    }

    /// Code → token → long-lived token (the code's token lasts hours).
    pub async fn exchange_code(&self, redirect_uri: &str, code: &str) -> Result<Credentials> {
        let short = self.token(&[("redirect_uri", redirect_uri), ("code", code)]).await?;
        self.token(&[("grant_type", "fb_exchange_token"), ("fb_exchange_token", &short.access_token)]).await
    }
}
