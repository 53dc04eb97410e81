//! Platform sync jobs end to end: the Meta Ads, Google Ads, Yahoo! JAPAN Ads, X Ads and organic (Facebook Pages, Instagram) fakes of the local stack
//! (`make stack-up`, `.dev/env` sourced), a database of this test's own, and
//! the stored rows compared with the fake's oracle exactly; and a stub
//! platform for the jobs' races with the user (`account_changes`) and the
//! clock (`days_in_progress`); restatements that take an entity's day to
//! nothing (`whole_days`).

mod account_changes;
mod days_in_progress;
mod stub;
mod whole_days;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use adhouse_connectors::google::Google;
use adhouse_connectors::meta::Meta;
use adhouse_connectors::x::X;
use adhouse_connectors::meta::organic::Organic;
use adhouse_connectors::meta::organic::metrics::Product;
use adhouse_connectors::yahoo::Yahoo;
use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::platform::Consent;
use adhouse_connectors::oauth::pkce_pair;
use adhouse_connectors::store::{AccountStatus, LinkedAccount, Store};
use adhouse_connectors::vault::Vault;
use adhouse_connectors::fakes;
use adhouse_connectors::{Account, Credentials, DailyRow, DateRange, Level, OrganicMeasures, Platform, PlatformId};
use adhouse_core::Settings;
use adhouse_core::schema::Migrator;
use adhouse_ingester::metrics::Metrics;
use adhouse_ingester::sync::{JobOutcome, SyncJob, Syncer, schedule};
use clickhouse::Client;
use serde::Deserialize;
use time::{Date, OffsetDateTime};
use tokio_util::sync::CancellationToken;

const REDIRECT: &str = "http://127.0.0.1:8080/oauth/callback/google";
const REDIRECT_YAHOO: &str = "http://127.0.0.1:8080/oauth/callback/yahoo";
const REDIRECT_X: &str = "http://127.0.0.1:8080/oauth/callback/x";
const TENANT: &str = "acme";

struct Stack {
    settings: Settings,
    clickhouse: Client,
    store: Store,
    vault: Arc<Vault>,
    google: Arc<Google>,
    meta: Arc<Meta>,
    yahoo: Arc<Yahoo>,
    x: Arc<X>,
    /// What the HTTP layer and the syncer reported.
    metrics: Arc<Metrics>,
    facebook: Arc<Organic>,
    instagram: Arc<Organic>,
    http: Http,
}

impl Stack {
    /// A migrated database of its own; platform settings from `.dev/env`.
    async fn new(test: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let mut settings = Settings::load(None).expect("settings");
        settings.clickhouse.database = format!("t_sync_{test}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        Migrator::new(&settings).apply().await.expect("migrated (make stack-up, then source .dev/env)");
        let clickhouse = adhouse_core::clickhouse::client(&settings.clickhouse);
        let vault = Arc::new(Vault::from_setting(settings.platforms.vault_keys.expose()).expect("ADHOUSE__PLATFORMS__VAULT_KEYS from .dev/env"));
        let metrics = Arc::new(Metrics::new());
        let http = Http::new(Duration::from_secs(30), 5, Pacer::default())
            .with_first_backoff(Duration::from_millis(50))
            .with_observer(metrics.clone());
        let google = Arc::new(Google::new(&settings.platforms.google, http.clone()));
        let meta = Arc::new(Meta::new(&settings.platforms.meta, http.clone()));
        let yahoo = Arc::new(Yahoo::new(&settings.platforms.yahoo, http.clone()));
        let x = Arc::new(X::new(&settings.platforms.x, http.clone()));
        let p = &settings.platforms;
        let facebook = Arc::new(Organic::new(Product::Pages, &p.facebook, &p.meta, http.clone()));
        let instagram = Arc::new(Organic::new(Product::Instagram, &p.instagram, &p.meta, http.clone()));
        Self { store: Store::new(clickhouse.clone()), settings, clickhouse, vault, google, meta, yahoo, x, metrics, facebook, instagram, http }
    }

    fn syncer(&self) -> Syncer {
        self.syncer_with(self.instagram.clone())
    }

    /// Every platform, with `instagram` as the Instagram client.
    fn syncer_with(&self, instagram: Arc<Organic>) -> Syncer {
        let platforms = [
            (PlatformId::Google, self.google.clone() as Arc<dyn Platform>),
            (PlatformId::Meta, self.meta.clone() as Arc<dyn Platform>),
            (PlatformId::Yahoo, self.yahoo.clone() as Arc<dyn Platform>),
            (PlatformId::X, self.x.clone() as Arc<dyn Platform>),
            (PlatformId::Facebook, self.facebook.clone() as Arc<dyn Platform>),
            (PlatformId::Instagram, instagram as Arc<dyn Platform>),
        ]
        .into();
        Syncer::new(self.store.clone(), self.vault.clone(), platforms, &self.settings.platforms, Level::ALL.to_vec(), self.metrics.clone())
    }

    /// The value of one series of the metrics' text exposition (0 when absent).
    fn metric(&self, series: &str) -> f64 {
        let text = self.metrics.encode();
        text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok()).unwrap_or(0.0)
    }

