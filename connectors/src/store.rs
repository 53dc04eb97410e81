//! Linked accounts, their sealed credentials, daily rows and sync
//! checkpoints in ClickHouse (schema/0008_platform_accounts.sql, organic
//! measures from 0012). Every table keeps versions; reads take the latest
//! (`FINAL`).

use std::collections::{BTreeMap, BTreeSet};

use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};
use time::{Date, OffsetDateTime};

use crate::error::Result;
use crate::model::{Account, Credentials, DailyRow, DateRange, Level, PlatformId, local_today};
use crate::vault::Vault;

/// `platform_accounts.status`; discriminants are the schema's Enum8 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize_repr, Deserialize_repr)]
#[repr(i8)]
pub enum AccountStatus {
    Active = 1,
    NeedsRelink = 2,
    Unlinked = 3,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NeedsRelink => "needs_relink",
            Self::Unlinked => "unlinked",
        }
    }
}

/// A linked account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct LinkedAccount {
    pub tenant: String,
    pub platform: String,
    pub account_id: String,
    /// [`Account::kind`]: Yahoo! JAPAN's `search` or `display`, else empty.
    pub kind: String,
    pub manager_id: String,
    pub name: String,
    pub currency: String,
    pub timezone: String,
    pub status: AccountStatus,
    pub status_detail: String,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub linked_at: OffsetDateTime,
    #[serde(with = "clickhouse::serde::time::date")]
    pub backfill_since: Date,
    #[serde(with = "clickhouse::serde::time::date")]
    pub backfill_until: Date,
    #[serde(with = "clickhouse::serde::time::datetime64::millis::option")]
    pub last_sync_at: Option<OffsetDateTime>,
    pub last_error: String,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub updated_at: OffsetDateTime,
}

impl LinkedAccount {
    /// The account's day now, in its own timezone ([`local_today`]).
    pub fn today(&self, now: jiff::Timestamp) -> Date {
        local_today(&self.timezone, now)
    }

    /// Whether `day`, fetched at `fetched_at`, was fetched with its final
    /// numbers: `restate_days` whole days or more after it ended in the
    /// account's timezone, i.e. on its local day `day + restate_days + 1` or
    /// later. The platform changes nothing of a day after that; any earlier
    /// fetch (the day in progress, or restating) must be read again,
    /// however long ago it was.
    pub fn settled(&self, day: Date, fetched_at: OffsetDateTime, restate_days: u32) -> bool {
        let fetched_on = self.today(jiff::Timestamp::from_second(fetched_at.unix_timestamp()).expect("a ClickHouse DateTime64 is a jiff timestamp"));
        (fetched_on - day).whole_days() > i64::from(restate_days)
    }

    /// `account` of `platform` as `tenant` links it now: active, its
    /// backfill covering `range`, never synced.
    pub fn linked(tenant: &str, platform: PlatformId, account: &Account, range: DateRange, now: OffsetDateTime) -> Self {
        Self {
            tenant: tenant.to_owned(),
            platform: platform.as_str().to_owned(),
            account_id: account.id.clone(),
            kind: account.kind.clone(),
            manager_id: account.manager_id.clone(),
            name: account.name.clone(),
            currency: account.currency.clone(),
            timezone: account.timezone.clone(),
            status: AccountStatus::Active,
            status_detail: String::new(),
            linked_at: now,
            backfill_since: range.since,
            backfill_until: range.until,
            last_sync_at: None,
            last_error: String::new(),
            updated_at: now,
        }
    }

    pub fn platform_id(&self) -> Option<PlatformId> {
        PlatformId::parse(&self.platform)
    }

    /// The account as the platform client takes it.
    pub fn account(&self) -> Account {
        Account {
            id: self.account_id.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            currency: self.currency.clone(),
            timezone: self.timezone.clone(),
            manager_id: self.manager_id.clone(),
            active: self.status == AccountStatus::Active,
        }
    }

    /// The authenticated context of its sealed credentials.
    fn vault_context(&self) -> String {
        vault_context(&self.tenant, &self.platform, &self.account_id)
    }
}

fn vault_context(tenant: &str, platform: &str, account_id: &str) -> String {
    format!("{tenant}/{platform}/{account_id}")
}

