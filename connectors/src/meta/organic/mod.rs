//! Organic insights of Facebook Pages and Instagram business accounts behind
//! [`Platform`], on Meta's Graph client, login and dialect (`super::graph`).
//!
//! * Login: Meta's, with the Pages (and Instagram) scopes; the app is Meta
//!   Ads' unless the settings name another.
//! * Accounts: `GET /me/accounts` lists the Pages the user manages, each
//!   with its own Page token and, where one is connected, its
//!   `instagram_business_account`. A linked Page (or the Instagram account
//!   of a Page, whose `manager_id` is that Page) stores the Page token:
//!   issued from a long-lived user token, it does not expire.
//! * Rows: account level only, one per day with values, in Pacific time
//!   (Meta's insights days). Page insights take ≤ 90 days a request;
//!   Instagram's ≤ 30, and its `total_value` metrics one day a request.
//!   The metrics asked for follow `api_version` (`metrics`); one the
//!   platform refuses (error 100) is dropped with a warning, the rest sync.

mod insights;
pub mod metrics;

use std::collections::BTreeMap;
use std::sync::Mutex;

use adhouse_core::settings::{MetaSettings, OrganicSettings};
use serde::Deserialize;

use self::insights::{Days, Insight};
use self::metrics::{Metric, Product, Shape};
use super::graph::{Graph, Page};
use crate::error::{Error, ErrorKind, Result};
use crate::http::Http;
use crate::model::{Account, Credentials, Daily, DateRange, Level, PlatformId};
use crate::platform::{Authorization, BoxFuture, Consent, Platform};

/// Listing Pages and reading their insights.
pub const PAGES_SCOPES: &str = "pages_show_list,pages_read_engagement,read_insights";
/// The same, and the Instagram accounts connected to the Pages.
pub const INSTAGRAM_SCOPES: &str = "pages_show_list,pages_read_engagement,read_insights,instagram_basic,instagram_manage_insights";
/// Meta reports insights days in Pacific time, whatever the Page's place.
pub const TIMEZONE: &str = "America/Los_Angeles";
/// Insights are kept for about two years.
const LOOKBACK_DAYS: i64 = 730;

pub struct Organic {
    product: Product,
    graph: Graph,
    version: String,
    metrics: Vec<&'static Metric>,
    /// Metrics the platform refused as unknown during this process, with its
    /// message: asked for no more, and reported with every fetch.
    dropped: Mutex<BTreeMap<&'static str, String>>,
}

#[derive(Deserialize)]
struct PageRow {
    id: String,
    name: String,
    instagram_business_account: Option<InstagramRef>,
}

#[derive(Deserialize)]
struct InstagramRef {
    id: String,
    #[serde(default)]
    username: String,
}

#[derive(Deserialize)]
struct PageToken {
    access_token: String,
}

impl Organic {
    /// `settings` of Facebook Pages or Instagram; `meta` lends its app when
    /// they name none. An unreadable `api_version` (start-up refuses it)
    /// asks for no metric.
    pub fn new(product: Product, settings: &OrganicSettings, meta: &MetaSettings, http: Http) -> Self {
        let (platform, scopes) = match product {
            Product::Pages => (PlatformId::Facebook, PAGES_SCOPES),
            Product::Instagram => (PlatformId::Instagram, INSTAGRAM_SCOPES),
        };
        let graph_url = format!("{}/{}", settings.graph_url.trim_end_matches('/'), settings.api_version);
        let metrics = metrics::major(&settings.api_version).map_or_else(Vec::new, |major| metrics::for_version(product, major));
        Self {
            product,
            graph: Graph::new(platform, http, &graph_url, &settings.dialog_url, settings.client(meta), scopes),
            version: settings.api_version.clone(),
            metrics,
            dropped: Mutex::default(),
        }
    }

    /// The Page whose token reads `account`'s insights.
    fn page_of(&self, account: &Account) -> String {
        match self.product {
            Product::Pages => account.id.clone(),
            Product::Instagram => account.manager_id.clone(),
        }
    }

    async fn fetch(&self, credentials: &Credentials, account: &Account, range: DateRange) -> Result<Daily> {
        let mut days = Days::new(self.graph.platform, account);
        let (series, totals): (Vec<&Metric>, Vec<&Metric>) = self.metrics.iter().partition(|m| m.shape == Shape::TimeSeries);
        self.collect(credentials, account, &series, range, &mut days).await?;
        if !totals.is_empty() {
            // A total covers the whole range asked for: one day at a time.
            for day in range.windows(1) {
                self.collect(credentials, account, &totals, day, &mut days).await?;
            }
        }
        let warnings = self.dropped.lock().expect("never poisoned").iter().map(|(name, why)| self.warning(name, why)).collect();
        Ok(Daily { rows: days.into_rows(), warnings })
    }

