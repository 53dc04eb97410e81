//! The checks of `platforms.*` that every service syncing or linking
//! accounts makes before it builds anything: the API (with its own on top)
//! and the ingester, both at `check-config` and at start-up. Errors name the
//! key and say what to set; they never include a secret.

use adhouse_core::Error;
use adhouse_core::settings::PlatformsSettings;

use crate::vault::Vault;

fn config(message: impl Into<String>) -> Error {
    Error::Config(message.into())
}

/// `None` when no platform is enabled (nothing is required then), else the
/// opened token vault.
pub fn check(platforms: &PlatformsSettings) -> adhouse_core::Result<Option<Vault>> {
    if !platforms.apps().iter().any(|app| app.enabled) {
        return Ok(None);
    }
    validate(platforms)?;
    let vault = Vault::from_setting(platforms.vault_keys.expose()).map_err(|err| match err {
        crate::Error::Vault(message) if message.starts_with("platforms.vault_keys") => config(message),
        other => config(format!("platforms.vault_keys: {other}")),
    })?;
    Ok(Some(vault))
}

/// What syncing needs beyond what serde already checked, key by key.
fn validate(platforms: &PlatformsSettings) -> adhouse_core::Result<()> {
    if platforms.vault_keys.expose().trim().is_empty() {
        return Err(config("platforms.vault_keys is empty; set it to id:base64-of-32-random-bytes (e.g. k1:$(openssl rand -base64 32))"));
    }
    if platforms.sync_queue_url.is_empty() {
        return Err(config("platforms.sync_queue_url is empty; linked accounts are backfilled through that SQS queue"));
    }
    if platforms.backfill_days == 0 {
        return Err(config("platforms.backfill_days must be at least 1"));
    }
    if platforms.request_timeout_secs == 0 {
        return Err(config("platforms.request_timeout_secs must be at least 1"));
    }
    for app in platforms.apps().into_iter().filter(|app| app.enabled) {
        let name = app.name;
        if app.client_id.is_empty() {
            return Err(config(format!("platforms.{name}.{} is empty, yet platforms.{name}.enabled is true", app.client_id_key)));
        }
        if app.client_secret.expose().is_empty() {
            return Err(config(format!("platforms.{name}.{} is empty, yet platforms.{name}.enabled is true", app.client_secret_key)));
        }
        if app.restate_days == 0 {
            return Err(config(format!(
                "platforms.{name}.restate_days must be at least 1: no platform's numbers of a day are final when it ends, so the days after it are read again"
            )));
        }
    }
    let version = &platforms.yahoo.api_version;
    if platforms.yahoo.enabled && !(version.len() > 1 && version.starts_with('v') && version[1..].bytes().all(|b| b.is_ascii_digit())) {
        return Err(config(format!("platforms.yahoo.api_version {version:?} must look like v18 (the path segment of the Ads APIs)")));
    }
    let version = &platforms.x.api_version;
    if platforms.x.enabled && (version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit())) {
        return Err(config(format!("platforms.x.api_version {version:?} must be digits like 12 (the first path segment of the Ads API)")));
    }
    let google = &platforms.google;
    let first = crate::google::FIRST_API_VERSION;
    if google.enabled && crate::google::api_version(&google.api_url).is_none_or(|version| version < first) {
        return Err(config(format!(
            "platforms.google.api_url {:?} must end in the API version, v{first} or later (e.g. https://googleads.googleapis.com/v26): the report query names fields older versions lack",
            google.api_url
        )));
    }
    for (name, organic) in [("facebook", &platforms.facebook), ("instagram", &platforms.instagram)] {
        if organic.enabled && crate::meta::organic::metrics::major(&organic.api_version).is_none() {
            return Err(config(format!("platforms.{name}.api_version {:?} must look like v25.0 (a Graph API version)", organic.api_version)));
        }
    }
    Ok(())
}

