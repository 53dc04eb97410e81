//! X's time as this host best knows it, for OAuth 1.0a timestamps.
//!
//! X refuses a request whose `oauth_timestamp` is outside its window (401,
//! code 135 "Timestamp out of bounds" at the OAuth endpoints; the Ads API's
//! one UNAUTHORIZED_ACCESS). Every answer carries X's `Date`: after a 401
//! whose `Date` shows this host's clock off, the offset is kept and
//! requests are signed with X's time, as X's own TwitterKit does
//! (`TWTRAPIDateSync`). The clock still wants fixing; the log says so.

use std::sync::atomic::{AtomicI64, Ordering};

use reqwest::header::{DATE, HeaderMap};

use crate::oauth::now;

/// A `Date` this far from our clock (seconds) explains a 401: beyond the
/// second-resolution of `Date` and the round trip, well inside X's window
/// (unverified; 5 minutes is the common OAuth 1.0a choice).
const TOLERANCE_SECS: i64 = 30;

#[derive(Debug, Default)]
pub(super) struct Clock {
    /// X's time minus this host's, in seconds.
    offset_secs: AtomicI64,
}

impl Clock {
    /// Unix seconds on X's clock.
    pub fn now(&self) -> i64 {
        now() + self.offset_secs()
    }

    pub fn offset_secs(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }

    /// Takes X's time from the `Date` of a refusal: `Some` (how far off we
    /// were, in seconds) when it is off ours by more than the tolerance.
    pub fn correct(&self, headers: &HeaderMap) -> Option<i64> {
        let date = headers.get(DATE)?.to_str().ok()?;
        let theirs = time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc2822).ok()?.unix_timestamp();
        let skew = theirs - self.now();
        (skew.abs() > TOLERANCE_SECS).then(|| {
            self.offset_secs.fetch_add(skew, Ordering::Relaxed);
            skew
        })
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn dated(unix: i64) -> HeaderMap {
        let text = time::OffsetDateTime::from_unix_timestamp(unix).unwrap().format(&time::format_description::well_known::Rfc2822).unwrap();
        HeaderMap::from_iter([(DATE, HeaderValue::from_str(&text.replace("+0000", "GMT")).unwrap())])
    }

    #[test]
    fn a_date_an_hour_ahead_moves_the_clock_and_a_close_one_does_not() {
        let clock = Clock::default();
        assert_eq!(clock.correct(&dated(now() + 5)), None);
        let skew = clock.correct(&dated(now() + 3_600)).unwrap();
        assert!((3_590..=3_600).contains(&skew), "{skew}");
        assert_eq!(clock.offset_secs(), skew);
        assert_eq!(clock.correct(&dated(now() + 3_600)), None, "corrected once");
        assert_eq!(clock.correct(&HeaderMap::new()), None);
    }
}