/// When an account's grant ends.
#[derive(Debug, Row, Deserialize)]
pub struct GrantEnd {
    pub platform: String,
    pub account_id: String,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct CredentialRow {
    tenant: String,
    platform: String,
    account_id: String,
    sealed: String,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    expires_at: OffsetDateTime,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    updated_at: OffsetDateTime,
}

#[derive(Debug, Row, Serialize)]
struct DailyRecord<'a> {
    tenant: &'a str,
    platform: &'a str,
    account_id: &'a str,
    level: &'a str,
    entity_id: &'a str,
    entity_name: &'a str,
    #[serde(with = "clickhouse::serde::time::date")]
    date: Date,
    currency: &'a str,
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
    extra: Vec<(&'a str, &'a str)>,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    fetched_at: OffsetDateTime,
}

impl<'a> DailyRecord<'a> {
    /// `row` of `account` in `currency`, as version `fetched_at`.
    fn new(account: &'a LinkedAccount, row: &'a DailyRow, currency: &'a str, fetched_at: OffsetDateTime) -> Self {
        Self {
            tenant: &account.tenant,
            platform: &account.platform,
            account_id: &account.account_id,
            level: row.level.as_str(),
            entity_id: &row.entity_id,
            entity_name: &row.entity_name,
            date: row.date,
            currency,
            impressions: row.impressions,
            clicks: row.clicks,
            spend_micros: row.spend_micros,
            conversions_micros: row.conversions_micros,
            conversion_value_micros: row.conversion_value_micros,
            reach: row.reach,
            video_views: row.video_views,
            followers: row.organic.followers,
            follows: row.organic.follows,
            profile_views: row.organic.profile_views,
            engagements: row.organic.engagements,
            extra: row.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            fetched_at,
        }
    }
}

/// An entity's day as stored, by [`Store::stored_entities`].
#[derive(Debug, Row, Deserialize)]
struct StoredEntity {
    entity_id: String,
    entity_name: String,
    #[serde(with = "clickhouse::serde::time::date")]
    date: Date,
    currency: String,
}

impl StoredEntity {
    /// Its day at `level` with nothing in it ([`DailyRow::empty`]), and its currency.
    fn zero(self, level: Level) -> (DailyRow, String) {
        (DailyRow::empty(level, self.entity_id, self.entity_name, self.date), self.currency)
    }
}

#[derive(Debug, Row, Serialize)]
struct SyncDay<'a> {
    tenant: &'a str,
    platform: &'a str,
    account_id: &'a str,
    level: &'a str,
    #[serde(with = "clickhouse::serde::time::date")]
    date: Date,
    rows: u32,
    #[serde(with = "clickhouse::serde::time::datetime64::millis")]
    fetched_at: OffsetDateTime,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
}

impl Store {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Writes `account` as its current state, stamped now: what the user's
    /// link and unlink write. At least 2 ms after the version read, so that
    /// it also beats a sync job's [`Store::put_account_after`] of that
    /// version (ties would go to whichever insert came last).
    pub async fn put_account(&self, account: &mut LinkedAccount) -> Result<()> {
        account.updated_at = OffsetDateTime::now_utc().max(account.updated_at + time::Duration::milliseconds(2));
        self.insert_account(account).await
    }

    /// Writes `account`, a row as read and then changed by a sync job, as
    /// the version 1 ms after the one read. ClickHouse has no
    /// compare-and-set; this is one for a ReplacingMergeTree: a row the user
    /// wrote after the read (stamped with the clock, later) stays the newest,
    /// so a concurrent unlink or relink drops the job's update rather than
    /// the job undoing the user's.
    pub async fn put_account_after(&self, account: &mut LinkedAccount) -> Result<()> {
        account.updated_at += time::Duration::milliseconds(1);
        self.insert_account(account).await
    }

    async fn insert_account(&self, account: &LinkedAccount) -> Result<()> {
        let mut insert = self.client.insert::<LinkedAccount>("platform_accounts").await?;
        insert.write(account).await?;
        insert.end().await?;
        Ok(())
    }

    pub async fn account(&self, tenant: &str, platform: &str, account_id: &str) -> Result<Option<LinkedAccount>> {
        let sql = "SELECT ?fields FROM platform_accounts FINAL \
                   WHERE tenant = {tenant:String} AND platform = {platform:String} AND account_id = {account:String}";
        let query = self.client.query(sql).param("tenant", tenant).param("platform", platform).param("account", account_id);
        Ok(query.fetch_optional().await?)
    }

    /// The tenant's accounts (all statuses but unlinked), by platform and name.
    pub async fn accounts(&self, tenant: &str) -> Result<Vec<LinkedAccount>> {
        let sql = "SELECT ?fields FROM platform_accounts FINAL \
                   WHERE tenant = {tenant:String} AND status != 'unlinked' ORDER BY platform, name, account_id";
        Ok(self.client.query(sql).param("tenant", tenant).fetch_all().await?)
    }

