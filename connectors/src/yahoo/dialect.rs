//! How Yahoo! JAPAN Ads answers errors, parsed into [`Error::Platform`].
//!
//! Error codes: the Search Ads API's `bestpractice/*/errorcodes.md`
//! (yahoojp-marketing/ads-search-api-documents; Display's is the same list).
//! Three shapes arrive: a non-200 status with `{"rid","errors":[{"code",
//! "message","details"}]}` (authentication, system errors); the same body
//! with 200 OK when the whole request breaks a constraint ("full error");
//! and OAuth's `{"error","error_description"}` from the token endpoint.
//! Per-operand failures (200, `operationSucceeded: false`) are the report
//! code's to read. Yahoo! JAPAN documents no usage headers.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{Dialect, Pacer, Remote};
use crate::model::PlatformId;

/// Authentication failed: an access token expired, revoked, or from a grant
/// that is gone. `Yahoo` refreshes once; a second refusal needs a relink.
pub(super) const AUTH_FAILED: &str = "0111";
/// "Frequency limit exceeded. Please try your request again later." Yahoo!
/// says no more; a second keeps a burst of tasks off the account, and the
/// HTTP layer backs off further when it repeats.
const FREQUENCY_LIMIT_PAUSE: Duration = Duration::from_secs(1);

/// Yahoo's dialect for one request: `pacing_key` (`yahoo:<account>`) is held
/// on a frequency-limit answer, so every task of the process waits before
/// calling that account again; `api_version` names the version in the
/// message of a sunset one.
pub(super) struct YahooDialect<'a> {
    pub pacer: &'a Pacer,
    pub pacing_key: Option<String>,
    pub api_version: &'a str,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorBody {
    /// Tried first: every API answer would also read as `Api` (its `errors` may be absent).
    OAuth {
        error: String,
        #[serde(default)]
        error_description: String,
    },
    Api {
        errors: Option<Vec<ApiError>>,
    },
}

#[derive(Deserialize)]
pub(super) struct ApiError {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl Dialect for YahooDialect<'_> {
    fn remote(&self) -> Remote {
        PlatformId::Yahoo.into()
    }

    fn check(&self, status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> Result<()> {
        // A report download is CSV: only a JSON object can be an error body.
        let parsed = if body.first() == Some(&b'{') { serde_json::from_slice::<ErrorBody>(body).ok() } else { None };
        let (code, message) = match parsed {
            Some(ErrorBody::Api { errors: Some(errors) }) if !errors.is_empty() => {
                let first = errors.into_iter().next().expect("not empty");
                (first.code, first.message)
            }
            Some(ErrorBody::OAuth { error, error_description }) => (error, error_description),
            _ if status.is_success() => return Ok(()),
            _ => (format!("http_{}", status.as_u16()), String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()),
        };
        let error = self.error(status, code, message);
        if let (Some(key), Some(wait)) = (&self.pacing_key, error.retry_after()) {
            self.pacer.hold(key, wait);
        }
        Err(error)
    }

    fn pacing(&self, _headers: &HeaderMap) -> Vec<(String, Duration)> {
        Vec::new()
    }
}

impl YahooDialect<'_> {
    fn error(&self, status: StatusCode, code: String, message: String) -> Error {
        let (kind, retry_after) = match code.as_str() {
            "0003" => (ErrorKind::Retry, Some(FREQUENCY_LIMIT_PAUSE)),
            // Internal error, maintenance ("Out of service").
            "0002" | "0099" => (ErrorKind::Retry, None),
            // The grant is gone (refresh token revoked or expired).
            AUTH_FAILED | "invalid_grant" => (ErrorKind::Relink, None),
            // Permission denied: the user lost access to this one account;
            // the grant and the other accounts are fine.
            "0098" => (ErrorKind::Fatal, None),
            _ if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => (ErrorKind::Retry, None),
            _ => (ErrorKind::Fatal, None),
        };
        // "URL not found" on a path adhouse always sends: the version is gone.
        let message = if code == "0004" {
            format!("{message} (API version {} is not served: it may be sunset; set platforms.yahoo.api_version)", self.api_version)
        } else {
            message
        };
        Error::Platform { remote: PlatformId::Yahoo.into(), status: status.as_u16(), code, message, kind, retry_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(status: u16, body: &str) -> Result<()> {
        let pacer = Pacer::default();
        let dialect = YahooDialect { pacer: &pacer, pacing_key: Some("yahoo:1".into()), api_version: "v18" };
        dialect.check(StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), body.as_bytes())
    }

    fn code_and_kind(status: u16, body: &str) -> (String, ErrorKind) {
        match checked(status, body).unwrap_err() {
            Error::Platform { code, kind, .. } => (code, kind),
            other => panic!("{other}"),
        }
    }

    fn api(code: &str, message: &str) -> String {
        format!(r#"{{"rid":"178ed42a0e8f26acbb37ac2da2969bdd","errors":[{{"code":"{code}","message":"{message}","details":[]}}]}}"#)
    }

    #[test]
    fn documented_codes_map_to_kinds() {
        let cases = [
            (200, api("0003", "Frequency limit exceeded. Please try your request again later."), "0003", ErrorKind::Retry),
            (500, api("0002", "An internal error has occurred."), "0002", ErrorKind::Retry),
            (503, api("0099", "Out of service."), "0099", ErrorKind::Retry),
            (401, api("0111", "Authentication failed."), "0111", ErrorKind::Relink),
            (403, api("0098", "Permission denied."), "0098", ErrorKind::Fatal),
            (200, api("0001", "Invalid Request."), "0001", ErrorKind::Fatal),
            (400, r#"{"error":"invalid_grant","error_description":"refresh token is invalid"}"#.into(), "invalid_grant", ErrorKind::Relink),
            (502, "<html>bad gateway</html>".into(), "http_502", ErrorKind::Retry),
        ];
        for (status, body, code, kind) in cases {
            assert_eq!(code_and_kind(status, &body), (code.to_owned(), kind), "{body}");
        }
    }

    #[test]
    fn successes_pass_whether_json_with_null_errors_or_csv() {
        assert!(checked(200, r#"{"errors":null,"rid":"r","rval":{"values":[]}}"#).is_ok());
        assert!(checked(200, "Day,Campaign ID\n2026-11-01,1\n").is_ok());
    }

    #[test]
    fn a_sunset_version_says_so_and_the_frequency_limit_holds_the_account() {
        let err = checked(404, &api("0004", "URL not found.")).unwrap_err();
        assert!(err.to_string().contains("API version v18 is not served"), "{err}");
        assert_eq!(checked(200, &api("0003", "limit")).unwrap_err().retry_after(), Some(FREQUENCY_LIMIT_PAUSE));
    }
}
