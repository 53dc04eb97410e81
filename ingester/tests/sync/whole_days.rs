//! A restatement that takes an entity's day to nothing: the platform stops
//! returning its row (Google omits rows without activity, Meta rows without
//! delivery), and the re-sync must store the day as the platform answers it
//! now, every level's sums included. The Google and Meta fakes' `zero`
//! control does that to one ad group's day; Meta's `delete` control checks
//! that an ad merely deleted since is not mistaken for one.

use std::collections::{BTreeMap, BTreeSet};

use adhouse_connectors::store::LinkedAccount;
use adhouse_connectors::{DailyRow, Level, PlatformId};
use adhouse_ingester::sync::{JobOutcome, Syncer, schedule};
use time::Date;
use tokio_util::sync::CancellationToken;

use super::{Stack, assert_equals_oracle, backfill, control_on, oracle};

/// Each level's rows as the oracle has them before a restatement.
type Before = BTreeMap<Level, Vec<DailyRow>>;

async fn oracle_now(account: &LinkedAccount) -> Before {
    let mut before = Before::new();
    for level in Level::ALL {
        before.insert(level, oracle(account, level).await);
    }
    before
}

/// The daily job of `account` over its backfill range (the oracle's).
async fn resync(syncer: &Syncer, account: &LinkedAccount, restate_days: u32) {
    let platform = account.platform_id().expect("a known platform");
    let mut daily = schedule::daily_job(account, platform, restate_days, account.today(jiff::Timestamp::now()));
    daily.until = account.backfill_until;
    let outcome = syncer.run(&daily, &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, JobOutcome::Done { .. }), "{outcome:?}");
}

fn is_zero(row: &DailyRow) -> bool {
    (row.impressions, row.clicks, row.spend_micros, row.conversions_micros, row.conversion_value_micros, row.reach, row.video_views)
        == (0, 0, 0, 0, 0, 0, 0)
}

/// Each day's sums of the additive measures.
fn day_sums(rows: &[DailyRow]) -> BTreeMap<Date, (u64, u64, i64, i64, i64, u64)> {
    let mut sums = BTreeMap::<Date, (u64, u64, i64, i64, i64, u64)>::new();
    for row in rows {
        let day = sums.entry(row.date).or_default();
        day.0 += row.impressions;
        day.1 += row.clicks;
        day.2 += row.spend_micros;
        day.3 += row.conversions_micros;
        day.4 += row.conversion_value_micros;
        day.5 += row.video_views;
    }
    sums.retain(|_, day| *day != Default::default());
    sums
}

fn keys(rows: &[DailyRow]) -> BTreeSet<(String, Date)> {
    rows.iter().map(|row| (row.entity_id.clone(), row.date)).collect()
}

/// What is stored for `account` at every level equals the platform's answer
/// now: the same sums per day, the same rows with activity, and a row of
/// zeros exactly for each (entity, day) of `before` the platform no longer
/// returns. Returns how many those are.
async fn assert_whole_days(stack: &Stack, account: &LinkedAccount, before: &Before) -> u64 {
    let mut zeroed = 0;
    for level in Level::ALL {
        let (stored, expected) = (stack.stored(account, level).await, oracle(account, level).await);
        let (sums, platform) = (day_sums(&stored), day_sums(&expected));
        let days: BTreeSet<&Date> = sums.keys().chain(platform.keys()).collect();
        let differing: Vec<_> = days.into_iter().filter(|day| sums.get(day) != platform.get(day)).map(|day| (day, sums.get(day), platform.get(day))).collect();
        assert!(differing.is_empty(), "{} at {level:?}, (day, stored sums, the platform's): {differing:?}", account.account_id);
        let (zeros, active): (Vec<DailyRow>, Vec<DailyRow>) = stored.into_iter().partition(is_zero);
        assert_eq!(active, expected, "{} at {level:?}", account.account_id);
        let gone: BTreeSet<_> = keys(&before[&level]).difference(&keys(&expected)).cloned().collect();
        assert_eq!(keys(&zeros), gone, "zero rows at {level:?}");
        zeroed += gone.len() as u64;
    }
    zeroed
}

