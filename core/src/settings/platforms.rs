//! Settings of the ad-platform connectors: where each platform's API is,
//! the app's credentials there, and how accounts are synced. Base URLs are
//! settings so that production and the local fakes share every code path.

use serde::Deserialize;

use super::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformsSettings {
    /// Base URL of adhouse as users' browsers reach it; a platform redirects
    /// the user to `<public_url>/oauth/callback/<platform>` after consent
    /// (register exactly that URI with the platform).
    pub public_url: String,
    /// HMAC key of OAuth `state` values (any long random string).
    pub state_secret: Secret,
    /// Token vault keys, `id:base64(32 bytes)` separated by commas; the first
    /// seals new credentials, the others still open older ones (rotation).
    pub vault_keys: Secret,
    /// Days of history fetched when an account is linked.
    pub backfill_days: u32,
    /// Timeout of one platform request.
    pub request_timeout_secs: u32,
    /// SQS queue of sync jobs (backfills and daily syncs), consumed by
    /// `adhouse-ingester run` beside the log queue.
    pub sync_queue_url: String,
    pub meta: MetaSettings,
    pub google: GoogleSettings,
    pub yahoo: YahooSettings,
    pub x: XSettings,
    /// Facebook Pages (organic insights), through Meta's login.
    pub facebook: OrganicSettings,
    /// Instagram business accounts (organic insights), through Meta's login.
    pub instagram: OrganicSettings,
}

/// What every platform's settings have, for checks and schedules that treat
/// the platforms alike.
#[derive(Debug, Clone, Copy)]
pub struct AppSettings<'a> {
    /// The platform's name in settings keys and URLs (`meta`, `google`, `yahoo`, `x`).
    pub name: &'static str,
    pub enabled: bool,
    /// The app's public id: OAuth 2.0's client id, OAuth 1.0a's consumer key.
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
    /// The keys of the two under `platforms.<name>`, for messages.
    pub client_id_key: &'static str,
    pub client_secret_key: &'static str,
    pub restate_days: u32,
}

impl<'a> AppSettings<'a> {
    /// An OAuth 2.0 app: `client_id` and `client_secret`.
    fn oauth2(name: &'static str, enabled: bool, client_id: &'a str, client_secret: &'a Secret, restate_days: u32) -> Self {
        Self { name, enabled, client_id, client_secret, client_id_key: "client_id", client_secret_key: "client_secret", restate_days }
    }
}

