//! Where work comes from (announcements of new objects, sync jobs): a narrow
//! queue interface, with SQS in production (`sqs`) and a finite in-memory
//! queue (`memory`) that `replay` and the tests feed directly.

mod memory;
mod sqs;

use std::future::Future;
use std::time::Duration;

pub use self::memory::MemoryQueue;
pub use self::sqs::SqsQueue;
use crate::error::Error;

/// One received message.
#[derive(Debug)]
pub struct Delivery {
    /// Identifies this receipt of the message in later calls.
    pub receipt: String,
    /// For logs: the queue's message id.
    pub message_id: String,
    /// How often the message has been received, this time included.
    pub receives: u32,
    /// The body, which the handler parses first thing.
    pub body: String,
}

/// A queue of at-least-once deliveries. Contract:
/// * a received message stays invisible to other receivers until it is
///   deleted, released, or its visibility (extended by `extend`) runs out;
/// * `delete` is final; a message never deleted is delivered again, and a
///   queue may move it aside (a dead-letter queue) after enough receives;
/// * `Ok(None)` from `receive` means the queue will never deliver again
///   (only finite queues say so; SQS never does).
pub trait Queue: Send + Sync + 'static {
    /// Up to `max` messages, waiting at most the queue's poll time for one.
    fn receive(&self, max: usize) -> impl Future<Output = Result<Option<Vec<Delivery>>, Error>> + Send;
    /// Keeps a message invisible for another visibility period. An error
    /// means the receipt may be lost: the caller must stop working on it.
    fn extend(&self, receipt: &str) -> impl Future<Output = Result<(), Error>> + Send;
    /// Acknowledges a message for good.
    fn delete(&self, receipt: &str) -> impl Future<Output = Result<(), Error>> + Send;
    /// Gives a message back, to be delivered again after `visible_in`.
    fn release(&self, receipt: &str, visible_in: Duration) -> impl Future<Output = Result<(), Error>> + Send;
}
