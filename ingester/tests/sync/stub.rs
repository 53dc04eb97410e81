//! A stub platform for the sync jobs' races with the user and the clock:
//! one account-level row a day, a hook run inside every fetch, on a
//! migrated database of the test's own.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use adhouse_connectors::platform::{Authorization, BoxFuture, Consent};
use adhouse_connectors::store::{LinkedAccount, Store};
use adhouse_connectors::vault::Vault;
use adhouse_connectors::{Account, Credentials, Daily, DailyRow, DateRange, Level, Platform, PlatformId};
use adhouse_core::Settings;
use adhouse_core::schema::Migrator;
use adhouse_ingester::metrics::Metrics;
use adhouse_ingester::sync::Syncer;
use time::{Date, OffsetDateTime};

use super::TENANT;

pub const ACCOUNT: &str = "4242";

/// What the stub does inside each `fetch_daily`, before answering.
pub type Hook = Box<dyn Fn(DateRange) -> BoxFuture<'static, ()> + Send + Sync>;

/// A Google-like platform with one account-level row per day (impressions
/// = `value`), recording every range asked for.
pub struct Stub {
    pub asked: Mutex<Vec<DateRange>>,
    pub value: Mutex<u64>,
    pub hook: Mutex<Option<Hook>>,
    /// Answer every fetch with a revoked grant.
    pub revoked: Mutex<bool>,
}

impl Stub {
    pub fn new() -> Arc<Self> {
        Arc::new(Self { asked: Mutex::new(Vec::new()), value: Mutex::new(1), hook: Mutex::new(None), revoked: Mutex::new(false) })
    }
}

impl Platform for Stub {
    fn id(&self) -> PlatformId {
        PlatformId::Google
    }
    fn authorize<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str) -> BoxFuture<'a, adhouse_connectors::Result<Authorization>> {
        unimplemented!("the stub is linked directly")
    }
    fn exchange_code<'a>(&'a self, _: Consent<'a>) -> BoxFuture<'a, adhouse_connectors::Result<Credentials>> {
        unimplemented!("the stub is linked directly")
    }
    fn discover<'a>(&'a self, _: &'a Credentials) -> BoxFuture<'a, adhouse_connectors::Result<Vec<Account>>> {
        unimplemented!("the stub is linked directly")
    }
    fn levels(&self) -> &'static [Level] {
        &[Level::Account]
    }
    fn fetch_daily<'a>(&'a self, _: &'a Credentials, account: &'a Account, level: Level, range: DateRange) -> BoxFuture<'a, adhouse_connectors::Result<Daily>> {
        Box::pin(async move {
            self.asked.lock().unwrap().push(range);
            let hook = self.hook.lock().unwrap().as_ref().map(|hook| hook(range));
            if let Some(hook) = hook {
                hook.await;
            }
            if *self.revoked.lock().unwrap() {
                return Err(adhouse_connectors::Error::Platform {
                    remote: PlatformId::Google.into(),
                    status: 400,
                    code: "invalid_grant".into(),
                    message: "Token has been expired or revoked.".into(),
                    kind: adhouse_connectors::ErrorKind::Relink,
                    retry_after: None,
                });
            }
            let value = *self.value.lock().unwrap();
            let mut rows = Vec::new();
            let mut day = range.since;
            while day <= range.until {
                rows.push(DailyRow { impressions: value, ..DailyRow::empty(level, account.id.clone(), account.name.clone(), day) });
                day = day.next_day().unwrap();
            }
            Ok(Daily::from(rows))
        })
    }
    fn window_days(&self) -> i64 {
        30
    }
    fn lookback_days(&self) -> i64 {
        1000
    }
}

pub struct StubEnv {
    pub client: clickhouse::Client,
    pub store: Store,
    pub syncer: Syncer,
    /// Linked now, its backfill the `backfill_days` days up to yesterday.
    pub account: LinkedAccount,
    /// The settings' `platforms.google.restate_days`, the syncer's for the stub.
    pub restate_days: u32,
}

impl StubEnv {
    pub async fn new(test: &str, stub: Arc<Stub>, backfill_days: i64) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let mut settings = Settings::load(None).expect("settings");
        settings.clickhouse.database = format!("t_syncstub_{test}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        Migrator::new(&settings).apply().await.expect("migrated (make stack-up, then source .dev/env)");
        let client = adhouse_core::clickhouse::client(&settings.clickhouse);
        let store = Store::new(client.clone());
        let vault = Arc::new(Vault::from_setting(settings.platforms.vault_keys.expose()).expect("vault keys from .dev/env"));
        let target = Account {
            id: ACCOUNT.into(),
            kind: String::new(),
            name: "Shop".into(),
            currency: "USD".into(),
            timezone: "America/Los_Angeles".into(),
            manager_id: String::new(),
            active: true,
        };
        let mut account = LinkedAccount::linked(TENANT, PlatformId::Google, &target, DateRange { since: Date::MIN, until: Date::MIN }, OffsetDateTime::now_utc());
        let yesterday = account.today(jiff::Timestamp::now()).previous_day().unwrap();
        account.backfill_until = yesterday;
        account.backfill_since = yesterday - time::Duration::days(backfill_days - 1);
        store.put_account(&mut account).await.unwrap();
        store.put_credentials(&vault, &account, &Credentials::bearer("at".into(), "rt".into(), 0)).await.unwrap();
        let platforms = [(PlatformId::Google, stub as Arc<dyn Platform>)].into();
        let syncer = Syncer::new(store.clone(), vault, platforms, &settings.platforms, vec![Level::Account], Arc::new(Metrics::new()));
        Self { client, store, syncer, account, restate_days: settings.platforms.google.restate_days }
    }

    /// Rows and checkpoints stored for the account.
    pub async fn stored(&self) -> (u64, u64) {
        let count = |table: &str| {
            let sql = format!("SELECT count() FROM {table} WHERE tenant = ? AND platform = 'google' AND account_id = ?");
            self.client.query(&sql).bind(TENANT).bind(ACCOUNT).fetch_one::<u64>()
        };
        (count("platform_daily").await.unwrap(), count("platform_sync_days").await.unwrap())
    }
}
