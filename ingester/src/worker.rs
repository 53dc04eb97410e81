//! The SQS loop: long-poll for S3 announcements, ingest their objects on a
//! bounded number of workers, and delete each message only once every
//! object it names is committed (or needs no work).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::ingest::{Ingestor, Outcome};
use crate::metrics::Metrics;
use crate::s3_event::{self, Announcement};
use crate::store::aws_error;

pub struct QueueSettings {
    pub queue_url: String,
    pub workers: usize,
    pub poll_wait_secs: i32,
    pub visibility_timeout_secs: i32,
    pub heartbeat: Duration,
}

pub struct Worker {
    sqs: aws_sdk_sqs::Client,
    settings: QueueSettings,
    ingestor: Arc<Ingestor>,
    metrics: Arc<Metrics>,
}

impl Worker {
    pub fn new(sqs: aws_sdk_sqs::Client, settings: QueueSettings, ingestor: Arc<Ingestor>, metrics: Arc<Metrics>) -> Self {
        Self { sqs, settings, ingestor, metrics }
    }

    /// Polls until `shutdown`, then lets in-flight objects stop at their next
    /// chunk boundary (saving progress) and returns their messages to the queue.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let permits = Arc::new(Semaphore::new(this.settings.workers.max(1)));
        let mut tasks = JoinSet::new();
        let mut backoff = Duration::from_secs(1);
        loop {
            // Poll only for as many messages as there are idle workers, so no
            // message waits in this process while its visibility runs out.
            let idle = tokio::select! {
                permit = permits.clone().acquire_owned() => {
                    drop(permit);
                    permits.available_permits()
                }
                () = shutdown.cancelled() => break,
            };
            let receive = this
                .sqs
                .receive_message()
                .queue_url(&this.settings.queue_url)
                .max_number_of_messages(idle.min(10) as i32)
                .wait_time_seconds(this.settings.poll_wait_secs)
                .visibility_timeout(this.settings.visibility_timeout_secs)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send();
            let received = tokio::select! {
                received = receive => received,
                () = shutdown.cancelled() => break,
            };
            let messages = match received {
                Ok(output) => {
                    backoff = Duration::from_secs(1);
                    output.messages.unwrap_or_default()
                }
                Err(err) => {
                    tracing::error!(queue = %this.settings.queue_url, retry_in_secs = backoff.as_secs(), "ReceiveMessage failed: {}", aws_error(&err));
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    continue;
                }
            };
            for message in messages {
                let permit = permits.clone().acquire_owned().await.expect("semaphore is never closed");
                let this = this.clone();
                let shutdown = shutdown.clone();
                tasks.spawn(async move {
                    this.handle(message, &shutdown).await;
                    drop(permit);
                });
            }
            while tasks.try_join_next().is_some() {}
        }
        tracing::info!(in_flight = tasks.len(), "stopped polling; finishing in-flight chunks");
        while tasks.join_next().await.is_some() {}
    }

    async fn handle(&self, message: Message, shutdown: &CancellationToken) {
        self.metrics.messages_received.inc();
        let Some(receipt) = message.receipt_handle() else { return };
        let receives = message
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .map_or("?", String::as_str);
        let announcement = match s3_event::parse(message.body().unwrap_or_default()) {
            Ok(announcement) => announcement,
            Err(err) => {
                // Poison: never deleted, so SQS moves it to the dead-letter
                // queue after maxReceiveCount receives.
                self.metrics.messages_failed.inc();
                tracing::error!(message_id = message.message_id().unwrap_or_default(), receives, "{err}; leaving it for the dead-letter queue");
                return;
            }
        };
        let objects = match announcement {
            Announcement::Test => Vec::new(),
            Announcement::Objects(objects) => objects,
        };
        let heartbeat = self.heartbeat(receipt);
        let mut acknowledge = true;
        let mut released = false;
        for object in &objects {
            match self.ingestor.ingest(object, shutdown).await {
                Ok(outcome) => {
                    released |= outcome == Outcome::Released;
                    acknowledge &= outcome.acknowledges();
                }
                Err(_) => acknowledge = false,
            }
        }
        heartbeat.cancel();
        if acknowledge {
            match self.sqs.delete_message().queue_url(&self.settings.queue_url).receipt_handle(receipt).send().await {
                Ok(_) => {
                    self.metrics.messages_deleted.inc();
                }
                // The objects are done in the ledger: a redelivery is acknowledged without work.
                Err(err) => tracing::warn!("DeleteMessage failed: {}", aws_error(&err)),
            }
        } else {
            self.metrics.messages_failed.inc();
            // Released on shutdown: make it visible again at once for another worker.
            let visible_in = if released { 0 } else { self.settings.visibility_timeout_secs };
            if let Err(err) = self
                .sqs
                .change_message_visibility()
                .queue_url(&self.settings.queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(visible_in)
                .send()
                .await
            {
                tracing::warn!("ChangeMessageVisibility failed: {}", aws_error(&err));
            }
        }
    }

    /// Keeps the message invisible to other consumers while its objects are
    /// processed; stops when the returned token is cancelled.
    fn heartbeat(&self, receipt: &str) -> CancellationToken {
        let stop = CancellationToken::new();
        let (sqs, stop_beat) = (self.sqs.clone(), stop.clone());
        let (queue_url, receipt) = (self.settings.queue_url.clone(), receipt.to_owned());
        let (period, timeout) = (self.settings.heartbeat, self.settings.visibility_timeout_secs);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(period) => {}
                    () = stop_beat.cancelled() => return,
                }
                let extended = sqs
                    .change_message_visibility()
                    .queue_url(&queue_url)
                    .receipt_handle(&receipt)
                    .visibility_timeout(timeout)
                    .send()
                    .await;
                if let Err(err) = extended {
                    tracing::warn!("visibility heartbeat failed: {}", aws_error(&err));
                }
            }
        });
        stop
    }
}
