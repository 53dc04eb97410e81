//! The one consumer loop, for `run` (SQS) and `replay` (a listing): receive
//! announcements, ingest their objects on a bounded number of workers, and
//! delete each message only once every object it names is committed (or
//! needs no work).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind};
use crate::ingest::{Ingestor, Outcome};
use crate::metrics::Metrics;
use crate::queue::{Delivery, Queue};
use crate::s3_event::{Announcement, ObjectCreated};

pub struct ConsumerSettings {
    /// Objects processed at once.
    pub workers: usize,
    /// How often a message's visibility is extended while it is worked on.
    pub heartbeat: Duration,
    /// How long a retryable failure (ClickHouse or S3 unreachable) is retried
    /// in place before the message is given back. Retrying in place keeps
    /// the queue's receive count, and so its dead-letter threshold, for
    /// objects that are really bad.
    pub retry_for: Duration,
    /// When a message given back after retries comes again.
    pub visibility_timeout: Duration,
}

/// What became of one object, for a caller that reports progress.
#[derive(Debug)]
pub struct Handled {
    pub object: ObjectCreated,
    pub result: Result<Outcome, Error>,
}

pub struct Consumer<Q> {
    queue: Arc<Q>,
    ingestor: Arc<Ingestor>,
    metrics: Arc<Metrics>,
    settings: ConsumerSettings,
    report: Option<mpsc::UnboundedSender<Handled>>,
}

impl<Q: Queue> Consumer<Q> {
    pub fn new(queue: Arc<Q>, ingestor: Arc<Ingestor>, metrics: Arc<Metrics>, settings: ConsumerSettings) -> Self {
        Self { queue, ingestor, metrics, settings, report: None }
    }

    /// Sends every object's outcome to `report` as it is handled.
    pub fn reporting_to(mut self, report: mpsc::UnboundedSender<Handled>) -> Self {
        self.report = Some(report);
        self
    }

    /// Consumes until `shutdown` or until the queue says it is finished,
    /// then lets in-flight objects stop at their next chunk boundary (saving
    /// progress) and gives their messages back. `Err` only for a fatal queue
    /// error (say, a queue that does not exist).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let this = Arc::new(self);
        let permits = Arc::new(Semaphore::new(this.settings.workers.max(1)));
        let mut tasks = JoinSet::new();
        let mut backoff = Duration::from_secs(1);
        let mut fatal = None;
        loop {
            // Receive only as many messages as there are idle workers, so no
            // message waits in this process while its visibility runs out.
            let idle = tokio::select! {
                permit = permits.clone().acquire_owned() => {
                    drop(permit);
                    permits.available_permits()
                }
                () = shutdown.cancelled() => break,
            };
            let received = tokio::select! {
                received = this.queue.receive(idle.min(10)) => received,
                () = shutdown.cancelled() => break,
            };
            let deliveries = match received {
                Ok(Some(deliveries)) => {
                    backoff = Duration::from_secs(1);
                    deliveries
                }
                Ok(None) => break,
                Err(err) if err.kind() == ErrorKind::Fatal => {
                    tracing::error!("{err}; stopping");
                    fatal = Some(err);
                    break;
                }
                Err(err) => {
                    tracing::error!(retry_in_secs = backoff.as_secs(), "{err}");
                    if sleep_or_cancel(backoff, &shutdown).await {
                        break;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    continue;
                }
            };
            for delivery in deliveries {
                let permit = permits.clone().acquire_owned().await.expect("semaphore is never closed");
                let (this, shutdown) = (this.clone(), shutdown.clone());
                tasks.spawn(async move {
                    this.handle(delivery, &shutdown).await;
                    drop(permit);
                });
            }
            while tasks.try_join_next().is_some() {}
        }
        tracing::info!(in_flight = tasks.len(), "stopped receiving; finishing in-flight chunks");
        while tasks.join_next().await.is_some() {}
        fatal.map_or(Ok(()), Err)
    }

