//! Platform sync jobs: fetch a linked account's daily rows for a range of
//! its days, at every level, and store them with checkpoints. One job shape
//! serves the backfill on link and the daily re-sync (see [`SyncJob`]).
//! Why it is exact whatever dies or repeats: connectors' storage keeps the
//! latest fetch of a day (ReplacingMergeTree), and a day is checkpointed only
//! after its rows are stored (`ingester/DESIGN.md`, "Platform sync").

mod handler;
pub mod schedule;
mod windows;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use adhouse_connectors::http::{Http, Pacer};
use adhouse_connectors::store::{AccountStatus, LinkedAccount, Store};
use adhouse_connectors::vault::Vault;
use adhouse_connectors::{Credentials, Daily, DateRange, ErrorKind, Level, Platform, PlatformId};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

pub use self::handler::SyncHandler;
pub use adhouse_connectors::SyncJob;
use adhouse_core::Settings;
use adhouse_core::settings::PlatformsSettings;

use crate::error::Error;
use crate::metrics::Metrics;

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Every day due is stored; `rows` fetched in `calls` platform requests.
    /// `warnings` (metrics the platform no longer serves) are on the account.
    Done { rows: u64, calls: u64, warnings: Vec<String> },
    /// The account is not (or no longer) active, or was linked again while
    /// the job ran: nothing (more) to do.
    Skipped(&'static str),
    /// The grant is revoked or expired: the account is marked `needs_relink`,
    /// unless it was linked again meanwhile (with another grant).
    NeedsRelink(String),
    /// Stopped between windows (shutdown, or the message was lost); the
    /// checkpoints say where the next attempt resumes.
    Stopped,
}

impl JobOutcome {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Done { .. } => "done",
            Self::Skipped(_) => "skipped",
            Self::NeedsRelink(_) => "needs_relink",
            Self::Stopped => "stopped",
        }
    }
}

/// A job whose account was unlinked or linked again while it ran: it
/// stopped there, and writes nothing more.
const UNLINKED_MEANWHILE: JobOutcome = JobOutcome::Skipped("unlinked or linked again while syncing");

/// What storing one window took: rows, platform requests, and the
/// platform's warnings about them.
struct Fetched {
    rows: u64,
    calls: u64,
    warnings: Vec<String>,
}

pub struct Syncer {
    store: Store,
    vault: Arc<Vault>,
    platforms: BTreeMap<PlatformId, Arc<dyn Platform>>,
    /// Each platform's `restate_days`: when a fetched day is final.
    restate_days: BTreeMap<PlatformId, u32>,
    levels: Vec<Level>,
    metrics: Arc<Metrics>,
}