    /// Meta's login dialog for `platform`, "Allow" as `user`, and the code exchanged.
    async fn grant_meta(&self, platform: &dyn Platform, user: &str) -> Credentials {
        let redirect = format!("http://127.0.0.1:8080/oauth/callback/{}", platform.id());
        let authorization = platform.authorize(&redirect, "s", "").await.expect("a consent URL");
        let code = fakes::code_of(&fakes::consent(&authorization.url, user, "allow").await);
        platform.exchange_code(Consent { redirect_uri: &redirect, code: &code, code_verifier: "", temporary: None }).await.expect("the code exchanges")
    }

    /// The consent page, "Allow" as `user`, and the code exchanged.
    async fn grant(&self, user: &str) -> Credentials {
        let (verifier, challenge) = pkce_pair();
        let url = url::Url::parse(&self.google.authorize(REDIRECT, "s", &challenge).await.expect("a consent URL").url).unwrap();
        let code = fakes::code_of(&fakes::consent(url.as_str(), user, "allow").await);
        self.google.exchange_code(Consent { redirect_uri: REDIRECT, code: &code, code_verifier: &verifier, temporary: None }).await.expect("the code exchanges")
    }

    /// Yahoo!'s Business ID consent page, "Allow" as `user`, and the code exchanged.
    async fn grant_yahoo(&self, user: &str) -> Credentials {
        let url = url::Url::parse(&self.yahoo.authorize(REDIRECT_YAHOO, "s", "").await.expect("a consent URL").url).unwrap();
        let code = fakes::code_of(&fakes::consent(url.as_str(), user, "allow").await);
        self.yahoo.exchange_code(Consent { redirect_uri: REDIRECT_YAHOO, code: &code, code_verifier: "", temporary: None }).await.expect("the code exchanges")
    }

    /// X's OAuth 1.0a: a request token, its consent page, "Authorize app"
    /// as `user`, and the verifier exchanged.
    async fn grant_x(&self, user: &str) -> Credentials {
        let authorization = self.x.authorize(REDIRECT_X, "s", "").await.expect("a request token");
        let temporary = authorization.temporary.expect("the request token secret");
        let form = [("oauth_token", temporary.access_token.as_str()), ("user", user), ("decision", "allow")];
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let answer = browser.post(format!("{}/x/api/oauth/consent", fake())).form(&form).send().await.unwrap();
        let callback = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let verifier = callback.query_pairs().find(|(k, _)| k == "oauth_verifier").unwrap().1.into_owned();
        let consent = Consent { redirect_uri: REDIRECT_X, code: &verifier, code_verifier: "", temporary: Some(&temporary) };
        self.x.exchange_code(consent).await.expect("the verifier exchanges")
    }

    /// Links `id` of what `credentials` can see on Google, with a backfill of `days` up to yesterday.
    async fn link(&self, credentials: &Credentials, id: &str, days: i64) -> LinkedAccount {
        self.link_on(self.google.as_ref(), credentials, id, days).await
    }

