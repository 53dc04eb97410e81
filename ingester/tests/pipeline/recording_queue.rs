//! A test double around any [`Queue`]: it records every call the consumer
//! makes, and can make every visibility extension fail (a lost receipt).

use std::sync::Mutex;
use std::time::Duration;

use adhouse_ingester::error::Error;
use adhouse_ingester::queue::{Delivery, Queue};

/// One call of the consumer, by message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// A delivery, with the queue's receive count.
    Received { message: String, receives: u32 },
    Extended { message: String },
    Deleted { message: String },
    Released { message: String, visible_in: Duration },
}

pub struct RecordingQueue<Q> {
    inner: Q,
    fail_extend: bool,
    /// Receipt → message id of every delivery so far.
    receipts: Mutex<Vec<(String, String)>>,
    calls: Mutex<Vec<Call>>,
}

impl<Q: Queue> RecordingQueue<Q> {
    pub fn new(inner: Q) -> Self {
        Self { inner, fail_extend: false, receipts: Mutex::default(), calls: Mutex::default() }
    }

    /// Every `extend` fails, without reaching the inner queue.
    pub fn failing_extensions(inner: Q) -> Self {
        Self { fail_extend: true, ..Self::new(inner) }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn message_of(&self, receipt: &str) -> String {
        let receipts = self.receipts.lock().unwrap();
        receipts.iter().find(|(r, _)| r == receipt).map_or_else(|| format!("unknown receipt {receipt}"), |(_, m)| m.clone())
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }
}

impl<Q: Queue> Queue for RecordingQueue<Q> {
    async fn receive(&self, max: usize) -> Result<Option<Vec<Delivery>>, Error> {
        let received = self.inner.receive(max).await?;
        for delivery in received.iter().flatten() {
            self.receipts.lock().unwrap().push((delivery.receipt.clone(), delivery.message_id.clone()));
            self.record(Call::Received { message: delivery.message_id.clone(), receives: delivery.receives });
        }
        Ok(received)
    }

    async fn extend(&self, receipt: &str) -> Result<(), Error> {
        self.record(Call::Extended { message: self.message_of(receipt) });
        if self.fail_extend {
            return Err(Error::Queue {
                queue: "recording".into(),
                operation: "ChangeMessageVisibility",
                message: "ReceiptHandleIsInvalid (test double)".into(),
                fatal: false,
            });
        }
        self.inner.extend(receipt).await
    }

    async fn delete(&self, receipt: &str) -> Result<(), Error> {
        self.record(Call::Deleted { message: self.message_of(receipt) });
        self.inner.delete(receipt).await
    }

    async fn release(&self, receipt: &str, visible_in: Duration) -> Result<(), Error> {
        self.record(Call::Released { message: self.message_of(receipt), visible_in });
        self.inner.release(receipt, visible_in).await
    }
}

/// The double's own contract: calls reach the inner queue and are recorded
/// under the message they are about; a failing extension never reaches it.
#[tokio::test]
async fn the_recording_queue_records_each_call_by_message_and_fails_extensions_on_request() {
    use adhouse_ingester::queue::MemoryQueue;

    let queue = RecordingQueue::failing_extensions(MemoryQueue::of_bodies(["a".to_owned(), "b".to_owned()]));
    let deliveries = queue.receive(10).await.unwrap().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(queue.extend(&deliveries[0].receipt).await.is_err());
    queue.delete(&deliveries[0].receipt).await.unwrap();
    queue.release(&deliveries[1].receipt, Duration::ZERO).await.unwrap();
    assert!(queue.receive(10).await.unwrap().is_none(), "the inner queue saw both settled");
    let (a, b) = (deliveries[0].message_id.clone(), deliveries[1].message_id.clone());
    assert_eq!(queue.calls(), [
        Call::Received { message: a.clone(), receives: 1 },
        Call::Received { message: b.clone(), receives: 1 },
        Call::Extended { message: a.clone() },
        Call::Deleted { message: a },
        Call::Released { message: b, visible_in: Duration::ZERO },
    ]);
}