/// For tests: the defaults with Meta enabled and placeholders (client
/// secret "app secret", state secret 40 times "s") that pass every check.
#[cfg(any(test, feature = "fakes"))]
pub fn meta_enabled_example() -> PlatformsSettings {
    use adhouse_core::settings::Secret;

    let mut platforms = adhouse_core::Settings::load(None).expect("defaults load").platforms;
    platforms.meta.enabled = true;
    platforms.meta.client_id = "app".into();
    platforms.meta.client_secret = Secret::new("app secret");
    platforms.state_secret = Secret::new("s".repeat(40));
    platforms.vault_keys = Secret::new("k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    platforms.sync_queue_url = "http://127.0.0.1:1/000000000000/sync".into();
    platforms
}

#[cfg(test)]
mod tests {
    use adhouse_core::settings::Secret;

    use super::*;

    fn enabled() -> PlatformsSettings {
        meta_enabled_example()
    }

    #[test]
    fn each_missing_setting_is_named_when_a_platform_is_enabled() {
        assert!(check(&enabled()).expect("valid").is_some());
        type Break = fn(&mut PlatformsSettings);
        let cases: [(&str, Break); 11] = [
            ("platforms.vault_keys is empty", |p| p.vault_keys = Secret::new(" ")),
            ("platforms.vault_keys", |p| p.vault_keys = Secret::new("k1:c2hvcnQ=")),
            ("platforms.sync_queue_url", |p| p.sync_queue_url.clear()),
            ("platforms.meta.client_id", |p| p.meta.client_id.clear()),
            ("platforms.backfill_days", |p| p.backfill_days = 0),
            ("platforms.yahoo.api_version", |p| {
                p.yahoo.enabled = true;
                p.yahoo.client_id = "y".into();
                p.yahoo.client_secret = Secret::new("app secret");
                p.yahoo.api_version = "18".into();
            }),
            ("platforms.x.consumer_secret", |p| {
                p.x.enabled = true;
                p.x.consumer_key = "k".into();
                p.x.consumer_secret = Secret::default();
            }),
            ("platforms.x.api_version", |p| {
                p.x.enabled = true;
                p.x.consumer_key = "k".into();
                p.x.consumer_secret = Secret::new("app secret");
                p.x.api_version = "v12".into();
            }),
            ("platforms.google.api_url", |p| {
                p.google.enabled = true;
                p.google.client_id = "g".into();
                p.google.client_secret = Secret::new("app secret");
                p.google.api_url = "https://googleads.googleapis.com/v21".into();
            }),
            ("platforms.google.api_url", |p| {
                p.google.enabled = true;
                p.google.client_id = "g".into();
                p.google.client_secret = Secret::new("app secret");
                p.google.api_url = "https://googleads.googleapis.com".into();
            }),
            ("platforms.instagram.api_version", |p| {
                p.instagram.enabled = true;
                p.instagram.api_version = "25".into();
            }),
        ];
        for (key, break_it) in cases {
            let mut platforms = enabled();
            break_it(&mut platforms);
            let err = check(&platforms).err().expect(key).to_string();
            assert!(err.contains(key), "{err}");
            assert!(!err.contains("app secret") && !err.contains("AAAAAAAA"), "no secret in {err}");
        }
    }

    #[test]
    fn nothing_is_required_while_no_platform_is_enabled() {
        let mut platforms = enabled();
        platforms.meta.enabled = false;
        for app in [&mut platforms.google.enabled, &mut platforms.yahoo.enabled, &mut platforms.x.enabled, &mut platforms.facebook.enabled, &mut platforms.instagram.enabled] {
            *app = false;
        }
        platforms.vault_keys = Secret::default();
        platforms.sync_queue_url.clear();
        assert!(check(&platforms).expect("no platform, no checks").is_none());
    }

    /// With no day re-read, a day's first fetch after its end (its numbers
    /// still arriving) would count as final.
    #[test]
    fn a_restatement_window_of_zero_days_is_refused_naming_the_key() {
        let mut platforms = enabled();
        platforms.meta.restate_days = 0;
        let err = check(&platforms).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("platforms.meta.restate_days")), "restate_days = 0 accepted");
    }
}
