//! The pauses between polls of an asynchronous report job (Meta's report
//! runs, Yahoo! JAPAN's report jobs): short at first, since small jobs finish
//! in a second, then half as long again each time up to ten seconds, for
//! about half an hour before the job counts as stuck.

use std::time::Duration;

const FIRST_INTERVAL: Duration = Duration::from_millis(100);
const MAX_INTERVAL: Duration = Duration::from_secs(10);
const MAX_POLLS: u32 = 200;

pub struct Polls {
    interval: Duration,
    done: u32,
}

impl Default for Polls {
    fn default() -> Self {
        Self { interval: FIRST_INTERVAL, done: 0 }
    }
}

impl Polls {
    /// Sleeps before the next poll; `false` (at once) when no poll is left.
    pub async fn wait(&mut self) -> bool {
        self.done += 1;
        if self.done >= MAX_POLLS {
            return false;
        }
        tokio::time::sleep(self.interval).await;
        self.interval = self.interval.mul_f64(1.5).min(MAX_INTERVAL);
        true
    }
}
