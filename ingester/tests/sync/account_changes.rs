//! The user unlinks or links an account again while a sync job of it runs
//! (backfills take minutes to hours): the user's change stands, and the job
//! writes nothing after it.

use std::sync::atomic::{AtomicU32, Ordering};

use adhouse_connectors::store::{AccountStatus, Store};
use adhouse_ingester::sync::JobOutcome;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::stub::{ACCOUNT, Stub, StubEnv};
use super::{TENANT, backfill};

/// Runs `change` once, inside the `nth` fetch (0-based) of the stub.
fn during_fetch<F>(stub: &Stub, nth: u32, change: F)
where
    F: Fn() -> adhouse_connectors::platform::BoxFuture<'static, ()> + Send + Sync + 'static,
{
    let calls = AtomicU32::new(0);
    *stub.hook.lock().unwrap() = Some(Box::new(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == nth { change() } else { Box::pin(async {}) }
    }));
}

/// What the API's `listing::unlink` writes: the row as read, `unlinked`.
async fn unlink(store: &Store) {
    let mut row = store.account(TENANT, "google", ACCOUNT).await.unwrap().unwrap();
    row.status = AccountStatus::Unlinked;
    row.status_detail = "unlinked by the user".into();
    store.put_account(&mut row).await.unwrap();
}

#[tokio::test]
async fn an_account_unlinked_while_its_sync_runs_stays_unlinked_and_the_job_stores_nothing_more() {
    let stub = Stub::new();
    let env = StubEnv::new("unlink", stub.clone(), 60).await;
    let store = env.store.clone();
    during_fetch(&stub, 0, move || {
        let store = store.clone();
        Box::pin(async move { unlink(&store).await })
    });
    let outcome = env.syncer.run(&backfill(&env.account), &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, JobOutcome::Skipped(_)), "{outcome:?}");
    let after = env.store.account(TENANT, "google", ACCOUNT).await.unwrap().unwrap();
    assert_eq!(after.status, AccountStatus::Unlinked, "the user's unlink was overwritten by the sync job: {after:?}");
    assert!(env.store.active_accounts().await.unwrap().is_empty(), "the daily schedule would sync the unlinked account again");
    assert_eq!(stub.asked.lock().unwrap().len(), 1, "the job went on to the next window");
    assert_eq!(env.stored().await, (0, 0), "the window fetched while the user unlinked was stored");
}

/// What the API's unlink with `purge` does: the row `unlinked`, then its
/// rows, checkpoints and credentials deleted.
#[tokio::test]
async fn an_account_purged_while_its_sync_runs_gets_no_rows_checkpoints_or_credentials_back() {
    let stub = Stub::new();
    let env = StubEnv::new("purge", stub.clone(), 60).await;
    let (store, client) = (env.store.clone(), env.client.clone());
    // In the second window's fetch: the first window is stored by then.
    during_fetch(&stub, 1, move || {
        let (store, client) = (store.clone(), client.clone());
        Box::pin(async move {
            unlink(&store).await;
            for table in ["platform_daily", "platform_sync_days", "platform_credentials"] {
                let sql = format!("DELETE FROM {table} WHERE tenant = ? AND account_id = ?");
                client.query(&sql).bind(TENANT).bind(ACCOUNT).execute().await.unwrap();
            }
        })
    });
    let outcome = env.syncer.run(&backfill(&env.account), &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, JobOutcome::Skipped(_)), "{outcome:?}");
    assert_eq!(env.store.account(TENANT, "google", ACCOUNT).await.unwrap().unwrap().status, AccountStatus::Unlinked);
    assert_eq!(env.stored().await, (0, 0), "rows or checkpoints of the purged account came back");
    let vault = adhouse_connectors::vault::Vault::from_setting(adhouse_core::Settings::load(None).unwrap().platforms.vault_keys.expose()).unwrap();
    assert!(env.store.credentials(&vault, &env.account).await.unwrap().is_none(), "the purged grant came back");
}

/// The grant was revoked; the user links the account again while a job
/// still holding the old grant runs. That job's failure is the old grant's:
/// the fresh link stays active and its own backfill runs.
#[tokio::test]
async fn a_relink_made_while_a_job_with_the_revoked_grant_runs_is_kept_and_its_backfill_runs() {
    let stub = Stub::new();
    let env = StubEnv::new("relink", stub.clone(), 30).await;
    *stub.revoked.lock().unwrap() = true;
    let store = env.store.clone();
    during_fetch(&stub, 0, move || {
        let store = store.clone();
        Box::pin(async move {
            // What link::link writes: an active row, linked now (credentials elided).
            let mut row = store.account(TENANT, "google", ACCOUNT).await.unwrap().unwrap();
            row.status = AccountStatus::Active;
            row.linked_at = OffsetDateTime::now_utc();
            store.put_account(&mut row).await.unwrap();
        })
    });
    let outcome = env.syncer.run(&backfill(&env.account), &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, JobOutcome::NeedsRelink(_)), "{outcome:?}");
    let after = env.store.account(TENANT, "google", ACCOUNT).await.unwrap().unwrap();
    assert_eq!(after.status, AccountStatus::Active, "the old grant's failure was written over the relink: {after:?}");
    // The fresh link's own backfill job, with the new (working) grant.
    *stub.revoked.lock().unwrap() = false;
    *stub.hook.lock().unwrap() = None;
    let outcome = env.syncer.run(&backfill(&env.account), &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, JobOutcome::Done { .. }), "the relinked account's backfill did not run: {outcome:?}");
}
