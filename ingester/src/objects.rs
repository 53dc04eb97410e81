//! The handler of the log queue: a message announces S3 objects; it may be
//! deleted once every one of them is committed (or needs no work).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::consumer::{Disposition, Handler, retry_in_place};
use crate::error::Error;
use crate::ingest::{Ingestor, Outcome};
use crate::queue::Delivery;
use crate::s3_event::{self, Announcement, ObjectCreated};

/// What became of one object, for a caller that reports progress.
#[derive(Debug)]
pub struct Handled {
    pub object: ObjectCreated,
    pub result: Result<Outcome, Error>,
}

pub struct ObjectHandler {
    ingestor: Arc<Ingestor>,
    /// How long a retryable failure is retried in place (`ingest.retry_for_secs`).
    retry_for: Duration,
    /// When a message given back after those retries comes again.
    visibility_timeout: Duration,
    report: Option<mpsc::UnboundedSender<Handled>>,
}

impl ObjectHandler {
    pub fn new(ingestor: Arc<Ingestor>, retry_for: Duration, visibility_timeout: Duration) -> Self {
        Self { ingestor, retry_for, visibility_timeout, report: None }
    }

    /// Sends every object's outcome to `report` as it is handled.
    pub fn reporting_to(mut self, report: mpsc::UnboundedSender<Handled>) -> Self {
        self.report = Some(report);
        self
    }
}

impl Handler for ObjectHandler {
    async fn handle(&self, delivery: &Delivery, stop: &CancellationToken) -> Disposition {
        let objects = match s3_event::parse(&delivery.body) {
            Ok(Announcement::Objects(objects)) => objects,
            Ok(Announcement::Test) => Vec::new(),
            Err(err) => {
                // Poison: given back at once, so the queue dead-letters it
                // after its few receives instead of after as many visibility
                // timeouts.
                tracing::error!(message_id = %delivery.message_id, receives = delivery.receives, "{err}; leaving it for the dead-letter queue");
                return Disposition::Release(Duration::ZERO);
            }
        };
        let mut visible_in = None;
        for object in &objects {
            let result = retry_in_place(&object.key, self.retry_for, stop, || self.ingestor.ingest(object, stop)).await;
            visible_in = match &result {
                Ok(outcome) if outcome.acknowledges() => visible_in,
                // Progress is saved; anyone may resume now.
                Ok(Outcome::Released) => Some(Duration::ZERO),
                // Unreadable: retried promptly, so that it reaches the
                // dead-letter queue in minutes, not hours.
                Ok(Outcome::Failed(_)) => Some(Duration::ZERO),
                Ok(_) | Err(_) => Some(self.visibility_timeout),
            }
            .max(visible_in);
            if let Some(report) = &self.report {
                let _ = report.send(Handled { object: object.clone(), result });
            }
        }
        visible_in.map_or(Disposition::Delete, Disposition::Release)
    }
}
