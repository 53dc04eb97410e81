//! The tenant's linked accounts as the dashboard shows them, with backfill
//! progress; and unlinking.

use std::collections::HashMap;

use adhouse_connectors::PlatformId;
use adhouse_connectors::store::{AccountStatus, LinkedAccount, Store};
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::db::Db;
use crate::error::Result;

/// Backfill progress: checkpointed account-level days of the range.
#[derive(Debug, Serialize)]
pub struct Backfill {
    pub since: String,
    pub until: String,
    pub days_done: u64,
    pub days_total: i64,
}

/// One linked account in responses.
#[derive(Debug, Serialize)]
pub struct AccountView {
    pub platform: String,
    pub id: String,
    /// The platform's product where it has several (Yahoo! JAPAN: `search`,
    /// `display`); absent otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    pub name: String,
    pub currency: String,
    pub timezone: String,
    /// `active` or `needs_relink`.
    pub status: &'static str,
    /// For `needs_relink`: what happened and what to do, in a marketer's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub linked_at: String,
    pub last_sync_at: Option<String>,
    /// The last sync's error as the platform put it; empty after a success.
    pub last_error: String,
    pub backfill: Backfill,
    /// When the grant ends by itself (Meta's ~60-day tokens); absent when it renews itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_ends_at: Option<String>,
    /// Within [`WARN_BEFORE_DAYS`] of that end: what to do, in a marketer's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// How long before a grant ends the listing asks for a re-link.
pub const WARN_BEFORE_DAYS: i64 = 14;

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The name a marketer knows the platform by.
pub fn platform_label(platform: &str) -> &'static str {
    match PlatformId::parse(platform) {
        Some(PlatformId::Meta) => "Meta",
        Some(PlatformId::Google) => "Google Ads",
        Some(PlatformId::Yahoo) => "Yahoo! JAPAN Ads",
        Some(PlatformId::X) => "X Ads",
        Some(PlatformId::Facebook) => "Facebook Pages",
        Some(PlatformId::Instagram) => "Instagram",
        None => "the ad platform",
    }
}

impl AccountView {
    /// `grant_ends_at`: when the account's grant ends by itself, if it does.
    pub fn new(account: &LinkedAccount, days_done: u64, grant_ends_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Self {
        let warning = grant_ends_at.filter(|ends| account.status == AccountStatus::Active && *ends - now < time::Duration::days(WARN_BEFORE_DAYS)).map(|ends| {
            let date = ends.date();
            let verb = if ends > now { "ends" } else { "ended" };
            format!(
                "{}'s permission for adhouse {verb} on {date}: re-link this account to keep its numbers coming.",
                platform_label(&account.platform)
            )
        });
        let detail = match account.status {
            AccountStatus::NeedsRelink => Some(format!(
                "{} no longer lets adhouse read this account: access was removed or has expired. \
                 New numbers stop until you re-link it; what was fetched stays.",
                platform_label(&account.platform)
            )),
            // The last sync's warnings: metrics the platform no longer serves.
            AccountStatus::Active if !account.status_detail.is_empty() => Some(account.status_detail.clone()),
            AccountStatus::Active | AccountStatus::Unlinked => None,
        };
        Self {
            platform: account.platform.clone(),
            id: account.account_id.clone(),
            kind: account.kind.clone(),
            name: account.name.clone(),
            currency: account.currency.clone(),
            timezone: account.timezone.clone(),
            status: account.status.as_str(),
            detail,
            linked_at: timestamp(account.linked_at),
            last_sync_at: account.last_sync_at.map(timestamp),
            last_error: account.last_error.clone(),
            backfill: Backfill {
                since: account.backfill_since.to_string(),
                until: account.backfill_until.to_string(),
                days_done,
                days_total: (account.backfill_until - account.backfill_since).whole_days() + 1,
            },
            grant_ends_at: grant_ends_at.map(timestamp),
            warning,
        }
    }
}

#[derive(Debug, Row, Deserialize)]
struct Progress {
    platform: String,
    account_id: String,
    days: u64,
}

/// Checkpointed account-level days within each account's backfill range,
/// for all of the tenant's accounts in one query.
const PROGRESS_SQL: &str = "SELECT d.platform AS platform, d.account_id AS account_id, uniqExact(d.date) AS days \
     FROM platform_sync_days AS d \
     INNER JOIN (SELECT platform, account_id, backfill_since, backfill_until FROM platform_accounts FINAL \
                 WHERE tenant = {tenant:String} AND status != 'unlinked') AS a \
       ON d.platform = a.platform AND d.account_id = a.account_id \
     WHERE d.tenant = {tenant:String} AND d.level = 'account' AND d.date >= a.backfill_since AND d.date <= a.backfill_until \
     GROUP BY d.platform, d.account_id";

/// The tenant's accounts (not unlinked), by platform and name.
pub async fn list(db: &Db, store: &Store, tenant: &str) -> Result<Vec<AccountView>> {
    let accounts = store.accounts(tenant).await?;
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let (progress, _) = db.fetch_query::<Progress>(db.client().query(PROGRESS_SQL).param("tenant", tenant)).await?;
    let done: HashMap<(String, String), u64> = progress.into_iter().map(|p| ((p.platform, p.account_id), p.days)).collect();
    let ends: HashMap<(String, String), OffsetDateTime> =
        store.grants_ending(tenant).await?.into_iter().map(|end| ((end.platform, end.account_id), end.expires_at)).collect();
    let now = OffsetDateTime::now_utc();
    Ok(accounts
        .iter()
        .map(|account| {
            let key = (account.platform.clone(), account.account_id.clone());
            AccountView::new(account, done.get(&key).copied().unwrap_or(0), ends.get(&key).copied(), now)
        })
        .collect())
}

/// Tables that `purge` empties of an account, besides its row's status.
const PURGED_TABLES: [&str; 3] = ["platform_daily", "platform_sync_days", "platform_credentials"];

/// Marks the account unlinked (the daily sync stops; its numbers stay for
/// analysts). With `purge`, also deletes its daily rows, checkpoints and
/// credentials. `false` when the tenant has no such account.
pub async fn unlink(store: &Store, client: &clickhouse::Client, tenant: &str, platform: PlatformId, account_id: &str, purge: bool) -> Result<bool> {
    let Some(mut account) = store.account(tenant, platform.as_str(), account_id).await? else { return Ok(false) };
    if account.status == AccountStatus::Unlinked && !purge {
        return Ok(true);
    }
    account.status = AccountStatus::Unlinked;
    account.status_detail = if purge { "unlinked and purged by the user" } else { "unlinked by the user" }.to_owned();
    store.put_account(&mut account).await?;
    if purge {
        for table in PURGED_TABLES {
            // Table names come from the list above; values are bound.
            let sql = format!(
                "DELETE FROM {table} WHERE tenant = {{tenant:String}} AND platform = {{platform:String}} AND account_id = {{account:String}}"
            );
            client
                .query(&sql)
                .param("tenant", tenant)
                .param("platform", platform.as_str())
                .param("account", account_id)
                .execute()
                .await
                .map_err(crate::error::ApiError::ClickHouse)?;
        }
    }
    tracing::info!(tenant, %platform, account = account_id, purge, "account unlinked");
    Ok(true)
}