    /// Links `id` of what `credentials` can see on `platform`.
    async fn link_on(&self, platform: &dyn Platform, credentials: &Credentials, id: &str, days: i64) -> LinkedAccount {
        let accounts: Vec<Account> = platform.discover(credentials).await.unwrap();
        let account = accounts.into_iter().find(|a| a.id == id).expect("discovered");
        let mut linked = LinkedAccount::linked(TENANT, platform.id(), &account, DateRange { since: Date::MIN, until: Date::MIN }, OffsetDateTime::now_utc());
        let yesterday = linked.today(jiff::Timestamp::now()).previous_day().unwrap();
        linked.backfill_until = yesterday;
        linked.backfill_since = yesterday - time::Duration::days(days - 1);
        self.store.put_account(&mut linked).await.unwrap();
        // What the API stores on link: the account's own credentials where the platform issues them.
        let target = linked.account();
        let stored = platform.account_credentials(credentials, &target).await.unwrap();
        self.store.put_credentials(&self.vault, &linked, &stored).await.unwrap();
        linked
    }

    /// What `platform_daily` holds for `account` at `level` in its backfill
    /// range, latest versions only, as the oracle has it.
    async fn stored(&self, account: &LinkedAccount, level: Level) -> Vec<DailyRow> {
        let sql = "SELECT entity_id, entity_name, date, impressions, clicks, spend_micros, conversions_micros, \
                   conversion_value_micros, reach, video_views, followers, follows, profile_views, engagements FROM platform_daily FINAL \
                   WHERE tenant = ? AND platform = ? AND account_id = ? AND level = ? AND date BETWEEN ? AND ? \
                   ORDER BY entity_id, date";
        let query = self.clickhouse.query(sql).bind(TENANT).bind(&account.platform).bind(&account.account_id).bind(level.as_str());
        let query = query.bind(account.backfill_since.to_string()).bind(account.backfill_until.to_string());
        let rows: Vec<Row> = query.fetch_all().await.unwrap();
        fakes::comparable(rows.into_iter().map(|row| row.unified(level)).collect())
    }
}

/// A `platform_daily` row as read back.
#[derive(Debug, Deserialize, clickhouse::Row)]
struct Row {
    entity_id: String,
    entity_name: String,
    #[serde(with = "clickhouse::serde::time::date")]
    date: Date,
    impressions: u64,
    clicks: u64,
    spend_micros: i64,
    conversions_micros: i64,
    conversion_value_micros: i64,
    reach: u64,
    video_views: u64,
    followers: Option<u64>,
    follows: u64,
    profile_views: u64,
    engagements: u64,
}

impl Row {
    fn unified(self, level: Level) -> DailyRow {
        DailyRow {
            level,
            entity_id: self.entity_id,
            entity_name: self.entity_name,
            date: self.date,
            impressions: self.impressions,
            clicks: self.clicks,
            spend_micros: self.spend_micros,
            conversions_micros: self.conversions_micros,
            conversion_value_micros: self.conversion_value_micros,
            reach: self.reach,
            video_views: self.video_views,
            organic: OrganicMeasures { followers: self.followers, follows: self.follows, profile_views: self.profile_views, engagements: self.engagements },
            extra: Default::default(),
        }
    }
}

fn fake() -> String {
    std::env::var("ADHOUSE_DEV_PLATFORMS_URL").expect("ADHOUSE_DEV_PLATFORMS_URL: source .dev/env after `make stack-up`")
}

/// The fake's own answer for `account` at `level` over its backfill range.
async fn oracle(account: &LinkedAccount, level: Level) -> Vec<DailyRow> {
    let range = DateRange { since: account.backfill_since, until: account.backfill_until };
    fakes::oracle(&fake(), account.platform_id().expect("a known platform"), &account.account_id, level, range).await
}

async fn control(name: &str, params: &[(&str, &str)]) {
    control_on(PlatformId::Google, name, params).await
}

async fn control_on(platform: PlatformId, name: &str, params: &[(&str, &str)]) {
    let answer = reqwest::Client::new().post(format!("{}/_fake/{platform}/{name}", fake())).query(params).send().await.unwrap();
    assert!(answer.status().is_success(), "control {name}");
}

