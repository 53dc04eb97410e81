//! The sync job message: the API sends one per linked account, the
//! ingester's sync handler runs it.

use crate::model::{DateRange, PlatformId};
use serde::{Deserialize, Serialize};
use time::Date;

/// Fetch `since ..= until` of an account: days from `refetch_from` on always
/// (the platform may have restated them), earlier days only when not
/// checkpointed yet. The backfill on link sets `refetch_from` past `until`;
/// the daily job covers the account's whole backfill range with
/// `refetch_from` = today − the platform's restatement lookback, so it also
/// finishes a backfill whose message was lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncJob {
    pub tenant: String,
    pub platform: PlatformId,
    pub account_id: String,
    pub since: Date,
    pub until: Date,
    pub refetch_from: Date,
}

impl SyncJob {
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("a job serializes")
    }

    pub fn parse(body: &str) -> Result<Self, String> {
        let job: Self = serde_json::from_str(body).map_err(|err| format!("not a sync job: {err}"))?;
        if job.since > job.until {
            return Err(format!("sync job: since {} is after until {}", job.since, job.until));
        }
        Ok(job)
    }

    /// The job's days that the platform still keeps (`lookback_days` before
    /// `today`); `None` when none are left.
    pub fn range_within(&self, lookback_days: i64, today: Date) -> Option<DateRange> {
        let oldest = today - time::Duration::days(lookback_days);
        let since = self.since.max(oldest);
        (since <= self.until).then_some(DateRange { since, until: self.until })
    }
}
