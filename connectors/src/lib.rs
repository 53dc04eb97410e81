//! Ad-platform connectors (Meta Ads, Google Ads, Yahoo! JAPAN Ads, X Ads, and
//! the organic insights of Facebook Pages and Instagram): one module per platform behind the narrow
//! [`Platform`] trait (discover accounts, fetch daily rows, refresh
//! credentials), a shared rate-limited HTTP layer (`http`), OAuth helpers
//! (`oauth`; OAuth 1.0a signing: `oauth1`), the token vault (`vault`), the checks of `platforms.*`
//! (`settings`), and the live-metrics feeds of
//! partners' reporting APIs (`partners`), on the same HTTP layer. Every platform response is parsed
//! into typed structs at the edge; callers see [`model`] types only.

pub mod error;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod google;
pub mod http;
pub mod job;
pub mod meta;
pub mod model;
pub mod oauth;
pub mod oauth1;
pub mod partners;
pub mod platform;
pub mod poll;
pub mod settings;
pub mod store;
pub mod vault;
pub mod x;
pub mod yahoo;

pub use error::{Error, ErrorKind, Result};
pub use job::SyncJob;
pub use model::{Account, Credentials, Daily, DailyRow, DateRange, Level, OrganicMeasures, PlatformId, local_today};
pub use platform::Platform;

use std::collections::BTreeMap;
use std::sync::Arc;

use adhouse_core::settings::PlatformsSettings;

/// The enabled platforms, each a client on the shared `http` layer.
pub fn registry(settings: &PlatformsSettings, http: &http::Http) -> BTreeMap<PlatformId, Arc<dyn Platform>> {
    let mut platforms: BTreeMap<PlatformId, Arc<dyn Platform>> = BTreeMap::new();
    if settings.meta.enabled {
        platforms.insert(PlatformId::Meta, Arc::new(meta::Meta::new(&settings.meta, http.clone())));
    }
    if settings.google.enabled {
        platforms.insert(PlatformId::Google, Arc::new(google::Google::new(&settings.google, http.clone())));
    }
    if settings.yahoo.enabled {
        platforms.insert(PlatformId::Yahoo, Arc::new(yahoo::Yahoo::new(&settings.yahoo, http.clone())));
    }
    if settings.x.enabled {
        platforms.insert(PlatformId::X, Arc::new(x::X::new(&settings.x, http.clone())));
    }
    for (id, product, organic) in [
        (PlatformId::Facebook, meta::organic::metrics::Product::Pages, &settings.facebook),
        (PlatformId::Instagram, meta::organic::metrics::Product::Instagram, &settings.instagram),
    ] {
        if organic.enabled {
            platforms.insert(id, Arc::new(meta::organic::Organic::new(product, organic, &settings.meta, http.clone())));
        }
    }
    platforms
}
