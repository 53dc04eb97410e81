//! How Google answers errors, parsed into [`Error::Platform`].
//!
//! Two shapes arrive: OAuth's `{"error":"invalid_grant","error_description":…}`
//! from the token endpoint, and the API's `google.rpc.Status`
//! (`{"error":{"code","message","status","details":[GoogleAdsFailure]}}`,
//! possibly wrapped in an array by `searchStream`). A `searchStream` that fails
//! after its HTTP 200 ends its array with that Status as an element
//! (`[{"results":…},{"error":{…}}]`): the same error, classified the same way.
//! The code is
//! `<errorCode kind>.<value>` of the first `GoogleAdsError`
//! (`authenticationError.OAUTH_TOKEN_REVOKED`), else the OAuth error or the
//! RPC status.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{Dialect, Pacer, Remote};
use crate::model::PlatformId;

/// The access token was refused as expired: `Google` refreshes it and sends
/// the request once more instead of retrying with the same token.
pub(super) const TOKEN_EXPIRED: &str = "authenticationError.OAUTH_TOKEN_EXPIRED";
/// A token Google does not know (garbled, or from another client): also
/// worth one refresh before giving up.
pub(super) const TOKEN_INVALID: &str = "authenticationError.OAUTH_TOKEN_INVALID";

/// Google's dialect for one request. Google sends no usage headers; its
/// quota errors carry `quotaErrorDetails.retryDelay` in the body instead, so
/// `check` holds `pacing_key` (`google:<customer>`) for that delay: every
/// task of the process then waits before calling that customer again.
pub(super) struct GoogleDialect<'a> {
    pub pacer: &'a Pacer,
    pub pacing_key: Option<String>,
}

