//! A finite in-memory queue: `replay` feeds it the objects of a listing,
//! `sync` one job, and tests use it to drive the consumer without SQS. Each
//! message is delivered once: a released message is not delivered again
//! (the handlers report what became of their work).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use super::{Delivery, Queue};
use crate::error::Error;


#[derive(Default)]
pub struct MemoryQueue {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pending: VecDeque<(String, String)>,
    /// Delivered, neither deleted nor released yet.
    in_flight: usize,
}

impl MemoryQueue {
    /// One message per body.
    pub fn of_bodies(bodies: impl IntoIterator<Item = String>) -> Self {
        let pending = bodies.into_iter().enumerate().map(|(i, body)| (i.to_string(), body)).collect();
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
                .map(|(receipt, body)| Delivery { message_id: receipt.clone(), receipt, receives: 1, body })
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
