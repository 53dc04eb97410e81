//! The handler of the sync queue.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use adhouse_connectors::SyncJob;

use super::{JobOutcome, Syncer};
use crate::consumer::{Disposition, Handler, retry_in_place};
use crate::queue::Delivery;

pub struct SyncHandler {
    syncer: Arc<Syncer>,
    retry_for: Duration,
    visibility_timeout: Duration,
}

impl SyncHandler {
    pub fn new(syncer: Arc<Syncer>, retry_for: Duration, visibility_timeout: Duration) -> Self {
        Self { syncer, retry_for, visibility_timeout }
    }
}

impl Handler for SyncHandler {
    async fn handle(&self, delivery: &Delivery, stop: &CancellationToken) -> Disposition {
        let job = match SyncJob::parse(&delivery.body) {
            Ok(job) => job,
            Err(err) => {
                tracing::error!(message_id = %delivery.message_id, receives = delivery.receives, "{err}; leaving it for the dead-letter queue");
                return Disposition::Release(Duration::ZERO);
            }
        };
        let what = format!("{}/{}/{}", job.tenant, job.platform, job.account_id);
        match retry_in_place(&what, self.retry_for, stop, || self.syncer.run(&job, stop)).await {
            Ok(JobOutcome::Stopped) => Disposition::Release(Duration::ZERO),
            Ok(_) => Disposition::Delete,
            // Retryable past the retries in place, or a request the platform
            // never answers: back to the queue, dead-lettered in the end.
            Err(_) => Disposition::Release(self.visibility_timeout),
        }
    }
}