fn backfill(account: &LinkedAccount) -> SyncJob {
    SyncJob {
        tenant: account.tenant.clone(),
        platform: account.platform_id().expect("a known platform"),
        account_id: account.account_id.clone(),
        since: account.backfill_since,
        until: account.backfill_until,
        refetch_from: account.backfill_until.next_day().unwrap(),
    }
}

async fn assert_equals_oracle(stack: &Stack, account: &LinkedAccount) {
    for level in Level::ALL {
        let (stored, expected) = (stack.stored(account, level).await, oracle(account, level).await);
        assert!(!expected.is_empty(), "the fake has data at {level:?}");
        assert_eq!(stored, expected, "{} at {level:?}", account.account_id);
    }
}

#[tokio::test]
async fn a_365_day_backfill_delivered_twice_equals_the_oracle_and_a_restatement_replaces_values() {
    let stack = Stack::new("backfill").await;
    let credentials = stack.grant("demo").await;
    let account = stack.link(&credentials, "1111111111", 365).await;
    let syncer = stack.syncer();
    let stop = CancellationToken::new();

    // The same job twice at once (SQS delivers at least once), then again.
    let job = backfill(&account);
    let (a, b) = tokio::join!(syncer.run(&job, &stop), syncer.run(&job, &stop));
    for outcome in [a.unwrap(), b.unwrap()] {
        assert!(matches!(outcome, JobOutcome::Done { .. }), "{outcome:?}");
    }
    assert_equals_oracle(&stack, &account).await;
    // Every day is checkpointed now: a third delivery fetches only the days
    // fetched before their numbers were final (the last restate_days), in one
    // window per level.
    let JobOutcome::Done { calls, .. } = syncer.run(&job, &stop).await.unwrap() else { panic!("third delivery") };
    assert_eq!(calls, Level::ALL.len() as u64);

    // The platform restates its last 14 days; the daily job re-reads them
    // and every reader sees only the new values, with no extra rows.
    let before = oracle(&account, Level::Campaign).await;
    control("restate", &[("customer", &account.account_id)]).await;
    assert_ne!(oracle(&account, Level::Campaign).await, before, "the fake restated some days");
    let today = account.today(jiff::Timestamp::now());
    let mut daily = schedule::daily_job(&account, PlatformId::Google, stack.settings.platforms.google.restate_days, today);
    daily.until = account.backfill_until; // the oracle's range
    let JobOutcome::Done { rows, .. } = syncer.run(&daily, &stop).await.unwrap() else { panic!("daily job") };
    assert!(rows > 0, "recent days were fetched again");
    assert_equals_oracle(&stack, &account).await;
    let stored = stack.store.account(TENANT, "google", &account.account_id).await.unwrap().unwrap();
    assert!(stored.last_sync_at.is_some() && stored.last_error.is_empty(), "{stored:?}");
}

#[tokio::test]
async fn a_revoked_grant_marks_only_its_account_needs_relink_and_the_other_keeps_syncing() {
    let stack = Stack::new("revoked").await;
    let (first, second) = (stack.grant("demo").await, stack.grant("demo").await);
    let revoked = stack.link(&first, "2222222222", 30).await;
    let healthy = stack.link(&second, "3333333333", 30).await;
    control("revoke", &[("refresh_token", &first.refresh_token)]).await;
    control("expire", &[("refresh_token", &first.refresh_token)]).await;

    let syncer = stack.syncer();
    let stop = CancellationToken::new();
    let outcome = syncer.run(&backfill(&revoked), &stop).await.unwrap();
    assert!(matches!(outcome, JobOutcome::NeedsRelink(_)), "{outcome:?}");
    let stored = stack.store.account(TENANT, "google", &revoked.account_id).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::NeedsRelink);
    assert!(!stored.status_detail.is_empty() && !stored.status_detail.contains(&first.refresh_token), "{stored:?}");
    // Syncing it again does nothing (no crash, no calls) until it is linked again.
    assert_eq!(syncer.run(&backfill(&revoked), &stop).await.unwrap(), JobOutcome::Skipped("not active"));

    assert!(matches!(syncer.run(&backfill(&healthy), &stop).await.unwrap(), JobOutcome::Done { .. }));
    assert_equals_oracle(&stack, &healthy).await;
    assert!(stack.stored(&revoked, Level::Account).await.is_empty());
}

