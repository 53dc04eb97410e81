//! The one interface every ad platform implements.

use std::future::Future;
use std::pin::Pin;

use crate::error::Result;
use crate::model::{Account, Credentials, Daily, DateRange, Level, PlatformId};

/// A boxed future, so that platforms can sit behind `dyn Platform`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the user is sent to consent, and what the flow must keep until the
/// callback.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The platform's consent page with every parameter filled in.
    pub url: String,
    /// OAuth 1.0a's temporary credentials (RFC 5849 §2.1: the request token
    /// and its secret), which the exchange signs with; `None` for OAuth 2.0.
    /// The caller keeps them sealed with the flow's state and hands them to
    /// [`Platform::exchange_code`]; they never travel through the browser.
    pub temporary: Option<Credentials>,
}

/// What the platform's redirect brought back, with what the flow kept.
#[derive(Debug, Clone, Copy)]
pub struct Consent<'a> {
    pub redirect_uri: &'a str,
    /// OAuth 2.0's `code`; OAuth 1.0a's `oauth_verifier`.
    pub code: &'a str,
    /// The flow's PKCE verifier (ignored where the platform has no PKCE).
    pub code_verifier: &'a str,
    /// [`Authorization::temporary`] of the flow.
    pub temporary: Option<&'a Credentials>,
}

/// An ad platform. Contract:
/// * every method parses the platform's answers into typed values at the
///   edge, and reports failures as [`crate::Error`]s whose kind says what to
///   do (retry, split, relink, fatal);
/// * `fetch_daily` returns every (entity, day) row of `range` at `level`,
///   all pages read, days in the account's own timezone; a day without
///   activity may be absent; a measure the platform no longer serves is
///   left out with a warning, never a failed fetch;
/// * no method logs a token.
pub trait Platform: Send + Sync {
    fn id(&self) -> PlatformId;

    /// The consent page for `state` (and, where the platform supports PKCE,
    /// the S256 `code_challenge`). The platform brings `state` back to
    /// `redirect_uri` as the `state` parameter. Async: OAuth 1.0a asks the
    /// platform for a request token first.
    fn authorize<'a>(&'a self, redirect_uri: &'a str, state: &'a str, code_challenge: &'a str) -> BoxFuture<'a, Result<Authorization>>;

    /// Exchanges the consent for credentials that last: Meta's long-lived
    /// token, Google's refresh token, X's access token and secret.
    fn exchange_code<'a>(&'a self, consent: Consent<'a>) -> BoxFuture<'a, Result<Credentials>>;

    /// Fresh credentials when the access token is near its expiry. By
    /// default `credentials` unchanged: platforms without a refresh flow
    /// (Meta's long-lived tokens, Page tokens, X's OAuth 1.0a tokens).
    fn refresh<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(async move { Ok(credentials.clone()) })
    }

    /// Every ad account the grant can report on.
    fn discover<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Vec<Account>>>;

    /// The credentials stored for `account` when it is linked from a grant:
    /// the grant's own, or one the platform issues for that account alone
    /// (a Facebook Page's token).
    fn account_credentials<'a>(&'a self, grant: &'a Credentials, _account: &'a Account) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(async move { Ok(grant.clone()) })
    }

    /// The levels the platform reports at (organic insights: the account only).
    fn levels(&self) -> &'static [Level] {
        &Level::ALL
    }

    /// Daily rows of `account` at `level` for `range`.
    fn fetch_daily<'a>(
        &'a self,
        credentials: &'a Credentials,
        account: &'a Account,
        level: Level,
        range: DateRange,
    ) -> BoxFuture<'a, Result<Daily>>;

    /// The longest range one `fetch_daily` call should ask for; callers cut
    /// backfills into windows of this size (and halve them on `Split`).
    fn window_days(&self) -> i64;

    /// How far back the platform keeps daily data, in days.
    fn lookback_days(&self) -> i64;
}
