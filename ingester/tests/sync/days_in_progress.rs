//! Days whose numbers were not final when fetched (the day in progress,
//! or one still restating) are fetched again, however long the gap until
//! the next daily job (a relink pending, the schedule or queue down, a
//! dead-lettered job).

use adhouse_connectors::{DateRange, Level, PlatformId};
use adhouse_ingester::sync::schedule;
use time::{Date, Duration, OffsetDateTime};
use tokio_util::sync::CancellationToken;

use super::stub::{Stub, StubEnv};

/// The instant `h:m:s` of `day` in `timezone`.
fn local(day: Date, timezone: &str, (h, m, s): (i8, i8, i8)) -> OffsetDateTime {
    let civil = jiff::civil::date(day.year() as i16, u8::from(day.month()) as i8, day.day() as i8).at(h, m, s, 0);
    let at = civil.to_zoned(jiff::tz::TimeZone::get(timezone).unwrap()).unwrap().timestamp();
    OffsetDateTime::from_unix_timestamp(at.as_second()).unwrap()
}

#[tokio::test]
async fn a_day_fetched_before_its_numbers_were_final_is_fetched_again_whatever_the_gap() {
    let stub = Stub::new();
    let env = StubEnv::new("in_progress", stub.clone(), 60).await;
    let account = &env.account;
    let tz = account.timezone.as_str();
    let n = env.restate_days;
    let day = |back: u32| account.today(jiff::Timestamp::now()) - Duration::days(i64::from(back));
    let today = day(0);
    // The last daily jobs ran days ago, then none for longer than n days.
    let in_progress = day(n + 2); // fetched at noon that day, by the daily job of that day
    let restating = day(n + 3); // last fetched a second before it was n days over
    let settled = day(n + 4); // fetched when it was just n days over: final
    let now = OffsetDateTime::now_utc();
    let checkpoints = [
        (DateRange { since: account.backfill_since, until: settled - Duration::days(1) }, now),
        (DateRange { since: settled, until: settled }, local(settled + Duration::days(i64::from(n) + 1), tz, (0, 0, 0))),
        (DateRange { since: restating, until: restating }, local(restating + Duration::days(i64::from(n)), tz, (23, 59, 59))),
        (DateRange { since: in_progress, until: in_progress }, local(in_progress, tz, (12, 0, 0))),
        (DateRange { since: in_progress + Duration::days(1), until: account.backfill_until }, now),
    ];
    for (range, fetched_at) in checkpoints {
        env.store.mark_synced(account, Level::Account, range, &[], fetched_at).await.unwrap();
    }

    let job = schedule::daily_job(account, PlatformId::Google, n, today);
    env.syncer.run(&job, &CancellationToken::new()).await.unwrap();
    let asked = stub.asked.lock().unwrap().clone();
    let expected = [DateRange { since: restating, until: in_progress }, DateRange { since: day(n), until: today }];
    assert_eq!(asked, expected, "the days not final when fetched, then the restatement window");
}
