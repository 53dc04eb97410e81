//! `adhouse-ingester schedule`: the daily re-sync of every active account.

use adhouse_connectors::store::LinkedAccount;
use adhouse_connectors::{DateRange, PlatformId};
use adhouse_core::settings::PlatformsSettings;
use time::Date;

use adhouse_connectors::SyncJob;

/// Recent days each platform may still change, re-read by every daily job.
pub fn restate_days(settings: &PlatformsSettings, platform: PlatformId) -> u32 {
    settings.app(platform.as_str()).expect("every platform has settings").restate_days
}

/// The days of `job` that the platform still keeps: its `lookback_days`
/// count back from the account's today, not UTC's, since the platform's
/// days are the account's; `None` when none are left.
pub fn kept_range(job: &SyncJob, lookback_days: i64, account: &LinkedAccount, now: jiff::Timestamp) -> Option<DateRange> {
    job.range_within(lookback_days, account.today(now))
}

/// The daily job of `account`: its whole backfill range up to today (so a
/// backfill whose message was lost is finished too), re-reading the last
/// `restate_days` days whatever their checkpoints say. Earlier days are
/// fetched again while their checkpoint is not settled (fetched before
/// the day's numbers were final, [`LinkedAccount::settled`]), however long
/// the gap since the last daily job.
pub fn daily_job(account: &LinkedAccount, platform: PlatformId, restate_days: u32, today: Date) -> SyncJob {
    SyncJob {
        tenant: account.tenant.clone(),
        platform,
        account_id: account.account_id.clone(),
        since: account.backfill_since.min(today),
        until: today,
        refetch_from: today - time::Duration::days(i64::from(restate_days)),
    }
}

#[cfg(test)]
mod tests {
    use adhouse_connectors::Account;
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn the_oldest_kept_day_is_counted_in_the_accounts_timezone() {
        let account = Account {
            id: "5001".into(),
            kind: String::new(),
            name: "Demo Bakery".into(),
            currency: String::new(),
            timezone: "America/Los_Angeles".into(),
            manager_id: String::new(),
            active: true,
        };
        let range = DateRange { since: date!(2024 - 12 - 01), until: date!(2026 - 11 - 30) };
        let linked = LinkedAccount::linked("t", PlatformId::Facebook, &account, range, datetime!(2026-12-01 12:00 UTC));
        let job = SyncJob {
            tenant: "t".into(),
            platform: PlatformId::Facebook,
            account_id: "5001".into(),
            since: range.since,
            until: range.until,
            refetch_from: range.until,
        };
        // 00:30 UTC on 2 December is still 1 December in Los Angeles, whose
        // 730 days back reach 1 December 2024.
        let now: jiff::Timestamp = "2026-12-02T00:30:00Z".parse().unwrap();
        assert_eq!(kept_range(&job, 730, &linked, now), Some(range));
        let later: jiff::Timestamp = "2026-12-02T09:00:00Z".parse().unwrap();
        let kept = DateRange { since: date!(2024 - 12 - 02), ..range };
        assert_eq!(kept_range(&job, 730, &linked, later), Some(kept));
    }
}
