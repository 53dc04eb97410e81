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
//! The Graph client (login, calls, paging) is `graph`'s, shared with the
//! organic insights of Facebook Pages and Instagram (`organic`).

mod dialect;
mod graph;
mod insights;
pub mod organic;
mod report_run;

use adhouse_core::settings::MetaSettings;
use serde::Deserialize;

use crate::error::Result;
use crate::http::Http;
use crate::model::{Account, Credentials, Daily, DateRange, Level, PlatformId};
use crate::platform::{Authorization, BoxFuture, Consent, Platform};
use graph::Graph;

/// What adhouse asks for: reading ads reports, and the business-owned accounts.
pub const SCOPES: &str = "ads_read,business_management";
/// Meta keeps daily insights for 37 months; 1,123 days is the shortest
/// 37 months can be, so a range starting that far back is always accepted.
const LOOKBACK_DAYS: i64 = 1123;
/// The range of one report run. Meta documents no limit; 90 days of ads of a
/// busy account stay well within what a run delivers, and a caller halves
/// the range when a run fails (`Split`).
const WINDOW_DAYS: i64 = 90;

pub struct Meta {
    graph: Graph,
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
        let client = (settings.client_id.as_str(), &settings.client_secret);
        Self { graph: Graph::new(PlatformId::Meta, http, &settings.graph_url, &settings.dialog_url, client, SCOPES) }
    }
}

impl Platform for Meta {
    fn id(&self) -> PlatformId {
        PlatformId::Meta
    }

    /// The login dialog (`code_challenge` is not sent: see [`Graph::authorize`]).
    fn authorize<'a>(&'a self, redirect_uri: &'a str, state: &'a str, _code_challenge: &'a str) -> BoxFuture<'a, Result<Authorization>> {
        let authorization = self.graph.authorize(redirect_uri, state);
        Box::pin(async move { Ok(authorization) })
    }

    fn exchange_code<'a>(&'a self, consent: Consent<'a>) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(self.graph.exchange_code(consent.redirect_uri, consent.code))
    }

    fn discover<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Vec<Account>>> {
        Box::pin(async move {
            let fields = [("fields", "account_id,name,currency,timezone_name,account_status".to_owned())];
            let rows: Vec<AdAccountRow> = self.graph.pages(None, "me/adaccounts", &credentials.access_token, &fields, "ad accounts").await?;
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

    fn fetch_daily<'a>(&'a self, credentials: &'a Credentials, account: &'a Account, level: Level, range: DateRange) -> BoxFuture<'a, Result<Daily>> {
        Box::pin(async move {
            let rows = self.report(credentials, account, level, range).await?;
            rows.into_iter().map(|row| row.into_daily(level, account)).collect::<Result<Vec<_>>>().map(Daily::from)
        })
    }

    fn window_days(&self) -> i64 {
        WINDOW_DAYS
    }

    fn lookback_days(&self) -> i64 {
        LOOKBACK_DAYS
    }
}

