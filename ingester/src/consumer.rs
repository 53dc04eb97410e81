//! The one consumer loop, for every queue of work: receive messages on a
//! bounded number of workers, keep each invisible to other consumers while
//! its handler works (the heartbeat), and delete it only when the handler
//! says its work is done. What a message means is the [`Handler`]'s:
//! announcements of log objects (`objects.rs`) or platform sync jobs (`sync/`).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind};
use crate::metrics::Metrics;
use crate::queue::{Delivery, Queue};

/// What to do with a message once its handler is done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Its work is done (or needs none): delete it.
    Delete,
    /// Give it back, to be delivered again after this long.
    Release(Duration),
}

/// The work a message asks for. `stop` fires on shutdown, or when the
/// message's visibility could not be extended (another consumer may hold it
/// by then): the handler stops at its next safe point and saves progress.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(&'a self, delivery: &'a Delivery, stop: &'a CancellationToken) -> impl Future<Output = Disposition> + Send + 'a;
}

pub struct ConsumerSettings {
    /// Messages handled at once.
    pub workers: usize,
    /// How often a message's visibility is extended while it is handled.
    pub heartbeat: Duration,
}

pub struct Consumer<Q, H> {
    queue: Arc<Q>,
    handler: Arc<H>,
    metrics: Arc<Metrics>,
    settings: ConsumerSettings,
}

impl<Q: Queue, H: Handler> Consumer<Q, H> {
    pub fn new(queue: Arc<Q>, handler: Arc<H>, metrics: Arc<Metrics>, settings: ConsumerSettings) -> Self {
        Self { queue, handler, metrics, settings }
    }

    /// Consumes until `shutdown` or until the queue says it is finished,
    /// then lets in-flight handlers stop at their next safe point and gives
    /// their messages back. `Err` only for a fatal queue error (say, a
    /// queue that does not exist).
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
        tracing::info!(in_flight = tasks.len(), "stopped receiving; finishing in-flight work");
        while tasks.join_next().await.is_some() {}
        fatal.map_or(Ok(()), Err)
    }

    async fn handle(&self, delivery: Delivery, shutdown: &CancellationToken) {
        self.metrics.messages_received.inc();
        let stop = shutdown.child_token();
        let heartbeat = self.heartbeat(&delivery, stop.clone());
        let disposition = self.handler.handle(&delivery, &stop).await;
        heartbeat.cancel();
        let message_id = &delivery.message_id;
        match disposition {
            Disposition::Delete => match self.queue.delete(&delivery.receipt).await {
                Ok(()) => {
                    self.metrics.messages_deleted.inc();
                }
                // The work is recorded as done: a redelivery is acknowledged without work.
                Err(err) => tracing::warn!(%message_id, "{err}"),
            },
            Disposition::Release(visible_in) => {
                self.metrics.messages_failed.inc();
                if let Err(err) = self.queue.release(&delivery.receipt, visible_in).await {
                    tracing::warn!(%message_id, "{err}");
                }
            }
        }
    }

    /// Keeps the message invisible to other consumers until the returned
    /// token is cancelled. A failed extension cancels `lost`: the receipt
    /// may be gone, and work on a message another consumer may hold must
    /// stop (the work stays exact either way: see ingester/DESIGN.md).
    fn heartbeat(&self, delivery: &Delivery, lost: CancellationToken) -> CancellationToken {
        let done = CancellationToken::new();
        let (queue, period, finished) = (self.queue.clone(), self.settings.heartbeat, done.clone());
        let (receipt, message_id) = (delivery.receipt.clone(), delivery.message_id.clone());
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

/// Runs `attempt` again while it fails with a retryable error, with
/// exponential backoff, for up to `retry_for` (or until `stop`). Retrying in
/// place keeps the queue's receive count, and so its dead-letter threshold,
/// for work that is really bad.
pub async fn retry_in_place<T, F, Fut>(what: &str, retry_for: Duration, stop: &CancellationToken, mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let mut backoff = Duration::from_secs(1);
    loop {
        let result = attempt().await;
        match &result {
            Err(err) if err.kind() == ErrorKind::Retryable && started.elapsed() + backoff < retry_for => {
                tracing::info!(%what, retry_in_secs = backoff.as_secs(), "retrying in place: {err}");
                if sleep_or_cancel(backoff, stop).await {
                    return result;
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
            _ => return result,
        }
    }
}

/// Sleeps for `period`; `true` if `cancel` fired first.
pub async fn sleep_or_cancel(period: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(period) => false,
        () = cancel.cancelled() => true,
    }
}