    /// Every active account of every tenant: what the daily schedule syncs.
    pub async fn active_accounts(&self) -> Result<Vec<LinkedAccount>> {
        let sql = "SELECT ?fields FROM platform_accounts FINAL WHERE status = 'active' ORDER BY tenant, platform, account_id";
        Ok(self.client.query(sql).fetch_all().await?)
    }

    pub async fn put_credentials(&self, vault: &Vault, account: &LinkedAccount, credentials: &Credentials) -> Result<()> {
        let row = CredentialRow {
            tenant: account.tenant.clone(),
            platform: account.platform.clone(),
            account_id: account.account_id.clone(),
            sealed: vault.seal(credentials, &account.vault_context()),
            expires_at: credentials.grant_ends_at().and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            updated_at: OffsetDateTime::now_utc(),
        };
        let mut insert = self.client.insert::<CredentialRow>("platform_credentials").await?;
        insert.write(&row).await?;
        insert.end().await?;
        Ok(())
    }

    /// The tenant's grants that end by themselves (Meta's), with when: the
    /// user must link those accounts again before then.
    pub async fn grants_ending(&self, tenant: &str) -> Result<Vec<GrantEnd>> {
        let sql = "SELECT platform, account_id, expires_at FROM platform_credentials FINAL \
                   WHERE tenant = {tenant:String} AND expires_at > toDateTime64(0, 3, 'UTC')";
        Ok(self.client.query(sql).param("tenant", tenant).fetch_all().await?)
    }

    pub async fn credentials(&self, vault: &Vault, account: &LinkedAccount) -> Result<Option<Credentials>> {
        let sql = "SELECT ?fields FROM platform_credentials FINAL \
                   WHERE tenant = {tenant:String} AND platform = {platform:String} AND account_id = {account:String}";
        let query = self
            .client
            .query(sql)
            .param("tenant", &account.tenant)
            .param("platform", &account.platform)
            .param("account", &account.account_id);
        let Some(row) = query.fetch_optional::<CredentialRow>().await? else { return Ok(None) };
        vault.open(&row.sealed, &account.vault_context()).map(Some)
    }

    /// Stores `rows` of one fetch as the newest version of their days.
    pub async fn put_daily(&self, account: &LinkedAccount, rows: &[DailyRow], fetched_at: OffsetDateTime) -> Result<()> {
        let records: Vec<DailyRecord<'_>> = rows.iter().map(|row| DailyRecord::new(account, row, &account.currency, fetched_at)).collect();
        self.insert_daily(&records).await
    }

    /// Stores the platform's whole answer for `level` over the days of
    /// `range`: `rows`, and a row of zeros at the same version for every
    /// entity stored earlier for one of those days and absent from `rows`.
    /// Platforms omit entities without activity (Google, Yahoo! JAPAN; Meta
    /// without delivery), so absent means zero now: without the zeros, FINAL
    /// would keep the old numbers of a day a restatement took to zero.
    /// Returns how many rows it zeroed.
    pub async fn put_window(&self, account: &LinkedAccount, level: Level, range: DateRange, rows: &[DailyRow], fetched_at: OffsetDateTime) -> Result<u64> {
        let answered: BTreeSet<(&str, Date)> = rows.iter().map(|row| (row.entity_id.as_str(), row.date)).collect();
        let stored = self.stored_entities(account, level, range).await?;
        let zeros: Vec<(DailyRow, String)> = stored
            .into_iter()
            .filter(|stored| !answered.contains(&(stored.entity_id.as_str(), stored.date)))
            .map(|gone| gone.zero(level))
            .collect();
        // One insert, one version: no reader sees the answer without its zeros.
        let fetched = rows.iter().map(|row| DailyRecord::new(account, row, &account.currency, fetched_at));
        let zeroed = zeros.iter().map(|(row, currency)| DailyRecord::new(account, row, currency, fetched_at));
        let records: Vec<DailyRecord<'_>> = fetched.chain(zeroed).collect();
        self.insert_daily(&records).await?;
        Ok(zeros.len() as u64)
    }