impl PlatformsSettings {
    /// Every platform's common settings, in registry order.
    pub fn apps<'a>(&'a self) -> [AppSettings<'a>; 6] {
        let organic = |name, app: &'a OrganicSettings| {
            let (client_id, client_secret) = app.client(&self.meta);
            AppSettings::oauth2(name, app.enabled, client_id, client_secret, app.restate_days)
        };
        [
            AppSettings::oauth2("meta", self.meta.enabled, &self.meta.client_id, &self.meta.client_secret, self.meta.restate_days),
            AppSettings::oauth2("google", self.google.enabled, &self.google.client_id, &self.google.client_secret, self.google.restate_days),
            AppSettings::oauth2("yahoo", self.yahoo.enabled, &self.yahoo.client_id, &self.yahoo.client_secret, self.yahoo.restate_days),
            AppSettings {
                name: "x",
                enabled: self.x.enabled,
                client_id: &self.x.consumer_key,
                client_secret: &self.x.consumer_secret,
                client_id_key: "consumer_key",
                client_secret_key: "consumer_secret",
                restate_days: self.x.restate_days,
            },
            organic("facebook", &self.facebook),
            organic("instagram", &self.instagram),
        ]
    }

    /// The settings of the platform called `name`.
    pub fn app(&self, name: &str) -> Option<AppSettings<'_>> {
        self.apps().into_iter().find(|app| app.name == name)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaSettings {
    pub enabled: bool,
    /// The app's id and secret (Meta for Developers → App settings → Basic).
    pub client_id: String,
    pub client_secret: Secret,
    /// Graph API base with its version, e.g. `https://graph.facebook.com/v25.0`.
    pub graph_url: String,
    /// Login dialog, e.g. `https://www.facebook.com/v25.0/dialog/oauth`.
    pub dialog_url: String,
    /// Recent days re-read by the daily sync (attribution settles in 28).
    pub restate_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleSettings {
    pub enabled: bool,
    /// OAuth client of the Google Cloud project (type "Web application").
    pub client_id: String,
    pub client_secret: Secret,
    /// Sent as `developer-token` when not empty.
    pub developer_token: Secret,
    /// e.g. `https://accounts.google.com/o/oauth2/v2/auth`.
    pub auth_url: String,
    /// e.g. `https://oauth2.googleapis.com/token`.
    pub token_url: String,
    /// Google Ads API base ending in its version, v22 or later, e.g. `https://googleads.googleapis.com/v26`.
    pub api_url: String,
    /// Recent days re-read by the daily sync (conversions lag).
    pub restate_days: u32,
}

/// Yahoo! JAPAN Ads (Search Ads API and Display Ads API), one app for both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YahooSettings {
    pub enabled: bool,
    /// The application's Client ID and secret (Yahoo! JAPAN Ads API
    /// management tool → application; its redirect URI must be
    /// `<public_url>/oauth/callback/yahoo`).
    pub client_id: String,
    pub client_secret: Secret,
    /// Business ID consent page, e.g. `https://biz-oauth.yahoo.co.jp/oauth/v1/authorize`.
    pub auth_url: String,
    /// e.g. `https://biz-oauth.yahoo.co.jp/oauth/v1/token`.
    pub token_url: String,
    /// Search Ads API base without the version, e.g. `https://ads-search.yahooapis.jp/api`.
    pub search_api_url: String,
    /// Display Ads API base without the version, e.g. `https://ads-display.yahooapis.jp/api`.
    pub display_api_url: String,
    /// Path segment of both APIs' version, `v<N>`; Yahoo! JAPAN serves a
    /// version for about a year after the next one ships.
    pub api_version: String,
    /// Recent days re-read by the daily sync (conversions are attributed
    /// back to the click day for several days).
    pub restate_days: u32,
}

/// X (Twitter) Ads API, through an OAuth 1.0a app of the X developer portal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XSettings {
    pub enabled: bool,
    /// The app's API Key and Secret (developer portal → the app → Keys and
    /// tokens → Consumer Keys); its callback URL must be
    /// `<public_url>/oauth/callback/x`, and the app needs Ads API access.
    pub consumer_key: String,
    pub consumer_secret: Secret,
    /// OAuth 1.0a host, e.g. `https://api.x.com` (`/oauth/request_token`,
    /// `/oauth/authorize`, `/oauth/access_token` below it).
    pub auth_url: String,
    /// Ads API host without the version, e.g. `https://ads-api.x.com`.
    pub api_url: String,
    /// The Ads API version, the first path segment (`12`); X serves a
    /// version for about a year after the next one.
    pub api_version: String,
    /// Recent days re-read by the daily sync (billing stays an estimate for
    /// up to 3 days).
    pub restate_days: u32,
}

/// Organic insights of a Meta product (Facebook Pages, Instagram business
/// accounts): the same Graph API, login and app as Meta Ads, with scopes of
/// their own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganicSettings {
    pub enabled: bool,
    /// The Meta app's id and secret; empty takes `platforms.meta`'s (one app
    /// with the Pages and Instagram permissions serves all three).
    pub client_id: String,
    pub client_secret: Secret,
    /// Graph API base without the version, e.g. `https://graph.facebook.com`.
    pub graph_url: String,
    /// Login dialog, e.g. `https://www.facebook.com/v25.0/dialog/oauth`.
    pub dialog_url: String,
    /// Graph API version, `vNN.0`; it decides which insights metrics are
    /// asked for (connectors/src/meta/organic/metrics.rs). Meta serves a
    /// version for about two years.
    pub api_version: String,
    /// Recent days re-read by the daily sync (insights settle within days).
    pub restate_days: u32,
}

impl OrganicSettings {
    /// The app's id and secret: these settings' own, or Meta's when empty.
    pub fn client<'a>(&'a self, meta: &'a MetaSettings) -> (&'a str, &'a Secret) {
        if self.client_id.is_empty() { (&meta.client_id, &meta.client_secret) } else { (&self.client_id, &self.client_secret) }
    }
}