impl Syncer {
    /// `settings` give each platform's `restate_days`.
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        platforms: BTreeMap<PlatformId, Arc<dyn Platform>>,
        settings: &PlatformsSettings,
        levels: Vec<Level>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let restate_days = platforms.keys().map(|&id| (id, schedule::restate_days(settings, id))).collect();
        Self { store, vault, platforms, restate_days, levels, metrics }
    }

    /// The enabled platforms of `settings` on one paced HTTP layer, every
    /// level, once `platforms.*` passes its checks; `None` when no platform
    /// is enabled.
    pub fn from_settings(settings: &Settings, metrics: Arc<Metrics>) -> adhouse_core::Result<Option<Self>> {
        let Some(vault) = adhouse_connectors::settings::check(&settings.platforms)? else {
            return Ok(None);
        };
        let timeout = Duration::from_secs(u64::from(settings.platforms.request_timeout_secs));
        let http = Http::new(timeout, 5, Pacer::default()).with_observer(metrics.clone());
        let platforms = adhouse_connectors::registry(&settings.platforms, &http);
        let store = Store::new(adhouse_core::clickhouse::client(&settings.clickhouse));
        Ok(Some(Self::new(store, Arc::new(vault), platforms, &settings.platforms, Level::ALL.to_vec(), metrics)))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs `job`. An `Err` is retryable (ClickHouse or the platform
    /// unavailable, throttled past the HTTP layer's retries) or bad input
    /// (a request the platform will never answer).
    pub async fn run(&self, job: &SyncJob, stop: &CancellationToken) -> Result<JobOutcome, Error> {
        let outcome = self.run_inner(job, stop).await;
        let label = outcome.as_ref().map_or("error", JobOutcome::label);
        self.metrics.sync_job(job.platform.as_str(), label);
        match &outcome {
            Ok(outcome) => tracing::info!(tenant = %job.tenant, platform = %job.platform, account = %job.account_id, outcome = label, "sync job handled: {outcome:?}"),
            Err(err) => tracing::warn!(tenant = %job.tenant, platform = %job.platform, account = %job.account_id, "sync job failed: {err}"),
        }
        outcome
    }

    async fn run_inner(&self, job: &SyncJob, stop: &CancellationToken) -> Result<JobOutcome, Error> {
        let platform_name = job.platform.as_str();
        let Some(account) = self.store.account(&job.tenant, platform_name, &job.account_id).await? else {
            return Ok(JobOutcome::Skipped("not linked"));
        };
        if account.status != AccountStatus::Active {
            return Ok(JobOutcome::Skipped("not active"));
        }
        let Some(platform) = self.platforms.get(&job.platform).cloned() else {
            // The API linked it, so the API has the platform's app: only this
            // ingester lacks it. Said on the account and in the log, never
            // dropped silently; the next job after the fix syncs it.
            let detail = format!(
                "this ingester has no platforms.{platform_name} settings (the API has them): the account is not \
                 synced until the ingester's configuration enables {platform_name} too"
            );
            tracing::error!(tenant = %job.tenant, account = %job.account_id, "{detail}");
            if let Some(mut current) = self.still_linked(&account).await? {
                current.last_error = detail;
                self.store.put_account_after(&mut current).await?;
            }
            return Ok(JobOutcome::Skipped("platform not enabled"));
        };
        let result = self.sync_account(platform.as_ref(), &account, job, stop).await;
        // The user may have unlinked or linked the account again while the
        // job ran: the job updates only its own fields of the row as it is
        // now, and nothing once the account is no longer the link it synced.
        let current = self.still_linked(&account).await?;
        match result {
            Ok(outcome) => {
                if let (JobOutcome::Done { warnings, .. }, Some(mut current)) = (&outcome, current) {
                    current.last_sync_at = Some(OffsetDateTime::now_utc());
                    current.last_error.clear();
                    // An active account's detail says what its numbers lack.
                    current.status_detail = warnings.join("; ");
                    self.store.put_account_after(&mut current).await?;
                }
                Ok(outcome)
            }
            Err(err) if err.kind() == ErrorKind::Relink => {
                // Only this account stops syncing; the user sees why and a
                // re-link button. After a relink the failed grant is no
                // longer the account's: the new one has its own backfill job.
                if let Some(mut current) = current {
                    current.status = AccountStatus::NeedsRelink;
                    current.status_detail = err.to_string();
                    current.last_error = err.to_string();
                    self.store.put_account_after(&mut current).await?;
                    tracing::warn!(tenant = %job.tenant, platform = platform_name, account = %job.account_id, "needs relink: {err}");
                }
                Ok(JobOutcome::NeedsRelink(err.to_string()))
            }
            Err(err) => {
                if let Some(mut current) = current {
                    current.last_error = err.to_string();
                    self.store.put_account_after(&mut current).await?;
                }
                Err(err.into())
            }
        }
    }

    /// The account's row now, if it is still the link `started` was:
    /// active, linked at the same instant (a relink brings another grant).
    async fn still_linked(&self, started: &LinkedAccount) -> Result<Option<LinkedAccount>, adhouse_connectors::Error> {
        let current = self.store.account(&started.tenant, &started.platform, &started.account_id).await?;
        Ok(current.filter(|row| row.status == AccountStatus::Active && row.linked_at == started.linked_at))
    }

    async fn sync_account(
        &self,
        platform: &dyn Platform,
        account: &LinkedAccount,
        job: &SyncJob,
        stop: &CancellationToken,
    ) -> Result<JobOutcome, adhouse_connectors::Error> {
        let mut credentials = self.current_credentials(platform, account).await?;
        let target = account.account();
        let (mut rows, mut calls, mut warnings) = (0, 0, Vec::new());
        let Some(range) = schedule::kept_range(job, platform.lookback_days(), account, jiff::Timestamp::now()) else {
            return Ok(JobOutcome::Done { rows, calls, warnings });
        };
        let restate_days = self.restate_days[&job.platform];
        for level in self.levels.iter().filter(|level| platform.levels().contains(level)) {
            // A day fetched before its numbers were final is due again.
            let done = self.store.settled_days(account, *level, range, restate_days).await?;
            for window in windows::due(range, job.refetch_from, &done, platform.window_days()) {
                if stop.is_cancelled() {
                    return Ok(JobOutcome::Stopped);
                }
                // Before a refresh can store credentials again.
                if self.still_linked(account).await?.is_none() {
                    return Ok(UNLINKED_MEANWHILE);
                }
                credentials = self.refreshed(platform, account, credentials).await?;
                let Some(fetched) = self.fetch_and_store(platform, &credentials, account, &target, *level, window).await? else {
                    return Ok(UNLINKED_MEANWHILE);
                };
                rows += fetched.rows;
                calls += fetched.calls;
                for warning in fetched.warnings {
                    if !warnings.contains(&warning) {
                        warnings.push(warning);
                    }
                }
            }
        }
        Ok(JobOutcome::Done { rows, calls, warnings })
    }

    /// Fetches `window` and stores it, halving it as often as the platform
    /// says it asks for too much; `None`, storing nothing, when the account
    /// was unlinked or linked again during the fetch.
    fn fetch_and_store<'a>(
        &'a self,
        platform: &'a dyn Platform,
        credentials: &'a Credentials,
        account: &'a LinkedAccount,
        target: &'a adhouse_connectors::Account,
        level: Level,
        window: DateRange,
    ) -> adhouse_connectors::platform::BoxFuture<'a, Result<Option<Fetched>, adhouse_connectors::Error>> {
        Box::pin(async move {
            let fetched_at = OffsetDateTime::now_utc();
            match platform.fetch_daily(credentials, target, level, window).await {
                Ok(Daily { rows, warnings }) => {
                    // A purge deletes rows and checkpoints: none may come back.
                    if self.still_linked(account).await?.is_none() {
                        return Ok(None);
                    }
                    // Rows first, then the checkpoint: a crash between the two
                    // re-fetches the window, whose newer version replaces.
                    let zeroed = self.store.put_window(account, level, window, &rows, fetched_at).await?;
                    self.store.mark_synced(account, level, window, &rows, fetched_at).await?;
                    self.metrics.platform_rows(platform.id().as_str(), rows.len() as u64);
                    if zeroed > 0 {
                        self.metrics.platform_rows_zeroed(platform.id().as_str(), zeroed);
                        tracing::info!(
                            tenant = %account.tenant, platform = %platform.id(), account = %account.account_id, level = level.as_str(),
                            since = %window.since, until = %window.until, zeroed,
                            "stored entities the platform no longer reports for these days: zeroed"
                        );
                    }
                    Ok(Some(Fetched { rows: rows.len() as u64, calls: 1, warnings }))
                }
                Err(err) if err.kind() == ErrorKind::Split => match window.halves() {
                    Some((first, second)) => {
                        tracing::info!(platform = %platform.id(), account = %account.account_id, days = window.days(), "the platform asks for less: halving the window");
                        let Some(a) = self.fetch_and_store(platform, credentials, account, target, level, first).await? else { return Ok(None) };
                        let Some(b) = self.fetch_and_store(platform, credentials, account, target, level, second).await? else { return Ok(None) };
                        Ok(Some(Fetched { rows: a.rows + b.rows, calls: a.calls + b.calls + 1, warnings: [a.warnings, b.warnings].concat() }))
                    }
                    None => Err(err),
                },
                Err(err) => Err(err),
            }
        })
    }

    async fn current_credentials(&self, platform: &dyn Platform, account: &LinkedAccount) -> Result<Credentials, adhouse_connectors::Error> {
        let credentials = self.store.credentials(&self.vault, account).await?.ok_or_else(|| adhouse_connectors::Error::Platform {
            remote: platform.id().into(),
            status: 0,
            code: "no_credentials".into(),
            message: "no stored grant for the account; link it again".into(),
            kind: ErrorKind::Relink,
            retry_after: None,
        })?;
        self.refreshed(platform, account, credentials).await
    }

    /// `credentials`, refreshed and stored again when the access token
    /// expires within five minutes.
    async fn refreshed(&self, platform: &dyn Platform, account: &LinkedAccount, credentials: Credentials) -> Result<Credentials, adhouse_connectors::Error> {
        let soon = OffsetDateTime::now_utc().unix_timestamp() + 300;
        if credentials.expires_at == 0 || credentials.expires_at > soon {
            return Ok(credentials);
        }
        let fresh = platform.refresh(&credentials).await?;
        if fresh != credentials {
            self.store.put_credentials(&self.vault, account, &fresh).await?;
        }
        Ok(fresh)
    }
}