/// An ingester whose configuration lacks a platform the API linked skips
/// its jobs, and says so on the account rather than dropping them silently.
#[tokio::test]
async fn a_job_for_a_platform_this_ingester_lacks_is_said_on_the_account() {
    let stack = Stack::new("not_enabled").await;
    let account = stack.link(&stack.grant("demo").await, "2222222222", 30).await;
    let without_google = [(PlatformId::Yahoo, stack.yahoo.clone() as Arc<dyn Platform>)].into();
    let syncer = Syncer::new(stack.store.clone(), stack.vault.clone(), without_google, &stack.settings.platforms, Level::ALL.to_vec(), stack.metrics.clone());
    let outcome = syncer.run(&backfill(&account), &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, JobOutcome::Skipped("platform not enabled"));
    let stored = stack.store.account(TENANT, "google", &account.account_id).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::Active);
    assert!(stored.last_error.contains("no platforms.google settings"), "{stored:?}");
    assert!(stack.stored(&account, Level::Account).await.is_empty());
}

#[tokio::test]
async fn a_google_stream_cut_by_an_error_checkpoints_nothing_and_is_fetched_again_in_full() {
    let stack = Stack::new("cut").await;
    let credentials = stack.grant("demo").await;
    let account = stack.link(&credentials, "3333333333", 30).await;
    let syncer = stack.syncer();
    let stop = CancellationToken::new();

    // Each of the job's 5 attempts gets one row, then TRANSIENT_ERROR after the HTTP 200.
    control("cut", &[("refresh_token", &credentials.refresh_token), ("calls", "6"), ("rows", "1")]).await;
    let failed = syncer.run(&backfill(&account), &stop).await.unwrap_err();
    assert_eq!(failed.kind(), adhouse_ingester::error::ErrorKind::Retryable, "{failed}");
    assert!(failed.to_string().contains("internalError.TRANSIENT_ERROR"), "{failed}");
    let sql = "SELECT count() FROM platform_sync_days WHERE account_id = ?";
    let checkpoints: u64 = stack.clickhouse.query(sql).bind(&account.account_id).fetch_one().await.unwrap();
    assert_eq!(checkpoints, 0, "no day of a cut window counts as done");
    for level in Level::ALL {
        assert!(stack.stored(&account, level).await.is_empty(), "no partial rows at {level:?}");
    }

    // The redelivered job: its first call is cut too and retried, then every row.
    assert!(matches!(syncer.run(&backfill(&account), &stop).await.unwrap(), JobOutcome::Done { .. }));
    assert_equals_oracle(&stack, &account).await;
}

#[tokio::test]
async fn a_sync_process_killed_mid_backfill_is_resumed_from_its_checkpoints_exactly() {
    let stack = Stack::new("killed").await;
    let credentials = stack.grant("demo").await;
    let account = stack.link(&credentials, "2222222222", 365).await;
    kill_mid_backfill_and_resume(&stack, &account).await;
}

#[tokio::test]
async fn an_x_sync_process_killed_mid_backfill_is_resumed_from_its_checkpoints_exactly() {
    let stack = Stack::new("x_killed").await;
    let credentials = stack.grant_x("demo").await;
    let account = stack.link_on(stack.x.as_ref(), &credentials, "18ce54uhdp2", 365).await;
    kill_mid_backfill_and_resume(&stack, &account).await;
}

/// `adhouse-ingester sync` of `account`, SIGKILLed once its first day is
/// checkpointed, then run again to the end: what is stored equals the oracle.
async fn kill_mid_backfill_and_resume(stack: &Stack, account: &LinkedAccount) {
    let run = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_adhouse-ingester"));
        command
            .args(["sync", "--tenant", TENANT, "--platform", &account.platform, "--account", &account.account_id, "--refetch-days", "0"])
            .env("ADHOUSE__CLICKHOUSE__DATABASE", &stack.settings.clickhouse.database)
            .env("ADHOUSE__LOG__LEVEL", "warn");
        command
    };
    let mut victim = run().spawn().unwrap();
    let synced = "SELECT count() FROM platform_sync_days";
    let started = std::time::Instant::now();
    loop {
        let days: u64 = stack.clickhouse.query(synced).fetch_one().await.unwrap();
        if days > 0 {
            break;
        }
        assert!(victim.try_wait().unwrap().is_none(), "the sync finished before it could be killed");
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    victim.kill().unwrap(); // SIGKILL, between or in the middle of windows
    victim.wait().unwrap();
    let output = run().output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_equals_oracle(stack, account).await;
}