/// The last ad group with activity on the latest day of the last 13 (all
/// refetched by the daily job) on which another ad group had activity too,
/// by the oracle. The fakes keep their zeros: a test run again takes
/// another.
fn latest_ad_group_day(before: &Before, account: &LinkedAccount) -> (String, Date) {
    let since = account.backfill_until - time::Duration::days(12);
    let groups = &before[&Level::AdGroup];
    let shared = |day: Date| groups.iter().filter(|row| row.date == day).count() >= 2;
    let row = groups.iter().rfind(|row| row.date >= since && shared(row.date)).expect("a recent day with two active ad groups");
    (row.entity_id.clone(), row.date)
}

#[tokio::test]
async fn a_google_ad_groups_day_restated_to_no_activity_is_zero_at_every_level_after_the_resync() {
    let stack = Stack::new("google_zeroed").await;
    let credentials = stack.grant("other").await;
    let account = stack.link(&credentials, "4444444444", 30).await;
    let syncer = stack.syncer();
    assert!(matches!(syncer.run(&backfill(&account), &CancellationToken::new()).await.unwrap(), JobOutcome::Done { .. }));
    assert_equals_oracle(&stack, &account).await;

    // Invalid clicks refunded: an ad group's recent day goes to nothing, so
    // Google no longer returns it or its ads for the day (nor its campaign,
    // if nothing else of it was active).
    let before = oracle_now(&account).await;
    let (ad_group, day) = latest_ad_group_day(&before, &account);
    control_on(PlatformId::Google, "zero", &[("customer", &account.account_id), ("entity", &ad_group), ("date", &day.to_string())]).await;
    resync(&syncer, &account, stack.settings.platforms.google.restate_days).await;

    let zeroed = assert_whole_days(&stack, &account, &before).await;
    assert!(zeroed >= 2, "the ad group and an ad at least: {zeroed}");
    assert_eq!(stack.metric(r#"adhouse_ingester_platform_rows_zeroed_total{platform="google"}"#), zeroed as f64, "{}", stack.metrics.encode());
    // The next re-sync finds the zeros already stored and writes none again.
    resync(&syncer, &account, stack.settings.platforms.google.restate_days).await;
    assert_eq!(stack.metric(r#"adhouse_ingester_platform_rows_zeroed_total{platform="google"}"#), zeroed as f64);
    assert_whole_days(&stack, &account, &before).await;
}

#[tokio::test]
async fn a_meta_ad_sets_day_restated_to_no_delivery_is_zero_and_an_ad_deleted_since_keeps_its_restated_spend() {
    let stack = Stack::new("meta_zeroed").await;
    let credentials = stack.grant_meta(stack.meta.as_ref(), "other").await;
    let account = stack.link_on(stack.meta.as_ref(), &credentials, "2001", 30).await;
    let syncer = stack.syncer();
    assert!(matches!(syncer.run(&backfill(&account), &CancellationToken::new()).await.unwrap(), JobOutcome::Done { .. }));
    assert_equals_oracle(&stack, &account).await;

    // An ad set's recent day goes to nothing; an ad of another ad set that
    // delivered that day is deleted, and Meta restates its last 28 days.
    // The deleted ad's day is not gone: its restated numbers count.
    let before = oracle_now(&account).await;
    let (ad_group, day) = latest_ad_group_day(&before, &account);
    let deleted = before[&Level::Ad]
        .iter()
        .find(|row| row.date == day && !row.entity_id.starts_with(&format!("240{}", &ad_group[3..])))
        .expect("an ad of another ad set delivered that day")
        .clone();
    let id = account.account_id.as_str();
    control_on(PlatformId::Meta, "zero", &[("account", id), ("entity", &ad_group), ("date", &day.to_string())]).await;
    control_on(PlatformId::Meta, "delete", &[("account", id), ("entity", &deleted.entity_id)]).await;
    control_on(PlatformId::Meta, "restate", &[("account", id)]).await;
    resync(&syncer, &account, stack.settings.platforms.meta.restate_days).await;

    assert!(assert_whole_days(&stack, &account, &before).await >= 2);
    let kept = stack.stored(&account, Level::Ad).await.into_iter().find(|row| (&row.entity_id, row.date) == (&deleted.entity_id, day));
    let restated = oracle(&account, Level::Ad).await.into_iter().find(|row| (&row.entity_id, row.date) == (&deleted.entity_id, day));
    let changed = |row: &DailyRow| row.spend_micros > 0 && (row.impressions, row.spend_micros) != (deleted.impressions, deleted.spend_micros);
    assert!(restated.as_ref().is_some_and(changed), "the fake restated the deleted ad's day: {restated:?}");
    assert_eq!(kept, restated, "the deleted ad's day");
}
