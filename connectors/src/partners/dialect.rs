//! How a partner's reporting API answers errors. Partners share no error
//! format, so only HTTP semantics are read: 429 and 5xx (and 408) may pass
//! and are retried, after `Retry-After` when the partner sends one; any
//! other non-2xx is the feed's configuration (URL, credentials) and fails
//! the poll with the partner's own words.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::{Error, ErrorKind, Result};
use crate::http::{Dialect, Remote};

pub struct PartnerDialect {
    pub remote: Remote,
}

impl Dialect for PartnerDialect {
    fn remote(&self) -> Remote {
        self.remote.clone()
    }

    fn check(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<()> {
        if status.is_success() {
            return Ok(());
        }
        let retryable = status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT || status.is_server_error();
        let message: String = String::from_utf8_lossy(body).chars().take(300).collect();
        Err(Error::Platform {
            remote: self.remote.clone(),
            status: status.as_u16(),
            code: status.canonical_reason().unwrap_or("error").to_owned(),
            message,
            kind: if retryable { ErrorKind::Retry } else { ErrorKind::Fatal },
            retry_after: retry_after(headers),
        })
    }

    /// A partner's throttling arrives as 429s with `Retry-After`, which
    /// [`PartnerDialect::check`] turns into the retry's wait; there are no
    /// usage headers to pace by.
    fn pacing(&self, _headers: &HeaderMap) -> Vec<(String, Duration)> {
        Vec::new()
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and read as absent).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(3_600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retried_after_what_the_partner_asks() {
        let dialect = PartnerDialect { remote: Remote::Feed("f".into()) };
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        let err = dialect.check(StatusCode::TOO_MANY_REQUESTS, &headers, b"slow down").unwrap_err();
        assert_eq!((err.kind(), err.retry_after()), (ErrorKind::Retry, Some(Duration::from_secs(7))));
        let err = dialect.check(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Retry);
        let err = dialect.check(StatusCode::UNAUTHORIZED, &HeaderMap::new(), b"bad key").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Fatal);
        assert!(err.to_string().contains("feed f: HTTP 401") && err.to_string().contains("bad key"), "{err}");
    }
}