    /// The values of `metrics` over `range`, put into `days`. Graph refuses a
    /// whole request over one metric it no longer serves without naming it:
    /// then each metric is asked alone, the refused ones are dropped, and
    /// the rest asked again.
    async fn collect(&self, credentials: &Credentials, account: &Account, metrics: &[&'static Metric], range: DateRange, days: &mut Days<'_>) -> Result<()> {
        let mut asking: Vec<&Metric> = {
            let dropped = self.dropped.lock().expect("never poisoned");
            metrics.iter().copied().filter(|m| !dropped.contains_key(m.name)).collect()
        };
        while !asking.is_empty() {
            match self.insights(credentials, account, &asking, range).await {
                Ok(insights) => return days.add(&asking, insights, (asking[0].shape == Shape::TotalValue).then_some(range.since)),
                Err(err) if !is_unknown_metric(&err) => return Err(err),
                Err(err) if asking.len() == 1 => {
                    self.drop_metric(account, asking[0], &err);
                    return Ok(());
                }
                Err(_) => {
                    let mut kept = Vec::new();
                    for metric in asking {
                        match self.insights(credentials, account, &[metric], range).await {
                            Ok(_) => kept.push(metric),
                            Err(err) if is_unknown_metric(&err) => self.drop_metric(account, metric, &err),
                            Err(err) => return Err(err),
                        }
                    }
                    asking = kept;
                }
            }
        }
        Ok(())
    }

    /// `GET /{id}/insights` of `metrics` for the days of `range` (`until`
    /// is exclusive: the end of the last day).
    async fn insights(&self, credentials: &Credentials, account: &Account, metrics: &[&Metric], range: DateRange) -> Result<Vec<Insight>> {
        let names: Vec<&str> = metrics.iter().map(|m| m.name).collect();
        let until = range.until.next_day().ok_or_else(|| Error::Decode { remote: self.graph.platform.into(), detail: "a range ending at the last date".into() })?;
        let mut params = vec![
            ("metric", names.join(",")),
            ("period", "day".to_owned()),
            ("since", range.since.to_string()),
            ("until", until.to_string()),
        ];
        if self.product == Product::Instagram {
            params.push(("metric_type", metrics[0].shape.as_str().to_owned()));
        }
        // The answer's `paging` links shift the time range (earlier and
        // later days), not more of this one: they are not followed.
        let page: Page<Insight> = self.graph.get(Some(&account.id), &format!("{}/insights", account.id), &credentials.access_token, &params, "insights").await?;
        Ok(page.data)
    }

    fn drop_metric(&self, account: &Account, metric: &'static Metric, err: &Error) {
        let why = err.to_string();
        tracing::warn!(platform = %self.graph.platform, account = %account.id, metric = metric.name, "dropping a metric the platform refuses: {why}");
        self.dropped.lock().expect("never poisoned").insert(metric.name, why);
    }

    fn warning(&self, name: &str, why: &str) -> String {
        format!("metric {name} dropped: Graph API {} refuses it ({why}); update platforms.{}.api_version or the metric table", self.version, self.graph.platform)
    }
}

/// Graph's answer to a metric it does not (or no longer) serve: error 100
/// without a subcode (100/1504018 is a timeout, asking for less).
fn is_unknown_metric(err: &Error) -> bool {
    matches!(err, Error::Platform { code, kind: ErrorKind::Fatal, .. } if code == "100")
}

impl Platform for Organic {
    fn id(&self) -> PlatformId {
        self.graph.platform
    }

    fn authorize<'a>(&'a self, redirect_uri: &'a str, state: &'a str, _code_challenge: &'a str) -> BoxFuture<'a, Result<Authorization>> {
        let authorization = self.graph.authorize(redirect_uri, state);
        Box::pin(async move { Ok(authorization) })
    }

    fn exchange_code<'a>(&'a self, consent: Consent<'a>) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(self.graph.exchange_code(consent.redirect_uri, consent.code))
    }

    fn discover<'a>(&'a self, credentials: &'a Credentials) -> BoxFuture<'a, Result<Vec<Account>>> {
        Box::pin(async move {
            let fields = match self.product {
                Product::Pages => "id,name",
                Product::Instagram => "id,name,instagram_business_account{id,username}",
            };
            let pages: Vec<PageRow> = self.graph.pages(None, "me/accounts", &credentials.access_token, &[("fields", fields.to_owned())], "pages").await?;
            let account = |id, name, manager_id| Account { id, kind: String::new(), name, currency: String::new(), timezone: TIMEZONE.to_owned(), manager_id, active: true };
            Ok(match self.product {
                Product::Pages => pages.into_iter().map(|page| account(page.id, page.name, String::new())).collect(),
                Product::Instagram => pages
                    .into_iter()
                    .filter_map(|page| page.instagram_business_account.map(|ig| account(ig.id, ig.username, page.id)))
                    .collect(),
            })
        })
    }

    /// The Page token of the account's Page, read with the user's token.
    fn account_credentials<'a>(&'a self, grant: &'a Credentials, account: &'a Account) -> BoxFuture<'a, Result<Credentials>> {
        Box::pin(async move {
            let page = self.page_of(account);
            let token: PageToken = self.graph.get(Some(&page), &page, &grant.access_token, &[("fields", "access_token".to_owned())], "page token").await?;
            Ok(Credentials::bearer(token.access_token, String::new(), 0))
        })
    }

    fn levels(&self) -> &'static [Level] {
        &[Level::Account]
    }

    fn fetch_daily<'a>(&'a self, credentials: &'a Credentials, account: &'a Account, level: Level, range: DateRange) -> BoxFuture<'a, Result<Daily>> {
        Box::pin(async move {
            if level != Level::Account {
                return Ok(Daily::default());
            }
            self.fetch(credentials, account, range).await
        })
    }

    fn window_days(&self) -> i64 {
        match self.product {
            Product::Pages => 90,
            Product::Instagram => 30,
        }
    }

    fn lookback_days(&self) -> i64 {
        LOOKBACK_DAYS
    }
}