#[tokio::test]
async fn yahoo_search_and_display_backfills_of_365_days_equal_the_oracle_and_a_restatement_replaces_values() {
    let stack = Stack::new("yahoo").await;
    let credentials = stack.grant_yahoo("demo").await;
    let search = stack.link_on(stack.yahoo.as_ref(), &credentials, "1000000011", 365).await;
    let display = stack.link_on(stack.yahoo.as_ref(), &credentials, "2000000031", 365).await;
    assert_eq!((search.kind.as_str(), display.kind.as_str()), ("search", "display"));
    let syncer = stack.syncer();
    let stop = CancellationToken::new();
    // Throttled along the way (0003): retried, nothing lost.
    control_on(PlatformId::Yahoo, "throttle", &[("account", &search.account_id), ("calls", "2")]).await;
    for account in [&search, &display] {
        let outcome = syncer.run(&backfill(account), &stop).await.unwrap();
        assert!(matches!(outcome, JobOutcome::Done { .. }), "{outcome:?}");
        assert_equals_oracle(&stack, account).await;
    }
    // The throttled answers and the waits they caused are in the metrics.
    assert!(stack.metric(r#"adhouse_ingester_platform_calls_total{platform="yahoo",outcome="retry"}"#) >= 2.0, "{}", stack.metrics.encode());
    assert!(stack.metric(r#"adhouse_ingester_platform_calls_total{platform="yahoo",outcome="ok"}"#) > 10.0);
    let waited = stack.metric(r#"adhouse_ingester_platform_wait_seconds_total{platform="yahoo",reason="retry"}"#)
        + stack.metric(r#"adhouse_ingester_platform_wait_seconds_total{platform="yahoo",reason="pacing"}"#);
    assert!(waited > 0.0, "{}", stack.metrics.encode());

    // Yahoo! restates its last 7 days; the daily job re-reads them and
    // FINAL leaves only the new values.
    let before = oracle(&search, Level::Ad).await;
    control_on(PlatformId::Yahoo, "restate", &[("account", &search.account_id)]).await;
    assert_ne!(oracle(&search, Level::Ad).await, before, "the fake restated some days");
    let today = search.today(jiff::Timestamp::now());
    let mut daily = schedule::daily_job(&search, PlatformId::Yahoo, stack.settings.platforms.yahoo.restate_days, today);
    daily.until = search.backfill_until;
    let JobOutcome::Done { rows, .. } = syncer.run(&daily, &stop).await.unwrap() else { panic!("daily job") };
    assert!(rows > 0, "recent days were fetched again");
    assert_equals_oracle(&stack, &search).await;
}

#[tokio::test]
async fn a_revoked_yahoo_grant_marks_its_account_needs_relink_and_another_grants_account_keeps_syncing() {
    let stack = Stack::new("yahoo_revoked").await;
    let (first, second) = (stack.grant_yahoo("demo").await, stack.grant_yahoo("demo").await);
    let revoked = stack.link_on(stack.yahoo.as_ref(), &first, "1000000012", 30).await;
    let healthy = stack.link_on(stack.yahoo.as_ref(), &second, "1000000021", 30).await;
    control_on(PlatformId::Yahoo, "revoke", &[("refresh_token", &first.refresh_token)]).await;

    let syncer = stack.syncer();
    let stop = CancellationToken::new();
    let outcome = syncer.run(&backfill(&revoked), &stop).await.unwrap();
    assert!(matches!(outcome, JobOutcome::NeedsRelink(_)), "{outcome:?}");
    let stored = stack.store.account(TENANT, "yahoo", &revoked.account_id).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::NeedsRelink);
    assert!(!stored.status_detail.contains(&first.refresh_token), "{stored:?}");
    assert!(matches!(syncer.run(&backfill(&healthy), &stop).await.unwrap(), JobOutcome::Done { .. }));
    assert_equals_oracle(&stack, &healthy).await;
}

#[tokio::test]
async fn x_backfills_of_365_days_through_async_jobs_equal_the_oracle_throttled_and_a_billing_restatement_replaces_values() {
    let stack = Stack::new("x").await;
    let credentials = stack.grant_x("demo").await;
    let tokyo = stack.link_on(stack.x.as_ref(), &credentials, "18ce54d4x5t", 365).await;
    let los_angeles = stack.link_on(stack.x.as_ref(), &credentials, "18ce54uhdp2", 365).await;
    let syncer = stack.syncer();
    let stop = CancellationToken::new();
    // Over the limit along the way (429 until the reset): waited out, nothing lost.
    control_on(PlatformId::X, "throttle", &[("account", &tokyo.account_id), ("calls", "2")]).await;
    for account in [&tokyo, &los_angeles] {
        let outcome = syncer.run(&backfill(account), &stop).await.unwrap();
        assert!(matches!(outcome, JobOutcome::Done { .. }), "{outcome:?}");
        assert_equals_oracle(&stack, account).await;
    }

    // X's billing is an estimate for 3 days; the daily job re-reads them
    // (synchronous stats) and FINAL leaves only the new values.
    let before = oracle(&tokyo, Level::Ad).await;
    control_on(PlatformId::X, "restate", &[("account", &tokyo.account_id)]).await;
    assert_ne!(oracle(&tokyo, Level::Ad).await, before, "the fake restated some days");
    let today = tokyo.today(jiff::Timestamp::now());
    let mut daily = schedule::daily_job(&tokyo, PlatformId::X, stack.settings.platforms.x.restate_days, today);
    daily.until = tokyo.backfill_until;
    let JobOutcome::Done { rows, .. } = syncer.run(&daily, &stop).await.unwrap() else { panic!("daily job") };
    assert!(rows > 0, "recent days were fetched again");
    assert_equals_oracle(&stack, &tokyo).await;
}

#[tokio::test]
async fn a_revoked_x_token_marks_its_account_needs_relink_and_another_grants_account_keeps_syncing() {
    let stack = Stack::new("x_revoked").await;
    let (first, second) = (stack.grant_x("demo").await, stack.grant_x("demo").await);
    let revoked = stack.link_on(stack.x.as_ref(), &first, "18ce54d4x5t", 30).await;
    let healthy = stack.link_on(stack.x.as_ref(), &second, "18ce54uhdp2", 30).await;
    control_on(PlatformId::X, "revoke", &[("token", &first.access_token)]).await;

    let syncer = stack.syncer();
    let stop = CancellationToken::new();
    let outcome = syncer.run(&backfill(&revoked), &stop).await.unwrap();
    assert!(matches!(outcome, JobOutcome::NeedsRelink(_)), "{outcome:?}");
    let stored = stack.store.account(TENANT, "x", &revoked.account_id).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::NeedsRelink);
    assert!(!stored.status_detail.contains(&first.access_token) && !stored.status_detail.contains(&first.token_secret), "{stored:?}");
    assert!(matches!(syncer.run(&backfill(&healthy), &stop).await.unwrap(), JobOutcome::Done { .. }));
    assert_equals_oracle(&stack, &healthy).await;
}

/// Stored rows at account level, and that no other level was synced.
async fn assert_organic_equals_oracle(stack: &Stack, account: &LinkedAccount) {
    let (stored, expected) = (stack.stored(account, Level::Account).await, oracle(account, Level::Account).await);
    assert_eq!(expected.len() as i64, (account.backfill_until - account.backfill_since).whole_days() + 1, "every day kept");
    assert_eq!(stored, expected, "{} {}", account.platform, account.account_id);
    let sql = "SELECT count() FROM platform_sync_days WHERE account_id = ? AND level != 'account'";
    let other_levels: u64 = stack.clickhouse.query(sql).bind(&account.account_id).fetch_one().await.unwrap();
    assert_eq!(other_levels, 0, "organic insights have the account level only");
}

#[tokio::test]
async fn a_page_and_an_instagram_account_backfill_the_two_years_kept_exactly_and_a_restatement_replaces_values() {
    let stack = Stack::new("organic").await;
    let page_grant = stack.grant_meta(stack.facebook.as_ref(), "demo").await;
    let page = stack.link_on(stack.facebook.as_ref(), &page_grant, "5001", 730).await;
    let instagram_grant = stack.grant_meta(stack.instagram.as_ref(), "demo").await;
    let instagram = stack.link_on(stack.instagram.as_ref(), &instagram_grant, "17841400000000501", 730).await;
    let syncer = stack.syncer();
    let stop = CancellationToken::new();
    // Throttled along the way (Page request limit): retried, nothing lost.
    control_on(PlatformId::Facebook, "throttle", &[("calls", "2"), ("code", "32")]).await;
    for account in [&page, &instagram] {
        let outcome = syncer.run(&backfill(account), &stop).await.unwrap();
        assert!(matches!(&outcome, JobOutcome::Done { warnings, .. } if warnings.is_empty()), "{outcome:?}");
        assert_organic_equals_oracle(&stack, account).await;
    }

    // Organic numbers settle within days: the daily job re-reads the last
    // three and FINAL leaves only the new values.
    let before = oracle(&page, Level::Account).await;
    control_on(PlatformId::Facebook, "restate", &[]).await;
    assert_ne!(oracle(&page, Level::Account).await, before, "the fake restated some days");
    let today = page.today(jiff::Timestamp::now());
    let mut daily = schedule::daily_job(&page, PlatformId::Facebook, stack.settings.platforms.facebook.restate_days, today);
    daily.until = page.backfill_until;
    let JobOutcome::Done { rows, .. } = syncer.run(&daily, &stop).await.unwrap() else { panic!("daily job") };
    assert_eq!(rows, 3, "the restated days fetched again");
    assert_organic_equals_oracle(&stack, &page).await;
}

#[tokio::test]
async fn a_revoked_page_grant_marks_its_account_needs_relink() {
    let stack = Stack::new("organic_revoked").await;
    let grant = stack.grant_meta(stack.facebook.as_ref(), "other").await;
    let page = stack.link_on(stack.facebook.as_ref(), &grant, "5003", 30).await;
    control_on(PlatformId::Facebook, "revoke", &[("user", "other")]).await;
    let outcome = stack.syncer().run(&backfill(&page), &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, JobOutcome::NeedsRelink(_)), "{outcome:?}");
    let stored = stack.store.account(TENANT, "facebook", "5003").await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::NeedsRelink);
    assert!(stored.status_detail.contains("190/460") && !stored.status_detail.contains(&grant.access_token), "{stored:?}");
}

#[tokio::test]
async fn a_retired_metric_is_dropped_with_a_warning_on_the_account_and_the_rest_is_stored() {
    let stack = Stack::new("organic_retired").await;
    // Instagram at v21.0 still asks for impressions, which Meta retired in every version.
    let mut settings = stack.settings.platforms.instagram.clone();
    settings.api_version = "v21.0".into();
    let old = Arc::new(Organic::new(Product::Instagram, &settings, &stack.settings.platforms.meta, stack.http.clone()));
    let grant = stack.grant_meta(old.as_ref(), "demo").await;
    let account = stack.link_on(old.as_ref(), &grant, "17841400000000501", 60).await;
    let outcome = stack.syncer_with(old).run(&backfill(&account), &CancellationToken::new()).await.unwrap();
    let JobOutcome::Done { warnings, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let stored = stack.store.account(TENANT, "instagram", &account.account_id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.status_detail.as_str()), (AccountStatus::Active, warnings[0].as_str()));
    assert!(stored.status_detail.contains("impressions"), "{stored:?}");
    let mut expected = oracle(&account, Level::Account).await;
    for row in &mut expected {
        row.impressions = 0;
    }
    assert_eq!(stack.stored(&account, Level::Account).await, expected);
}
