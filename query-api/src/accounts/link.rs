//! Linking the accounts a user chose from a grant: their rows, their
//! credentials, and one backfill job each.

use adhouse_connectors::store::LinkedAccount;
use adhouse_connectors::{Account, DateRange, SyncJob, local_today};
use time::{Date, Duration, OffsetDateTime};

use super::Linking;
use super::grants::Grant;
use crate::error::{ApiError, Result};

/// The last `backfill_days` days up to yesterday, but none older than the
/// platform keeps (`lookback_days` before today, as the ingester cuts them).
pub fn backfill_range(today: Date, backfill_days: u32, lookback_days: i64) -> DateRange {
    let until = today - Duration::days(1);
    let wanted = until - Duration::days(i64::from(backfill_days.max(1)) - 1);
    let oldest = today - Duration::days(lookback_days.max(1));
    DateRange { since: wanted.max(oldest), until }
}

/// Links `account_ids` of `grant` for its tenant: each account's row
/// (active, linked now, its backfill range), its credentials (the grant's,
/// or the one the platform issues for the account, sealed for the account),
/// and a backfill job. Linking again updates
/// all three; the repeated job skips the days already fetched.
pub async fn link(linking: &Linking, grant: &Grant, account_ids: &[String], now: OffsetDateTime) -> Result<Vec<LinkedAccount>> {
    let platform = linking
        .platform(grant.platform)
        .ok_or_else(|| ApiError::NotFound(format!("{} is no longer enabled on this server", grant.platform)))?;
    let chosen = account_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            grant.accounts.iter().find(|account| &account.id == id).ok_or_else(|| {
                ApiError::invalid(crate::error::ErrorCode::InvalidValue, format!("account_ids[{i}]"), format!("{id:?} is not an account this grant can see"))
            })
        })
        .collect::<Result<Vec<&Account>>>()?;
    let credentials = grant.credentials(&linking.vault)?;
    let mut linked = Vec::with_capacity(chosen.len());
    for account in chosen {
        let previous = linking.store.account(&grant.tenant, grant.platform.as_str(), &account.id).await?;
        let range = backfill_range(local_today(&account.timezone, jiff::Timestamp::now()), linking.backfill_days, platform.lookback_days());
        let mut row = LinkedAccount {
            last_sync_at: previous.as_ref().and_then(|p| p.last_sync_at),
            // `put_account` stamps the row strictly after this version.
            updated_at: previous.as_ref().map_or(OffsetDateTime::UNIX_EPOCH, |p| p.updated_at),
            ..LinkedAccount::linked(&grant.tenant, grant.platform, account, range, now)
        };
        // Credentials first: a row that is active must have them.
        let account_credentials = platform.account_credentials(&credentials, account).await?;
        linking.store.put_credentials(&linking.vault, &row, &account_credentials).await?;
        linking.store.put_account(&mut row).await?;
        let job = SyncJob {
            tenant: row.tenant.clone(),
            platform: grant.platform,
            account_id: row.account_id.clone(),
            since: range.since,
            until: range.until,
            refetch_from: range.until + Duration::days(1),
        };
        linking.queue.send(&job).await.map_err(|message| ApiError::SyncQueue { account: row.account_id.clone(), message })?;
        tracing::info!(tenant = %row.tenant, platform = %row.platform, account = %row.account_id, since = %range.since, until = %range.until, "account linked; backfill queued");
        linked.push(row);
    }
    Ok(linked)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn the_backfill_ends_yesterday_and_never_reaches_past_the_platform_lookback() {
        let today = date!(2026 - 12 - 01);
        assert_eq!(backfill_range(today, 365, 37 * 30), DateRange { since: date!(2025 - 12 - 01), until: date!(2026 - 11 - 30) });
        assert_eq!(backfill_range(today, 365, 30), DateRange { since: date!(2026 - 11 - 01), until: date!(2026 - 11 - 30) });
        assert_eq!(backfill_range(today, 1, 30), DateRange { since: date!(2026 - 11 - 30), until: date!(2026 - 11 - 30) });
    }
}