    /// The entities whose latest row at `level` for a day of `range` is
    /// not already zero, with that row's name and currency: what a window's
    /// answer must either contain or zero.
    async fn stored_entities(&self, account: &LinkedAccount, level: Level, range: DateRange) -> Result<Vec<StoredEntity>> {
        let sql = "SELECT ?fields FROM platform_daily FINAL \
                   WHERE tenant = {tenant:String} AND platform = {platform:String} AND account_id = {account:String} \
                   AND level = {level:String} AND date BETWEEN {since:Date} AND {until:Date} \
                   AND NOT (impressions = 0 AND clicks = 0 AND spend_micros = 0 AND conversions_micros = 0 \
                   AND conversion_value_micros = 0 AND reach = 0 AND video_views = 0 AND followers IS NULL \
                   AND follows = 0 AND profile_views = 0 AND engagements = 0 AND empty(extra))";
        Ok(self.window_query(sql, account, level, range).fetch_all().await?)
    }

    /// `sql` with the parameters of `account`'s days of `range` at `level`:
    /// `tenant`, `platform`, `account`, `level`, `since` and `until`.
    fn window_query(&self, sql: &str, account: &LinkedAccount, level: Level, range: DateRange) -> clickhouse::query::Query {
        self.client
            .query(sql)
            .param("tenant", &account.tenant)
            .param("platform", &account.platform)
            .param("account", &account.account_id)
            .param("level", level.as_str())
            .param("since", range.since.to_string())
            .param("until", range.until.to_string())
    }

    async fn insert_daily(&self, records: &[DailyRecord<'_>]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        // A window is at most a year: 13 monthly partitions, within any
        // server's partitions-per-insert limit.
        let mut insert = self.client.insert::<DailyRecord<'static>>("platform_daily").await?;
        for record in records {
            insert.write(record).await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// Records every day of `range` at `level` as synced, with its row count.
    pub async fn mark_synced(
        &self,
        account: &LinkedAccount,
        level: Level,
        range: DateRange,
        rows: &[DailyRow],
        fetched_at: OffsetDateTime,
    ) -> Result<()> {
        let mut per_day = BTreeMap::<Date, u32>::new();
        for row in rows {
            *per_day.entry(row.date).or_default() += 1;
        }
        let mut insert = self.client.insert::<SyncDay<'static>>("platform_sync_days").await?;
        let mut day = range.since;
        while day <= range.until {
            insert
                .write(&SyncDay {
                    tenant: &account.tenant,
                    platform: &account.platform,
                    account_id: &account.account_id,
                    level: level.as_str(),
                    date: day,
                    rows: per_day.get(&day).copied().unwrap_or(0),
                    fetched_at,
                })
                .await?;
            let Some(next) = day.next_day() else { break };
            day = next;
        }
        insert.end().await?;
        Ok(())
    }

    /// Days of `range` synced at `level` with their final numbers
    /// ([`LinkedAccount::settled`] by their latest checkpoint).
    pub async fn settled_days(&self, account: &LinkedAccount, level: Level, range: DateRange, restate_days: u32) -> Result<BTreeSet<Date>> {
        #[derive(Row, Deserialize)]
        struct Day {
            #[serde(with = "clickhouse::serde::time::date")]
            date: Date,
            #[serde(with = "clickhouse::serde::time::datetime64::millis")]
            fetched_at: OffsetDateTime,
        }
        let sql = "SELECT date, max(fetched_at) AS fetched_at FROM platform_sync_days \
                   WHERE tenant = {tenant:String} AND platform = {platform:String} AND account_id = {account:String} \
                   AND level = {level:String} AND date BETWEEN {since:Date} AND {until:Date} GROUP BY date";
        let days = self.window_query(sql, account, level, range).fetch_all::<Day>().await?;
        Ok(days.into_iter().filter(|d| account.settled(d.date, d.fetched_at, restate_days)).map(|d| d.date).collect())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn a_day_is_settled_once_fetched_restate_days_after_it_ended_in_the_accounts_timezone() {
        let account = Account { id: "1".into(), kind: String::new(), name: String::new(), currency: String::new(), timezone: "America/Los_Angeles".into(), manager_id: String::new(), active: true };
        let range = DateRange { since: date!(2026 - 11 - 01), until: date!(2026 - 11 - 30) };
        let linked = LinkedAccount::linked("t", PlatformId::Google, &account, range, datetime!(2026-12-01 00:00 UTC));
        let day = date!(2026 - 11 - 20);
        // 20 November ends at 08:00 UTC on the 21st in Los Angeles (PST).
        assert!(!linked.settled(day, datetime!(2026-11-20 20:00 UTC), 3), "in progress");
        assert!(!linked.settled(day, datetime!(2026-11-24 07:59:59 UTC), 3), "a second short of 3 days over");
        assert!(linked.settled(day, datetime!(2026-11-24 08:00 UTC), 3), "3 days over");
    }
}
