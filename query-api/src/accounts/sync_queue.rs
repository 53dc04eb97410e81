//! The sync queue as the API uses it: one message per linked account, the
//! job the ingester's `sync` handler consumes (`connectors/src/job.rs`).

use adhouse_connectors::SyncJob;
use aws_sdk_sqs::error::DisplayErrorContext;

pub struct SyncQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SyncQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        Self { client, url }
    }

    /// Sends one job. Jobs are idempotent (checkpointed days are skipped), so
    /// a duplicate from a retried link costs one empty run, nothing more.
    /// The SDK retries transient failures itself (its standard policy).
    pub async fn send(&self, job: &SyncJob) -> Result<(), String> {
        let body = job.to_body();
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(drop)
            .map_err(|err| format!("SendMessage to {}: {}", self.url, DisplayErrorContext(&err)))
    }
}
