//! What the handlers share, built once from the settings. The token store
//! and the metrics are also registered as app data of their own, so that the
//! extractor and the middleware that need them ask for them alone.

use std::path::PathBuf;
use std::time::Duration;

use actix_web::web;
use adhouse_connectors::partners::store::PartnerStore;
use adhouse_connectors::store::Store;
use adhouse_core::Settings;
use adhouse_core::settings::ApiSettings;

use crate::accounts::Linking;

use crate::auth::TokenStore;
use crate::db::Db;
use crate::query::Limits;
use crate::rollups::Tables;
use crate::metrics::Metrics;

pub struct AppState {
    pub db: Db,
    pub tokens: web::Data<TokenStore>,
    pub tables: Tables,
    pub limits: Limits,
    pub metrics: web::Data<Metrics>,
    pub static_dir: PathBuf,
    pub max_body_bytes: usize,
    /// Linked ad accounts, listed even when no platform is enabled (any more).
    pub accounts: Store,
    /// `None` while no ad platform is enabled: nothing can be linked.
    pub linking: Option<Linking>,
    /// The API's settings (the currency of each tenant's log money among them).
    pub api: ApiSettings,
    /// Health of the live-metrics feeds (`partner_feed_status`).
    pub feeds: PartnerStore,
}

impl AppState {
    /// Reads the tables' TTLs from ClickHouse (`Tables::read`), so it
    /// fails when ClickHouse cannot be asked.
    pub async fn new(settings: &Settings) -> clickhouse::error::Result<Self> {
        let client = adhouse_core::clickhouse::client(&settings.clickhouse);
        let api = &settings.api;
        let tables = Tables::read(&settings.schema, &client).await?;
        Ok(Self {
            db: Db::new(client.clone(), api.max_execution_secs),
            accounts: Store::new(client.clone()),
            feeds: PartnerStore::new(client.clone()),
            linking: None,
            tokens: web::Data::new(TokenStore::new(client, Duration::from_secs(api.token_cache_secs))),
            tables,
            limits: Limits { max_rows: api.max_rows },
            metrics: web::Data::new(Metrics::default()),
            static_dir: api.static_dir.clone(),
            max_body_bytes: api.max_body_bytes,
            api: api.clone(),
        })
    }

    /// The state with account linking (`Linking::from_settings`).
    pub fn with_linking(mut self, linking: Option<Linking>) -> Self {
        self.linking = linking;
        self
    }
}
