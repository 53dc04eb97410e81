//! A finite in-memory queue: `replay` feeds it the objects of a listing, and
//! tests use it to drive the consumer without SQS. Each message is delivered
//! once: a released message is not delivered again (the consumer reports
//! what became of every object).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use super::{Delivery, Queue};
use crate::error::Error;
use crate::s3_event::{Announcement, ObjectCreated};

#[derive(Default)]
pub struct MemoryQueue {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pending: VecDeque<(String, Announcement)>,
    /// Delivered, neither deleted nor released yet.
    in_flight: usize,
}

impl MemoryQueue {
    /// One message per object.
    pub fn of_objects(objects: impl IntoIterator<Item = ObjectCreated>) -> Self {
        let pending = objects
            .into_iter()
            .enumerate()
            .map(|(i, object)| (i.to_string(), Announcement::Objects(vec![object])))
            .collect();
        Self { state: Mutex::new(State { pending, ..State::default() }) }
    }

    fn settle(&self) {
        self.state.lock().expect("never poisoned").in_flight -= 1;
    }
}

impl Queue for MemoryQueue {
    async fn receive(&self, max: usize) -> Result<Option<Vec<Delivery>>, Error> {
        let deliveries = {
            let mut state = self.state.lock().expect("never poisoned");
            // Finished once nothing is pending or can come back.
            if state.pending.is_empty() && state.in_flight == 0 {
                return Ok(None);
            }
            let take = max.min(state.pending.len());
            state.in_flight += take;
            let deliveries: Vec<Delivery> = state
                .pending
                .drain(..take)
                .map(|(receipt, announcement)| Delivery {
                    message_id: receipt.clone(),
                    receipt,
                    receives: 1,
                    announcement: Ok(announcement),
                })
                .collect();
            deliveries
        };
        if deliveries.is_empty() {
            // A short wait stands in for the long poll while messages are in flight.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Some(deliveries))
    }

    async fn extend(&self, _receipt: &str) -> Result<(), Error> {
        Ok(())
    }

    async fn delete(&self, _receipt: &str) -> Result<(), Error> {
        self.settle();
        Ok(())
    }

    async fn release(&self, _receipt: &str, _visible_in: Duration) -> Result<(), Error> {
        self.settle();
        Ok(())
    }
}
