//! The production queue: an SQS queue (the log buckets' notifications, or sync jobs).

use std::time::Duration;

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::MessageSystemAttributeName;

use super::{Delivery, Queue};
use crate::error::Error;
use crate::store::aws_error;

pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
    poll_wait_secs: i32,
    visibility_timeout_secs: i32,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String, poll_wait_secs: u32, visibility_timeout_secs: u32) -> Self {
        Self {
            client,
            url,
            poll_wait_secs: poll_wait_secs.min(20) as i32,
            visibility_timeout_secs: visibility_timeout_secs.min(43_200) as i32,
        }
    }

    fn error<E: ProvideErrorMetadata + std::error::Error>(&self, operation: &'static str, err: &E) -> Error {
        // Retrying cannot create a queue or grant a permission.
        let fatal = matches!(
            err.code(),
            Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist" | "AccessDenied" | "InvalidClientTokenId")
        );
        Error::Queue { queue: self.url.clone(), operation, message: aws_error(err), fatal }
    }
}

impl Queue for SqsQueue {
    async fn receive(&self, max: usize) -> Result<Option<Vec<Delivery>>, Error> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(self.poll_wait_secs)
            .visibility_timeout(self.visibility_timeout_secs)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|err| self.error("ReceiveMessage", &err))?;
        let deliveries = output
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|message| {
                let receives = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Some(Delivery {
                    receipt: message.receipt_handle()?.to_owned(),
                    message_id: message.message_id().unwrap_or_default().to_owned(),
                    receives,
                    body: message.body().unwrap_or_default().to_owned(),
                })
            })
            .collect();
        Ok(Some(deliveries))
    }

    async fn extend(&self, receipt: &str) -> Result<(), Error> {
        self.set_visibility(receipt, self.visibility_timeout_secs).await
    }

    async fn delete(&self, receipt: &str) -> Result<(), Error> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|err| self.error("DeleteMessage", &err))?;
        Ok(())
    }

    async fn release(&self, receipt: &str, visible_in: Duration) -> Result<(), Error> {
        let secs = visible_in.as_secs().min(self.visibility_timeout_secs as u64) as i32;
        self.set_visibility(receipt, secs).await
    }
}

impl SqsQueue {
    async fn set_visibility(&self, receipt: &str, secs: i32) -> Result<(), Error> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(secs)
            .send()
            .await
            .map_err(|err| self.error("ChangeMessageVisibility", &err))?;
        Ok(())
    }
}