impl Dialect for GoogleDialect<'_> {
    fn remote(&self) -> Remote {
        PlatformId::Google.into()
    }

    fn check(&self, status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> Result<()> {
        let error = if status.is_success() {
            // Checked here, not when the batches are read, so that a failure
            // mid-stream is retried, paced and refreshed like an HTTP error.
            match stream_error(body) {
                Some(error) => error,
                None => return Ok(()),
            }
        } else {
            parse_error(status, body)
        };
        if let (Some(key), Some(wait)) = (&self.pacing_key, error.retry_after()) {
            self.pacer.hold(key, wait);
        }
        Err(error)
    }

    fn pacing(&self, _headers: &HeaderMap) -> Vec<(String, Duration)> {
        Vec::new()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorBody {
    /// `searchStream` may stream its error as the array's one element. Tried
    /// first: serde would also read an array into `Envelope`'s fields.
    Streamed(Vec<Envelope>),
    One(Envelope),
}

#[derive(Deserialize)]
struct Envelope {
    error: ErrorField,
    #[serde(default)]
    error_description: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    OAuth(String),
    Rpc(RpcStatus),
}

#[derive(Deserialize)]
struct RpcStatus {
    /// The HTTP status Google maps the RPC's failure to.
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<FailureDetail>,
}

/// A `GoogleAdsFailure` (other detail types have no `errors` and are skipped).
#[derive(Deserialize)]
struct FailureDetail {
    #[serde(default)]
    errors: Vec<AdsError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdsError {
    /// One entry, e.g. `{"quotaError": "RESOURCE_EXHAUSTED"}`.
    error_code: BTreeMap<String, String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Option<AdsErrorDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdsErrorDetails {
    quota_error_details: Option<QuotaErrorDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QuotaErrorDetails {
    /// A protobuf Duration in JSON: `"3s"`, `"1.500s"`.
    retry_delay: Option<String>,
}

/// One element of a successful `searchStream` array, read for its `error`
/// only (the batches' other fields are skipped).
#[derive(Deserialize)]
struct StreamElement {
    error: Option<RpcStatus>,
}

fn parse_error(status: StatusCode, body: &[u8]) -> Error {
    let envelope = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody::One(envelope)) => Some(envelope),
        Ok(ErrorBody::Streamed(envelopes)) => envelopes.into_iter().next(),
        Err(_) => None,
    };
    match envelope {
        Some(Envelope { error: ErrorField::OAuth(code), error_description }) => platform_error(status, code, error_description, None),
        Some(Envelope { error: ErrorField::Rpc(rpc), .. }) => rpc_error(status, rpc),
        None => {
            let excerpt = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            platform_error(status, format!("HTTP {}", status.as_u16()), excerpt, None)
        }
    }
}

/// The error a successful answer carries as an element of its array. Its
/// status is the one the Status names (the HTTP status that was already
/// sent is 200); without one, a stream cut off by the server is a 500.
/// Anything but an array (other calls' objects, a body cut off mid-way) is
/// left to the caller's decoding.
fn stream_error(body: &[u8]) -> Option<Error> {
    let elements: Vec<StreamElement> = serde_json::from_slice(body).ok()?;
    let rpc = elements.into_iter().find_map(|element| element.error)?;
    let status = rpc
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .filter(|status| status.is_client_error() || status.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(rpc_error(status, rpc))
}

fn rpc_error(status: StatusCode, rpc: RpcStatus) -> Error {
    match rpc.details.into_iter().flat_map(|detail| detail.errors).next() {
        Some(error) => {
            let code = error.error_code.iter().next().map(|(kind, value)| format!("{kind}.{value}")).unwrap_or(rpc.status);
            let delay = error.details.and_then(|d| d.quota_error_details).and_then(|q| q.retry_delay);
            platform_error(status, code, error.message, delay.as_deref().and_then(parse_duration))
        }
        None => platform_error(status, rpc.status, rpc.message, None),
    }
}

fn platform_error(status: StatusCode, code: String, message: String, retry_after: Option<Duration>) -> Error {
    let kind = kind_of(status, &code);
    Error::Platform { remote: PlatformId::Google.into(), status: status.as_u16(), code, message, kind, retry_after }
}

/// What to do about an error; the codes are Google's enum values
/// (AuthenticationError, QuotaError, InternalError) and OAuth's errors.
fn kind_of(status: StatusCode, code: &str) -> ErrorKind {
    match code {
        // The grant is gone: revoked, unused for 6 months, or a "Testing"
        // consent screen's 7 days are over.
        "invalid_grant"
        | "authenticationError.OAUTH_TOKEN_REVOKED"
        | "authenticationError.OAUTH_TOKEN_DISABLED"
        | "authenticationError.NOT_ADS_USER" => ErrorKind::Relink,
        // Handled by `Google::call` (refresh, then once more); a second
        // refusal is not worth retrying with the same token.
        TOKEN_EXPIRED | TOKEN_INVALID => ErrorKind::Fatal,
        "quotaError.RESOURCE_EXHAUSTED"
        | "quotaError.RESOURCE_TEMPORARILY_EXHAUSTED"
        | "quotaError.EXCESSIVE_SHORT_TERM_QUERY_RESOURCE_CONSUMPTION"
        | "quotaError.EXCESSIVE_LONG_TERM_QUERY_RESOURCE_CONSUMPTION"
        | "internalError.INTERNAL_ERROR"
        | "internalError.TRANSIENT_ERROR"
        | "internalError.DEADLINE_EXCEEDED" => ErrorKind::Retry,
        _ if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => ErrorKind::Retry,
        _ => ErrorKind::Fatal,
    }
}

/// `"3s"` or `"1.5s"` (protobuf Duration JSON) as a [`Duration`].
fn parse_duration(text: &str) -> Option<Duration> {
    let secs: f64 = text.strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(status: u16, body: &str) -> (String, ErrorKind, Option<Duration>) {
        match parse_error(StatusCode::from_u16(status).unwrap(), body.as_bytes()) {
            Error::Platform { code, kind, retry_after, .. } => (code, kind, retry_after),
            other => panic!("{other:?}"),
        }
    }

    fn ads_failure(status: u16, rpc: &str, code: &str, details: &str) -> String {
        format!(
            r#"{{"error":{{"code":{status},"message":"m","status":"{rpc}","details":[{{"@type":"type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure","errors":[{{"errorCode":{code},"message":"why"{details}}}],"requestId":"r"}}]}}}}"#
        )
    }

    #[test]
    fn quota_errors_are_retried_after_googles_retry_delay() {
        let body = ads_failure(429, "RESOURCE_EXHAUSTED", r#"{"quotaError":"RESOURCE_EXHAUSTED"}"#, r#","details":{"quotaErrorDetails":{"retryDelay":"3s"}}"#);
        assert_eq!(parsed(429, &body), ("quotaError.RESOURCE_EXHAUSTED".into(), ErrorKind::Retry, Some(Duration::from_secs(3))));
        let streamed = format!("[{body}]");
        assert_eq!(parsed(429, &streamed).2, Some(Duration::from_secs(3)));
    }

    #[test]
    fn dead_grants_ask_for_relink_and_expired_access_tokens_for_a_refresh() {
        let revoked = ads_failure(401, "UNAUTHENTICATED", r#"{"authenticationError":"OAUTH_TOKEN_REVOKED"}"#, "");
        assert_eq!(parsed(401, &revoked).1, ErrorKind::Relink);
        let grant = r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#;
        assert_eq!(parsed(400, grant), ("invalid_grant".into(), ErrorKind::Relink, None));
        let expired = ads_failure(401, "UNAUTHENTICATED", r#"{"authenticationError":"OAUTH_TOKEN_EXPIRED"}"#, "");
        assert_eq!(parsed(401, &expired).0, TOKEN_EXPIRED);
    }

    /// `check` of a 200 `searchStream` answer: one batch, then `element`.
    fn checked_stream(element: &str, pacer: &Pacer) -> Result<()> {
        let dialect = GoogleDialect { pacer, pacing_key: Some("google:1".into()) };
        let body = format!(r#"[{{"results":[{{"segments":{{"date":"2026-11-01"}}}}],"fieldMask":"segments.date","requestId":"r"}},{element}]"#);
        dialect.check(StatusCode::OK, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn an_error_ending_a_successful_stream_is_classified_like_the_same_error_answered_as_http() {
        let pacer = Pacer::default();
        let quota = ads_failure(429, "RESOURCE_EXHAUSTED", r#"{"quotaError":"RESOURCE_EXHAUSTED"}"#, r#","details":{"quotaErrorDetails":{"retryDelay":"3s"}}"#);
        match checked_stream(&quota, &pacer).unwrap_err() {
            Error::Platform { status, code, kind, retry_after, .. } => {
                assert_eq!((status, code.as_str(), kind, retry_after), (429, "quotaError.RESOURCE_EXHAUSTED", ErrorKind::Retry, Some(Duration::from_secs(3))));
            }
            other => panic!("{other:?}"),
        }
        let revoked = ads_failure(401, "UNAUTHENTICATED", r#"{"authenticationError":"OAUTH_TOKEN_REVOKED"}"#, "");
        assert_eq!(checked_stream(&revoked, &pacer).unwrap_err().kind(), ErrorKind::Relink);
        let expired = ads_failure(401, "UNAUTHENTICATED", r#"{"authenticationError":"OAUTH_TOKEN_EXPIRED"}"#, "");
        assert!(matches!(checked_stream(&expired, &pacer).unwrap_err(), Error::Platform { code, .. } if code == TOKEN_EXPIRED));
        let transient = ads_failure(500, "INTERNAL", r#"{"internalError":"TRANSIENT_ERROR"}"#, "");
        assert_eq!(checked_stream(&transient, &pacer).unwrap_err().kind(), ErrorKind::Retry);
        // Without an HTTP code in the Status, the cut stream counts as the server's failure.
        let bare = r#"{"error":{"message":"Stream removed","status":"UNAVAILABLE"}}"#;
        assert!(matches!(checked_stream(bare, &pacer).unwrap_err(), Error::Platform { status: 500, kind: ErrorKind::Retry, .. }));
    }

    #[test]
    fn successful_answers_without_an_error_element_pass() {
        let pacer = Pacer::default();
        let dialect = GoogleDialect { pacer: &pacer, pacing_key: None };
        let batches = r#"[{"results":[{"campaign":{"id":"7"}}],"requestId":"r"},{"fieldMask":"campaign.id","requestId":"r"}]"#;
        assert!(dialect.check(StatusCode::OK, &HeaderMap::new(), batches.as_bytes()).is_ok());
        let customers = r#"{"resourceNames":["customers/1"]}"#;
        assert!(dialect.check(StatusCode::OK, &HeaderMap::new(), customers.as_bytes()).is_ok());
    }

    #[test]
    fn server_failures_are_retried_and_the_rest_is_fatal() {
        let transient = ads_failure(500, "INTERNAL", r#"{"internalError":"TRANSIENT_ERROR"}"#, "");
        assert_eq!(parsed(500, &transient).1, ErrorKind::Retry);
        assert_eq!(parsed(503, "<html>unavailable</html>"), ("HTTP 503".into(), ErrorKind::Retry, None));
        let denied = ads_failure(403, "PERMISSION_DENIED", r#"{"authorizationError":"USER_PERMISSION_DENIED"}"#, "");
        assert_eq!(parsed(403, &denied), ("authorizationError.USER_PERMISSION_DENIED".into(), ErrorKind::Fatal, None));
        assert_eq!(parsed(401, r#"{"error":{"code":401,"message":"m","status":"UNAUTHENTICATED"}}"#).0, "UNAUTHENTICATED");
    }
}
