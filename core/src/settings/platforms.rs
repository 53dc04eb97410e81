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
    /// Google Ads API base with its version, e.g. `https://googleads.googleapis.com/v26`.
    pub api_url: String,
    /// Recent days re-read by the daily sync (conversions lag).
    pub restate_days: u32,
}