    async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        self.metrics.messages_received.inc();
        let Delivery { receipt, message_id, receives, announcement } = delivery;
        let objects = match announcement {
            Ok(Announcement::Objects(objects)) => objects,
            Ok(Announcement::Test) => Vec::new(),
            Err(err) => {
                // Poison: given back at once, so the queue dead-letters it
                // after its few receives instead of after as many visibility
                // timeouts.
                self.metrics.messages_failed.inc();
                tracing::error!(%message_id, receives, "{err}; leaving it for the dead-letter queue");
                self.release(&receipt, Duration::ZERO).await;
                return;
            }
        };
        // Cancelled on shutdown, or when the heartbeat loses the message:
        // another consumer may have it by then, so stop at the next chunk.
        let stop = shutdown.child_token();
        let heartbeat = self.heartbeat(&receipt, &message_id, stop.clone());
        let mut visible_in = None;
        for object in &objects {
            let result = self.ingest_retrying(object, &stop).await;
            visible_in = match &result {
                Ok(outcome) if outcome.acknowledges() => visible_in,
                // Progress is saved; anyone may resume now.
                Ok(Outcome::Released) => Some(Duration::ZERO),
                // Unreadable: retried promptly, so that it reaches the
                // dead-letter queue in minutes, not hours.
                Ok(Outcome::Failed(_)) => Some(Duration::ZERO),
                Ok(_) | Err(_) => Some(self.settings.visibility_timeout),
            }
            .max(visible_in);
            if let Some(report) = &self.report {
                let _ = report.send(Handled { object: object.clone(), result });
            }
        }
        heartbeat.cancel();
        match visible_in {
            None => match self.queue.delete(&receipt).await {
                Ok(()) => {
                    self.metrics.messages_deleted.inc();
                }
                // The objects are done in the ledger: a redelivery is acknowledged without work.
                Err(err) => tracing::warn!(%message_id, "{err}"),
            },
            Some(visible_in) => {
                self.metrics.messages_failed.inc();
                self.release(&receipt, visible_in).await;
            }
        }
    }

    /// Ingests `object`, retrying retryable failures in place with
    /// exponential backoff for up to `retry_for` (or until `stop`).
    async fn ingest_retrying(&self, object: &ObjectCreated, stop: &CancellationToken) -> Result<Outcome, Error> {
        let started = Instant::now();
        let mut backoff = Duration::from_secs(1);
        loop {
            let result = self.ingestor.ingest(object, stop).await;
            match &result {
                Err(err) if err.kind() == ErrorKind::Retryable && started.elapsed() + backoff < self.settings.retry_for => {
                    tracing::info!(key = %object.key, retry_in_secs = backoff.as_secs(), "retrying in place");
                    if sleep_or_cancel(backoff, stop).await {
                        return result;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
                _ => return result,
            }
        }
    }

    async fn release(&self, receipt: &str, visible_in: Duration) {
        if let Err(err) = self.queue.release(receipt, visible_in).await {
            tracing::warn!("{err}");
        }
    }

    /// Keeps the message invisible to other consumers until the returned
    /// token is cancelled. A failed extension cancels `lost`: the receipt
    /// may be gone, and work on a message another consumer may hold must
    /// stop (its chunks stay exact either way, DESIGN.md).
    fn heartbeat(&self, receipt: &str, message_id: &str, lost: CancellationToken) -> CancellationToken {
        let done = CancellationToken::new();
        let (queue, period, finished) = (self.queue.clone(), self.settings.heartbeat, done.clone());
        let (receipt, message_id) = (receipt.to_owned(), message_id.to_owned());
        tokio::spawn(async move {
            loop {
                if sleep_or_cancel(period, &finished).await {
                    return;
                }
                if let Err(err) = queue.extend(&receipt).await {
                    tracing::warn!(%message_id, "visibility heartbeat failed, stopping work on the message: {err}");
                    lost.cancel();
                    return;
                }
            }
        });
        done
    }
}

/// Sleeps for `period`; `true` if `cancel` fired first.
async fn sleep_or_cancel(period: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(period) => false,
        () = cancel.cancelled() => true,
    }
}
