//! The sync queue as the API uses it: one message per linked account, the
//! job the ingester's `sync` handler consumes (`ingester/src/sync/job.rs`).

use adhouse_connectors::PlatformId;
use aws_sdk_sqs::error::DisplayErrorContext;
use serde::Serialize;
use time::Date;

/// The ingester's `SyncJob`, field for field: the API only sends it. A test
/// parses what the API sends with the ingester's own parser, so the two
/// cannot drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncJobMessage<'a> {
    pub tenant: &'a str,
    pub platform: PlatformId,
    pub account_id: &'a str,
    pub since: Date,
    pub until: Date,
    /// Past `until` for a backfill: no day is fetched again once checkpointed.
    pub refetch_from: Date,
}

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
    pub async fn send(&self, job: &SyncJobMessage<'_>) -> Result<(), String> {
        let body = serde_json::to_string(job).expect("a job serializes");
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
