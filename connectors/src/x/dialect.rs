//! How X answers errors and reports its limits, parsed into
//! [`Error::Platform`] and pauses.
//!
//! Ads API errors (developer.x.com, Ads API → "Response codes"):
//! `{"errors":[{"code":"INVALID_PARAMETER","message":"…","parameter":"…"}],
//! "request":{…}}`; the OAuth endpoints of api.x.com answer
//! `{"errors":[{"code":32,"message":"Could not authenticate you."}]}` with a
//! number, or plain text. 401 is any failed authentication (X's "Response
//! codes"): this host's clock off X's window (the answer's `Date` says so;
//! code 135 at the OAuth endpoints), a signature X cannot check (32: the
//! app's consumer key or secret in our settings) → fatal, relinking cannot
//! help; else the token is revoked or invalid (89; X's tokens never expire)
//! → relink. The Ads API answers all three with UNAUTHORIZED_ACCESS: `X`
//! tells them apart (`X::call`). 429: over a rate limit, until
//! `x-rate-limit-reset` (or `x-account-rate-limit-reset`, Unix seconds).
//! 503: over capacity, with `retry-after`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Dialect, Remote};
use crate::model::PlatformId;
use crate::oauth::now;

/// Wait when a 429 or 503 names no instant (seconds).
const DEFAULT_PAUSE: Duration = Duration::from_secs(5);
/// A job slot frees when a running job ends; jobs of the size asked for end
/// within seconds, so the account's job creations pause this long.
pub(super) const JOB_SLOT_PAUSE: Duration = Duration::from_secs(2);

/// X's dialect for one request: `app_key` is held for the user's endpoint
/// limit (`x-rate-limit-*`), `account_key` for the ad account's
/// (`x-account-rate-limit-*`) and `jobs_key` when no async-job slot is left;
/// `clock` takes X's time from a refusal's `Date`.
pub(super) struct XDialect<'a> {
    pub app_key: String,
    pub account_key: Option<String>,
    pub jobs_key: Option<String>,
    pub api_version: &'a str,
    pub clock: &'a Clock,
}

/// What relinking cannot mend: the settings to check.
const APP_REFUSED: &str = "X cannot check the app's signature: check platforms.x.consumer_key and platforms.x.consumer_secret (relinking cannot help)";

#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    /// Text in the Ads API, a number at the OAuth endpoints.
    code: serde_json::Value,
    #[serde(default)]
    message: String,
    #[serde(default)]
    parameter: Option<String>,
}

fn header<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Until the Unix second `reset` names, from now (at least a second: the
/// reset is whole seconds).
fn until_reset(headers: &HeaderMap, prefix: &str) -> Option<Duration> {
    let reset: i64 = header(headers, &format!("{prefix}-reset"))?;
    Some(Duration::from_secs((reset - now()).max(1) as u64))
}

/// The pause of an exhausted limit: `remaining` is 0 and a reset is named.
fn exhausted(headers: &HeaderMap, prefix: &str) -> Option<Duration> {
    (header::<u64>(headers, &format!("{prefix}-remaining")) == Some(0)).then(|| until_reset(headers, prefix)).flatten()
}

impl XDialect<'_> {
    /// A 401's kind and what to check when relinking cannot help: the
    /// clock (a `Date` off ours, whatever the code; 135), the app's
    /// settings (32); else the grant.
    fn unauthorized(&self, headers: &HeaderMap, code: &str) -> (ErrorKind, Option<String>) {
        if let Some(skew) = self.clock.correct(headers) {
            return (ErrorKind::Fatal, Some(format!("this host's clock is {skew} s off X's Date, out of X's window for OAuth timestamps: fix the host's clock (NTP)")));
        }
        match code {
            "135" => (ErrorKind::Fatal, Some("the OAuth timestamp is out of X's window: check this host's clock".into())),
            "32" => (ErrorKind::Fatal, Some(APP_REFUSED.into())),
            _ => (ErrorKind::Relink, None),
        }
    }
}

