//! The HTTP layer every platform client and partner feed goes through: timeouts, retries with
//! exponential backoff and jitter, and pacing from the platform's usage
//! headers, read on every response (success or error).
//!
//! Pacing is per key (an app, an ad account), shared by every task of the
//! process through one [`Pacer`]. Several processes share nothing but the
//! platform's own counters, which its usage headers report on every answer:
//! each process slows down as the shared usage rises, so more processes
//! never push an app past its limit, they only divide it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};
use crate::model::PlatformId;

/// Who answers through this layer: an ad platform, or a partner's reporting
/// API (a live-metrics feed, named in its settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    Platform(PlatformId),
    Feed(Arc<str>),
}

impl From<PlatformId> for Remote {
    fn from(platform: PlatformId) -> Self {
        Self::Platform(platform)
    }
}

impl std::fmt::Display for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Platform(platform) => platform.fmt(f),
            Self::Feed(name) => write!(f, "feed {name}"),
        }
    }
}

/// How one remote API reads its answers.
pub trait Dialect: Send + Sync {
    fn remote(&self) -> Remote;
    /// `Err` for an error answer, with the platform's code and what to do.
    fn check(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<()>;
    /// Pauses the platform asks for in its usage headers: (pacing key, wait).
    fn pacing(&self, headers: &HeaderMap) -> Vec<(String, Duration)>;
}

/// Where the HTTP layer reports every platform call and every pause, for the
/// binaries' metrics (the library keeps no registry of its own).
pub trait CallObserver: Send + Sync {
    /// One answer (or transport failure): `ok` or the error kind (`retry`, `split`, `relink`, `fatal`).
    fn call(&self, remote: &Remote, outcome: &'static str);
    /// Time spent not calling: `pacing` (usage headers asked for it) or `retry` (backoff after a failure).
    fn waited(&self, remote: &Remote, reason: &'static str, wait: Duration);
}

/// Per-key "not before" instants, shared by all tasks of a process.
#[derive(Clone, Default)]
pub struct Pacer {
    not_before: Arc<Mutex<HashMap<String, Instant>>>,
    /// Total time spent waiting, for the throttling metric.
    waited: Arc<Mutex<Duration>>,
}

impl Pacer {
    /// Waits until every key of `keys` may be used; returns how long.
    pub async fn wait(&self, keys: &[String]) -> Duration {
        let until = {
            let map = self.not_before.lock().expect("never poisoned");
            keys.iter().filter_map(|key| map.get(key)).max().copied()
        };
        let now = Instant::now();
        match until {
            Some(until) if until > now => {
                tracing::info!(wait_secs = (until - now).as_secs_f64(), "pacing platform calls");
                *self.waited.lock().expect("never poisoned") += until - now;
                tokio::time::sleep_until(until).await;
                until - now
            }
            _ => Duration::ZERO,
        }
    }

    /// Holds `key` back for `wait` from now (never shortening a longer hold).
    pub fn hold(&self, key: &str, wait: Duration) {
        let until = Instant::now() + wait;
        let mut map = self.not_before.lock().expect("never poisoned");
        let entry = map.entry(key.to_owned()).or_insert(until);
        *entry = (*entry).max(until);
    }

    pub fn waited(&self) -> Duration {
        *self.waited.lock().expect("never poisoned")
    }
}

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    pacer: Pacer,
    attempts: u32,
    first_backoff: Duration,
    observer: Option<Arc<dyn CallObserver>>,
}

impl Http {
    /// `timeout` per request; up to `attempts` tries of a retryable failure.
    pub fn new(timeout: Duration, attempts: u32, pacer: Pacer) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("adhouse/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Self { client, pacer, attempts: attempts.max(1), first_backoff: Duration::from_millis(500), observer: None }
    }

    /// Reporting every call and pause to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// With a shorter first backoff (tests of the retry path).
    pub fn with_first_backoff(mut self, backoff: Duration) -> Self {
        self.first_backoff = backoff;
        self
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// Sends the request `build` makes (again on each attempt) once `keys`
    /// are not held, retrying what `dialect` says is retryable, and returns
    /// the body of the first successful answer.
    pub async fn send(&self, dialect: &dyn Dialect, keys: &[String], build: impl Fn() -> RequestBuilder) -> Result<Vec<u8>> {
        let remote = dialect.remote();
        let mut backoff = self.first_backoff;
        let mut attempt = 1;
        loop {
            let paced = self.pacer.wait(keys).await;
            if let (Some(observer), false) = (&self.observer, paced.is_zero()) {
                observer.waited(&remote, "pacing", paced);
            }
            let outcome = self.attempt(dialect, build()).await;
            if let Some(observer) = &self.observer {
                observer.call(&remote, outcome.as_ref().map_or_else(|err| err.kind().as_str(), |_| "ok"));
            }
            match outcome {
                Err(err) if err.kind() == ErrorKind::Retry && attempt < self.attempts => {
                    let wait = err.retry_after().unwrap_or(backoff).max(backoff) + jitter(backoff);
                    tracing::warn!(remote = %remote, attempt, wait_secs = wait.as_secs_f64(), "retrying: {err}");
                    if let Some(observer) = &self.observer {
                        observer.waited(&remote, "retry", wait);
                    }
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn attempt(&self, dialect: &dyn Dialect, request: RequestBuilder) -> Result<Vec<u8>> {
        // Without the URL: some token exchanges carry the app secret and the
        // code in the query string (Meta's), and transport errors get logged.
        let transport = |source: reqwest::Error| Error::Transport { remote: dialect.remote(), source: source.without_url() };
        let response = request.send().await.map_err(transport)?;
        let (status, headers) = (response.status(), response.headers().clone());
        for (key, wait) in dialect.pacing(&headers) {
            self.pacer.hold(&key, wait);
        }
        let body = response.bytes().await.map_err(transport)?;
        dialect.check(status, &headers, &body)?;
        Ok(body.to_vec())
    }
}

/// Up to a quarter of `backoff`, so that tasks throttled together do not
/// come back together.
fn jitter(backoff: Duration) -> Duration {
    let mut byte = [0u8; 1];
    aws_lc_rs::rand::fill(&mut byte).expect("the system random generator works");
    backoff / 4 * u32::from(byte[0]) / 255
}

/// Parses a JSON body into `T`, naming the remote and what was expected.
pub fn json<T: serde::de::DeserializeOwned>(remote: impl Into<Remote>, what: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|err| Error::Decode { remote: remote.into(), detail: format!("{what}: {err}") })
}
