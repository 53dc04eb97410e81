//! Live metrics from partners' reporting APIs (demand partners, SSPs,
//! mediation platforms): a feed (`partners.feeds` in the settings) is
//! fetched window by window through the same paced, retrying HTTP layer as
//! the ad platforms (`crate::http`), page by page, and mapped into canonical
//! [`PartnerRow`]s at the edge (`rows`). The ingester schedules the polls
//! and stores what [`Feed::fetch`] returns (`store`).
//!
//! A window is fetched whole before anything is stored: a poll that fails
//! on page 3 stores nothing, and the next poll reads the window again, so
//! no period is ever half-replaced.

mod auth;
mod dialect;
mod rows;
pub mod store;
mod window;

use std::collections::BTreeSet;

use adhouse_core::settings::{FeedSettings, HttpMethod, Pagination};
use reqwest::RequestBuilder;

pub use self::rows::{KeyOf, PartnerRow, Quarantined};
pub use self::window::Window;
use self::auth::Auth;
use self::dialect::PartnerDialect;
use crate::error::{Error, Result};
use crate::http::{Http, Remote};

/// Pages one window may take; a partner that keeps sending next links past
/// this is looping.
const MAX_PAGES: u32 = 10_000;

/// What one window's fetch returned.
#[derive(Debug, Default)]
pub struct Fetched {
    pub rows: Vec<PartnerRow>,
    pub quarantined: Vec<Quarantined>,
    /// Requests for pages (token requests not counted).
    pub requests: u32,
}

/// A feed ready to poll: its settings, secrets and HTTP client.
pub struct Feed {
    pub settings: FeedSettings,
    auth: Auth,
    dialect: PartnerDialect,
    http: Http,
}