impl Dialect for XDialect<'_> {
    fn remote(&self) -> Remote {
        PlatformId::X.into()
    }

    fn check(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<()> {
        if status.is_success() {
            return Ok(());
        }
        let (code, mut message) = match serde_json::from_slice::<ErrorBody>(body).ok().and_then(|b| b.errors.into_iter().next()) {
            Some(error) => {
                let code = match error.code {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                };
                let message = match error.parameter {
                    Some(parameter) => format!("{} (parameter {parameter})", error.message),
                    None => error.message,
                };
                (code, message)
            }
            None => (format!("http_{}", status.as_u16()), String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()),
        };
        let (kind, retry_after) = match status {
            StatusCode::UNAUTHORIZED => {
                let (kind, check) = self.unauthorized(headers, &code);
                if let Some(check) = check {
                    message = format!("{message} ({check})");
                }
                (kind, None)
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = until_reset(headers, "x-account-rate-limit").max(until_reset(headers, "x-rate-limit"));
                (ErrorKind::Retry, Some(wait.unwrap_or(DEFAULT_PAUSE)))
            }
            _ if status.is_server_error() => {
                (ErrorKind::Retry, Some(header::<u64>(headers, "retry-after").map_or(DEFAULT_PAUSE, Duration::from_secs)))
            }
            _ => (ErrorKind::Fatal, None),
        };
        // A path adhouse always sends that X does not know: the version is gone.
        let message = if status == StatusCode::NOT_FOUND && code == "ROUTE_NOT_FOUND" {
            format!("{message} (Ads API version {} is not served: it may be sunset; set platforms.x.api_version)", self.api_version)
        } else {
            message
        };
        Err(Error::Platform { remote: PlatformId::X.into(), status: status.as_u16(), code, message, kind, retry_after })
    }

    /// Holds a key whose limit is used up until its reset, on every answer
    /// (X sends the headers on errors too); a 429 is then waited out by the
    /// retry, and calls of other tasks wait before they are sent.
    fn pacing(&self, headers: &HeaderMap) -> Vec<(String, Duration)> {
        let mut holds = Vec::new();
        if let Some(wait) = exhausted(headers, "x-rate-limit") {
            holds.push((self.app_key.clone(), wait));
        }
        if let (Some(key), Some(wait)) = (&self.account_key, exhausted(headers, "x-account-rate-limit")) {
            holds.push((key.clone(), wait));
        }
        if let (Some(key), Some(0)) = (&self.jobs_key, header::<u64>(headers, "x-concurrent-job-limit-remaining")) {
            holds.push((key.clone(), JOB_SLOT_PAUSE));
        }
        holds
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    static CLOCK: std::sync::LazyLock<Clock> = std::sync::LazyLock::new(Clock::default);

    fn dialect() -> XDialect<'static> {
        XDialect { app_key: "x:app".into(), account_key: Some("x:acc".into()), jobs_key: Some("x:jobs".into()), api_version: "12", clock: &CLOCK }
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn failed(status: u16, headers: &HeaderMap, body: &str) -> Error {
        dialect().check(StatusCode::from_u16(status).unwrap(), headers, body.as_bytes()).unwrap_err()
    }

    #[test]
    fn documented_answers_map_to_kinds() {
        let none = HeaderMap::new();
        let invalid = r#"{"errors":[{"code":"INVALID_PARAMETER","message":"Expected a whole hour","parameter":"start_time"}],"request":{}}"#;
        let err = failed(400, &none, invalid);
        assert_eq!(err.kind(), ErrorKind::Fatal);
        assert!(err.to_string().contains("INVALID_PARAMETER") && err.to_string().contains("parameter start_time"), "{err}");
        let revoked = failed(401, &none, r#"{"errors":[{"code":"UNAUTHORIZED_ACCESS","message":"This request is not properly authenticated"}]}"#);
        assert_eq!(revoked.kind(), ErrorKind::Relink);
        assert_eq!(failed(401, &none, r#"{"errors":[{"code":89,"message":"Invalid or expired token."}]}"#).kind(), ErrorKind::Relink);
        let app = failed(401, &none, r#"{"errors":[{"code":32,"message":"Could not authenticate you."}]}"#);
        assert!(app.kind() == ErrorKind::Fatal && app.to_string().contains("platforms.x.consumer_secret"), "{app}");
        let clock = failed(401, &none, r#"{"errors":[{"code":135,"message":"Timestamp out of bounds."}]}"#);
        assert!(clock.kind() == ErrorKind::Fatal && clock.to_string().contains("clock"), "{clock}");
        let busy = failed(503, &headers(&[("retry-after", "7".into())]), r#"{"errors":[{"code":"SERVICE_UNAVAILABLE","message":"Over capacity"}]}"#);
        assert_eq!((busy.kind(), busy.retry_after()), (ErrorKind::Retry, Some(Duration::from_secs(7))));
        let gone = failed(404, &none, r#"{"errors":[{"code":"ROUTE_NOT_FOUND","message":"The requested resource could not be found"}]}"#);
        assert!(gone.to_string().contains("version 12 is not served"), "{gone}");
        assert!(dialect().check(StatusCode::OK, &none, b"{}").is_ok());
    }

    #[test]
    fn a_429_waits_until_the_later_reset_and_exhausted_limits_hold_their_keys() {
        let soon = headers(&[
            ("x-rate-limit-remaining", "0".into()),
            ("x-rate-limit-reset", (now() + 30).to_string()),
            ("x-account-rate-limit-remaining", "0".into()),
            ("x-account-rate-limit-reset", (now() + 60).to_string()),
            ("x-concurrent-job-limit-remaining", "0".into()),
        ]);
        let throttled = failed(429, &soon, r#"{"errors":[{"code":"TOO_MANY_REQUESTS","message":"Rate limit exceeded"}]}"#);
        let wait = throttled.retry_after().unwrap();
        assert!(throttled.kind() == ErrorKind::Retry && wait > Duration::from_secs(50) && wait <= Duration::from_secs(60), "{wait:?}");
        let keys: Vec<String> = dialect().pacing(&soon).into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["x:app", "x:acc", "x:jobs"]);
        let plenty = headers(&[("x-rate-limit-remaining", "99".into()), ("x-rate-limit-reset", (now() + 30).to_string())]);
        assert!(dialect().pacing(&plenty).is_empty());
    }
}
