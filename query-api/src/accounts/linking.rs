//! What linking needs, built and validated once at start-up from
//! `platforms.*`: the enabled platform clients, the token vault, the state
//! signer, the accounts store and the sync queue.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::oauth::StateSigner;
use adhouse_connectors::store::Store;
use adhouse_connectors::vault::Vault;
use adhouse_connectors::{Platform, PlatformId};
use adhouse_core::Settings;
use adhouse_core::settings::PlatformsSettings;
use aws_lc_rs::hmac;

use super::sync_queue::SyncQueue;

/// Tries of one platform request that fails in a retryable way (the code
/// exchange and account discovery run while the user waits on the callback).
const PLATFORM_ATTEMPTS: u32 = 3;

/// The shortest `platforms.state_secret` accepted: a floor against an
/// accidental placeholder, not a strength check (use 32+ random bytes).
const MIN_STATE_SECRET_BYTES: usize = 16;

pub struct Linking {
    platforms: BTreeMap<PlatformId, Arc<dyn Platform>>,
    pub vault: Vault,
    pub signer: StateSigner,
    /// Derives each flow's PKCE verifier from its state's nonce (`flow`).
    pub(super) pkce_key: hmac::Key,
    pub store: Store,
    pub queue: SyncQueue,
    public_url: String,
    pub backfill_days: u32,
}

impl Linking {
    /// `None` when no platform is enabled (the account routes then offer
    /// none); otherwise every setting linking needs, checked, or an error
    /// naming the key.
    pub async fn from_settings(settings: &Settings) -> adhouse_core::Result<Option<Self>> {
        let platforms = &settings.platforms;
        let Some(vault) = check(platforms)? else {
            return Ok(None);
        };
        let http = Http::new(Duration::from_secs(u64::from(platforms.request_timeout_secs)), PLATFORM_ATTEMPTS, Pacer::default());
        let sqs = aws_sdk_sqs::Client::new(&aws_config::load_from_env().await);
        let secret = platforms.state_secret.expose().as_bytes();
        Ok(Some(Self {
            platforms: adhouse_connectors::registry(platforms, &http),
            vault,
            signer: StateSigner::new(secret),
            pkce_key: pkce_key(secret),
            store: Store::new(adhouse_core::clickhouse::client(&settings.clickhouse)),
            queue: SyncQueue::new(sqs, platforms.sync_queue_url.clone()),
            public_url: platforms.public_url.trim_end_matches('/').to_owned(),
            backfill_days: platforms.backfill_days,
        }))
    }

    /// The client of an enabled platform.
    pub fn platform(&self, id: PlatformId) -> Option<&Arc<dyn Platform>> {
        self.platforms.get(&id)
    }

    /// The names of the enabled platforms, for the dashboard's picker and
    /// the `choices` of an error.
    pub fn enabled(&self) -> Vec<&'static str> {
        self.platforms.keys().map(|id| id.as_str()).collect()
    }

    /// Where the platform sends the user back: register exactly this URI.
    pub fn redirect_uri(&self, platform: PlatformId) -> String {
        format!("{}/oauth/callback/{platform}", self.public_url)
    }
}

/// Every check of `platforms.*` that linking makes before it builds
/// anything (`adhouse-api check-config` runs it too): those the ingester
/// shares (`adhouse_connectors::settings::check`), then the API's own.
/// `None` when no platform is enabled, else the opened token vault.
pub fn check(platforms: &PlatformsSettings) -> adhouse_core::Result<Option<Vault>> {
    let Some(vault) = adhouse_connectors::settings::check(platforms)? else {
        return Ok(None);
    };
    validate(platforms)?;
    Ok(Some(vault))
}

/// The PKCE key is the state secret under its own label, so that no PKCE
/// verifier is ever a valid state signature or the other way round.
fn pkce_key(secret: &[u8]) -> hmac::Key {
    let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), b"adhouse pkce verifier v1");
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

fn config(message: impl Into<String>) -> adhouse_core::Error {
    adhouse_core::Error::Config(message.into())
}

/// What the API's half of linking needs beyond the shared checks: where
/// platforms send users back, and the key that signs the OAuth state.
fn validate(platforms: &PlatformsSettings) -> adhouse_core::Result<()> {
    let url = &platforms.public_url;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(config(format!(
            "platforms.public_url {url:?} must start with http:// or https://: platforms send users back to <public_url>/oauth/callback/<platform>"
        )));
    }
    if platforms.state_secret.expose().len() < MIN_STATE_SECRET_BYTES {
        return Err(config(format!(
            "platforms.state_secret is shorter than {MIN_STATE_SECRET_BYTES} characters; set it to a long random string (e.g. `openssl rand -base64 48`)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use adhouse_core::settings::Secret;

    use super::*;

    fn enabled() -> PlatformsSettings {
        adhouse_connectors::settings::meta_enabled_example()
    }

    #[test]
    fn the_api_names_its_own_settings_when_a_platform_is_enabled() {
        assert!(check(&enabled()).expect("valid").is_some());
        type Break = fn(&mut PlatformsSettings);
        let cases: [(&str, Break); 3] = [
            ("platforms.state_secret", |p| p.state_secret = Secret::new("short")),
            ("platforms.public_url", |p| p.public_url = "adhouse.example".into()),
            // The shared checks come first.
            ("platforms.sync_queue_url", |p| p.sync_queue_url.clear()),
        ];
        for (key, break_it) in cases {
            let mut platforms = enabled();
            break_it(&mut platforms);
            let err = check(&platforms).err().expect(key).to_string();
            assert!(err.contains(key), "{err}");
            assert!(!err.contains("app secret") && !err.contains(&"s".repeat(40)), "no secret in {err}");
        }
    }

    #[tokio::test]
    async fn nothing_is_required_while_no_platform_is_enabled() {
        let mut settings = Settings::load(None).expect("defaults load");
        settings.platforms.meta.enabled = false;
        settings.platforms.google.enabled = false;
        settings.platforms.yahoo.enabled = false;
        settings.platforms.x.enabled = false;
        settings.platforms.facebook.enabled = false;
        settings.platforms.instagram.enabled = false;
        settings.platforms.vault_keys = Secret::default();
        assert!(Linking::from_settings(&settings).await.expect("no platform, no checks").is_none());
    }
}
