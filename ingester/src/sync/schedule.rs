//! `adhouse-ingester schedule`: the daily re-sync of every active account.

use adhouse_connectors::store::LinkedAccount;
use adhouse_connectors::PlatformId;
use adhouse_core::settings::PlatformsSettings;
use time::Date;

use adhouse_connectors::SyncJob;

/// Recent days each platform may still change, re-read by every daily job.
pub fn restate_days(settings: &PlatformsSettings, platform: PlatformId) -> u32 {
    settings.app(platform.as_str()).expect("every platform has settings").restate_days
}

/// The account's day now, in its own timezone (UTC when the zone is unknown).
pub fn account_today(account: &LinkedAccount, now: jiff::Timestamp) -> Date {
    let zone = jiff::tz::TimeZone::get(&account.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let day = now.to_zoned(zone).date();
    Date::from_calendar_date(i32::from(day.year()), time::Month::try_from(day.month() as u8).expect("1..=12"), day.day() as u8)
        .expect("a calendar date")
}

/// The daily job of `account`: its whole backfill range up to today (so a
/// backfill whose message was lost is finished too), re-reading the last
/// `restate_days` days whatever their checkpoints say.
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
