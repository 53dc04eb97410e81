//! The one interface every ad platform implements.

use std::future::Future;
use std::pin::Pin;

use crate::error::Result;
use crate::model::{Account, Credentials, DailyRow, DateRange, Level, PlatformId};

/// A boxed future, so that platforms can sit behind `dyn Platform`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the user is sent to consent, and what comes back.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The platform's consent page with every parameter filled in.
    pub url: String,
}

/// An ad platform. Contract:
/// * every method parses the platform's answers into typed values at the
///   edge, and reports failures as [`crate::Error`]s whose kind says what to
///   do (retry, split, relink, fatal);
/// * `fetch_daily` returns every (entity, day) row of `range` at `level`,
///   all pages read, days in the account's own timezone; a day without
///   activity may be absent;
/// * no method logs a token.
pub trait Platform: Send + Sync {
    fn id(&self) -> PlatformId;

    /// The consent page URL for `state` (and, where the platform supports
    /// PKCE, the S256 `code_challenge`).
    fn authorize(&self, redirect_uri: &str, state: &str, code_challenge: &str) -> Authorization;

    /// Exchanges the code from the callback for credentials that last: Meta's
    /// long-lived token, Google's refresh token.
    fn exchange_code<'a>(
        &'a self,
        redirect_uri: &'a str,
        code: &'a str,
        code_verifier: &'a str,
    ) -> BoxFuture<'a, Result<Credentials>>;

    /// Fresh credentials when the access token is near its expiry (or
    /// `credentials` unchanged when the platform has nothing to refresh).
    fn refresh<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Credentials>>;

    /// Every ad account the grant can report on.
    fn discover<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Vec<Account>>>;

    /// Daily rows of `account` at `level` for `range`.
    fn fetch_daily<'a>(
        &'a self,
        credentials: &'a Credentials,
        account: &'a Account,
        level: Level,
        range: DateRange,
    ) -> BoxFuture<'a, Result<Vec<DailyRow>>>;

    /// The longest range one `fetch_daily` call should ask for; callers cut
    /// backfills into windows of this size (and halve them on `Split`).
    fn window_days(&self) -> i64;

    /// How far back the platform keeps daily data, in days.
    fn lookback_days(&self) -> i64;
}