impl Feed {
    /// `key` names the feed's settings in errors (`partners.feeds[0]`).
    pub fn new(key: &str, settings: FeedSettings, http: Http) -> std::result::Result<Self, adhouse_core::Error> {
        let auth = Auth::from_settings(&format!("{key}.auth"), &settings.auth)?;
        let dialect = PartnerDialect { remote: Remote::Feed(settings.name.as_str().into()) };
        Ok(Self { settings, auth, dialect, http })
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// Every page of `window`, mapped. `Err` when a page cannot be had or
    /// read (after the HTTP layer's retries), or when the partner's rows
    /// lack a mapped field altogether (schema drift).
    pub async fn fetch(&self, window: Window) -> Result<Fetched> {
        let outcome = self.fetch_pages(window).await;
        if let Err(Error::Platform { status: 401, .. }) = &outcome {
            // A token revoked before its expiry: the next poll asks for a new one.
            self.auth.forget_token();
        }
        outcome
    }

    async fn fetch_pages(&self, window: Window) -> Result<Fetched> {
        let s = &self.settings;
        let first_url = self.url(&window.fill(&s.url, true))?;
        let body = s.body.as_ref().map(|template| window.fill(template, false));
        let mut fetched = Fetched::default();
        let mut keys = BTreeSet::new();
        let mut next = Some(first_url.clone());
        let mut page_number = 0u32;
        while let Some(url) = next.take() {
            if fetched.requests >= MAX_PAGES {
                return Err(self.decode(format!("more than {MAX_PAGES} pages for one window")));
            }
            let credential = self.auth.credential(&self.http, &self.dialect).await?;
            let build = || credential.apply(self.request(url.clone(), body.as_deref()));
            let bytes = self.http.send(&self.dialect, &[], build).await?;
            fetched.requests += 1;
            let page = rows::parse_page(&s.format, &bytes).map_err(|detail| self.decode(format!("page {}: {detail}", page_number + 1)))?;
            let missing = rows::missing_fields(s, &page.rows);
            if !missing.is_empty() {
                return Err(self.decode(format!("schema drift: no row of page {} has the mapped field(s) {}", page_number + 1, missing.join(", "))));
            }
            let page_rows = page.rows.len() + page.not_objects.len();
            for text in page.not_objects {
                fetched.quarantined.push(Quarantined { reason: "not_an_object", detail: "a row that is not an object".into(), excerpt: text, key: None });
            }
            for raw in &page.rows {
                match rows::map_row(s, raw) {
                    Ok(row) => {
                        let key = KeyOf::from(&row);
                        if keys.insert(key.clone()) {
                            fetched.rows.push(row);
                        } else {
                            // Stored, it would replace its twin arbitrarily; set aside, it is seen.
                            fetched.quarantined.push(Quarantined {
                                reason: "duplicate_key",
                                detail: "a second row for the same partner, period and dimensions in one window".into(),
                                excerpt: raw.excerpt.clone(),
                                key: Some(Box::new(key)),
                            });
                        }
                    }
                    Err(bad) => fetched.quarantined.push(bad),
                }
            }
            page_number += 1;
            next = self.next_page(&first_url, &url, &page.scalars, page_rows, page_number)?;
        }
        Ok(fetched)
    }

    fn request(&self, url: url::Url, body: Option<&str>) -> RequestBuilder {
        let client = self.http.client();
        match self.settings.method {
            HttpMethod::Get => client.get(url),
            HttpMethod::Post => {
                let request = client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json");
                request.body(body.unwrap_or("").to_owned())
            }
        }
    }

    /// The URL of the page after `current`, `None` after the last.
    fn next_page(
        &self,
        first: &url::Url,
        current: &url::Url,
        scalars: &std::collections::BTreeMap<String, Option<String>>,
        rows: usize,
        pages_done: u32,
    ) -> Result<Option<url::Url>> {
        let value = |path: &str| scalars.get(path).cloned().flatten().filter(|text| !text.is_empty());
        let with = |pairs: &[(&str, String)]| {
            let mut url = first.clone();
            let kept: Vec<(String, String)> =
                first.query_pairs().filter(|(name, _)| !pairs.iter().any(|(param, _)| param == name)).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            url.query_pairs_mut().clear().extend_pairs(kept).extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
            url
        };
        Ok(match &self.settings.pagination {
            Pagination::None => None,
            Pagination::NextLink { path } => match value(path) {
                Some(link) => Some(current.join(&link).map_err(|err| self.decode(format!("next link {link:?}: {err}")))?),
                None => None,
            },
            Pagination::Cursor { param, path } => value(path).map(|cursor| with(&[(param, cursor)])),
            Pagination::Page { param, first: first_page, size_param, size } => (rows >= *size as usize).then(|| {
                let mut pairs = vec![(param.as_str(), (first_page + pages_done).to_string())];
                pairs.extend(size_param.as_deref().map(|size_param| (size_param, size.to_string())));
                with(&pairs)
            }),
            Pagination::Offset { param, limit_param, limit } => (rows >= *limit as usize).then(|| {
                with(&[(param.as_str(), (u64::from(pages_done) * u64::from(*limit)).to_string()), (limit_param.as_str(), limit.to_string())])
            }),
        })
    }

    /// The first page's URL: the filled template, with the first page's
    /// parameters for page and offset pagination.
    fn url(&self, text: &str) -> Result<url::Url> {
        let mut url = url::Url::parse(text).map_err(|err| self.decode(format!("url {text:?}: {err}")))?;
        match &self.settings.pagination {
            Pagination::Page { param, first, size_param, size } => {
                url.query_pairs_mut().append_pair(param, &first.to_string());
                if let Some(size_param) = size_param {
                    url.query_pairs_mut().append_pair(size_param, &size.to_string());
                }
            }
            Pagination::Offset { param, limit_param, limit } => {
                url.query_pairs_mut().append_pair(param, "0").append_pair(limit_param, &limit.to_string());
            }
            Pagination::None | Pagination::NextLink { .. } | Pagination::Cursor { .. } => {}
        }
        Ok(url)
    }

    fn decode(&self, detail: String) -> Error {
        Error::Decode { remote: self.dialect.remote.clone(), detail }
    }
}
