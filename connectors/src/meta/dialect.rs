//! How Meta's answers are read: error bodies into typed kinds, usage headers
//! into pauses.
//!
//! Error codes: <https://developers.facebook.com/docs/graph-api/guides/error-handling>,
//! <https://developers.facebook.com/docs/marketing-api/error-reference>.
//! Usage headers: <https://developers.facebook.com/docs/graph-api/overview/rate-limiting>.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{Dialect, Remote};
use crate::model::PlatformId;

/// Pacing key of the app's own budget (`x-app-usage`).
pub(crate) const APP_KEY: &str = "meta:app";

/// Pacing key of one ad account (`x-ad-account-usage`, and the ad-account
/// entries of `x-business-use-case-usage`).
pub(crate) fn account_key(account_id: &str) -> String {
    format!("meta:act_{account_id}")
}

/// Usage above which calls slow down, in percent.
const SLOW_DOWN_FROM_PCT: f64 = 90.0;
/// The pause just below 100 %: from 0 at 90 % up to this, in proportion.
const SLOW_DOWN_MAX: Duration = Duration::from_secs(60);
/// The pause at 100 % when Meta says nothing about when access comes back
/// (its windows roll over an hour; a minute is a cheap probe).
const FULL_WAIT: Duration = Duration::from_secs(60);

/// Meta's dialect for calls about `account` (the ad account without `act_`,
/// a Page, an Instagram account) or about no account (login, discovery):
/// `x-ad-account-usage` does not say which account it counts, so the
/// dialect is told. `platform` names the Meta product in errors.
pub(crate) struct MetaDialect<'a> {
    pub platform: PlatformId,
    pub account: Option<&'a str>,
}

#[derive(Deserialize)]
struct Envelope {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    code: i64,
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: bool,
}

/// Percentages of a budget: calls, CPU time and total time.
#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    call_count: f64,
    #[serde(default)]
    total_cputime: f64,
    #[serde(default)]
    total_time: f64,
}

impl Usage {
    /// The budget closest to its end decides.
    fn pct(&self) -> f64 {
        self.call_count.max(self.total_cputime).max(self.total_time)
    }
}

#[derive(Deserialize)]
struct AccountUsage {
    #[serde(default)]
    acc_id_util_pct: f64,
    /// Seconds until the account's usage resets.
    #[serde(default)]
    reset_time_duration: u64,
}

#[derive(Deserialize)]
struct BusinessUseCase {
    #[serde(flatten)]
    usage: Usage,
    /// Minutes.
    #[serde(default)]
    estimated_time_to_regain_access: u64,
}

impl Dialect for MetaDialect<'_> {
    fn remote(&self) -> Remote {
        self.platform.into()
    }

    fn check(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<()> {
        if status.is_success() {
            return Ok(());
        }
        let retry_after = regain_access(headers);
        let Ok(Envelope { error }) = serde_json::from_slice::<Envelope>(body) else {
            // No Graph error body (a proxy's page, a gateway timeout).
            let kind = if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS { ErrorKind::Retry } else { ErrorKind::Fatal };
            return Err(Error::Platform {
                remote: self.platform.into(),
                status: status.as_u16(),
                code: format!("http_{}", status.as_u16()),
                message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                kind,
                retry_after,
            });
        };
        let code = match error.error_subcode {
            Some(subcode) => format!("{}/{subcode}", error.code),
            None => error.code.to_string(),
        };
        Err(Error::Platform {
            remote: self.platform.into(),
            status: status.as_u16(),
            kind: kind_of(status, &error),
            code,
            message: error.message,
            retry_after,
        })
    }

    fn pacing(&self, headers: &HeaderMap) -> Vec<(String, Duration)> {
        let mut holds = Vec::new();
        if let Some(app) = header_json::<Usage>(headers, "x-app-usage") {
            holds.extend(hold(app.pct(), None).map(|wait| (APP_KEY.to_owned(), wait)));
        }
        if let (Some(account), Some(usage)) = (self.account, header_json::<AccountUsage>(headers, "x-ad-account-usage")) {
            let regain = Duration::from_secs(usage.reset_time_duration);
            holds.extend(hold(usage.acc_id_util_pct, Some(regain)).map(|wait| (account_key(account), wait)));
        }
        // Keyed by the object the calls count against: for the ads use cases
        // (ads_insights, ads_management) the ad account's id.
        for (object, cases) in header_json::<HashMap<String, Vec<BusinessUseCase>>>(headers, "x-business-use-case-usage").unwrap_or_default() {
            for case in cases {
                let regain = Duration::from_secs(case.estimated_time_to_regain_access * 60);
                holds.extend(hold(case.usage.pct(), Some(regain)).map(|wait| (account_key(&object), wait)));
            }
        }
        holds
    }
}

/// What to do about a Graph error.
fn kind_of(status: StatusCode, error: &GraphError) -> ErrorKind {
    // Meta gives "too much data" no stable code (it comes as 1 or 100), so
    // this one kind is told by its message; everything else by code.
    if error.message.to_ascii_lowercase().contains("reduce the amount of data") {
        return ErrorKind::Split;
    }
    match (error.code, error.error_subcode) {
        (190, _) => ErrorKind::Relink,
        // Query timeout: a smaller range (or a report run) answers.
        (100, Some(1_504_018)) => ErrorKind::Split,
        // Unknown, service, throttling (app, user, account, custom-level) and
        // the business use cases 80000-80014; -2 is a failed async job.
        (1 | 2 | 4 | 17 | 32 | 341 | 613 | -2, _) | (80_000..=80_014, _) => ErrorKind::Retry,
        _ if error.is_transient || status.is_server_error() => ErrorKind::Retry,
        _ => ErrorKind::Fatal,
    }
}

/// The pause a usage of `pct` percent asks for: none below 90 %, then in
/// proportion up to a minute, and at 100 % what Meta says it takes to regain
/// access (`regain`), or a minute.
fn hold(pct: f64, regain: Option<Duration>) -> Option<Duration> {
    if pct >= 100.0 {
        Some(regain.unwrap_or(FULL_WAIT))
    } else if pct > SLOW_DOWN_FROM_PCT {
        Some(SLOW_DOWN_MAX.mul_f64((pct - SLOW_DOWN_FROM_PCT) / (100.0 - SLOW_DOWN_FROM_PCT)))
    } else {
        None
    }
}

/// The longest wait Meta announces in an error's usage headers.
fn regain_access(headers: &HeaderMap) -> Option<Duration> {
    let business = header_json::<HashMap<String, Vec<BusinessUseCase>>>(headers, "x-business-use-case-usage")
        .into_iter()
        .flat_map(|cases| cases.into_values().flatten())
        .map(|case| Duration::from_secs(case.estimated_time_to_regain_access * 60));
    let account = header_json::<AccountUsage>(headers, "x-ad-account-usage")
        .filter(|usage| usage.acc_id_util_pct >= 100.0)
        .map(|usage| Duration::from_secs(usage.reset_time_duration));
    business.chain(account).max()
}

/// A usage header's JSON; `None` when absent or not what Meta documents
/// (pacing is advice: a malformed header must not fail the call).
fn header_json<T: serde::de::DeserializeOwned>(headers: &HeaderMap, name: &str) -> Option<T> {
    let value = headers.get(name)?.to_str().ok()?;
    match serde_json::from_str(value) {
        Ok(parsed) => Some(parsed),
        Err(err) => {
            tracing::warn!(header = name, "unreadable Meta usage header: {err}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn checked(status: u16, body: &str, head: &HeaderMap) -> Error {
        MetaDialect { platform: PlatformId::Meta, account: Some("1") }.check(StatusCode::from_u16(status).unwrap(), head, body.as_bytes()).unwrap_err()
    }

    fn code_and_kind(err: &Error) -> (String, ErrorKind) {
        match err {
            Error::Platform { code, kind, .. } => (code.clone(), *kind),
            other => panic!("not a platform error: {other}"),
        }
    }

    #[test]
    fn error_bodies_map_to_codes_and_kinds() {
        let none = HeaderMap::new();
        let cases = [
            (400, r#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A"}}"#, "190/463", ErrorKind::Relink),
            (400, r#"{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190}}"#, "190", ErrorKind::Relink),
            (400, r#"{"error":{"message":"Please reduce the amount of data you're asking for, then retry your request","code":1}}"#, "1", ErrorKind::Split),
            (500, r#"{"error":{"message":"Please reduce the amount of data you're asking for, then retry your request","code":100}}"#, "100", ErrorKind::Split),
            (400, r#"{"error":{"message":"timeout","code":100,"error_subcode":1504018}}"#, "100/1504018", ErrorKind::Split),
            (400, r#"{"error":{"message":"There have been too many calls from this ad-account.","code":80000,"error_subcode":2446079}}"#, "80000/2446079", ErrorKind::Retry),
            (400, r#"{"error":{"message":"User request limit reached","code":17,"error_subcode":2446079}}"#, "17/2446079", ErrorKind::Retry),
            (400, r#"{"error":{"message":"Calls to this api have exceeded the rate limit.","code":613,"error_subcode":1487742}}"#, "613/1487742", ErrorKind::Retry),
            (400, r#"{"error":{"message":"Application request limit reached","code":4}}"#, "4", ErrorKind::Retry),
            (500, r#"{"error":{"message":"An unexpected error has occurred.","code":2,"error_subcode":1504043}}"#, "2/1504043", ErrorKind::Retry),
            (400, r#"{"error":{"message":"(#100) cost is not valid for fields param","code":100}}"#, "100", ErrorKind::Fatal),
            (400, r#"{"error":{"message":"(#3018) The start date of the time range cannot be beyond 37 months","code":3018}}"#, "3018", ErrorKind::Fatal),
            (502, "<html>Bad gateway</html>", "http_502", ErrorKind::Retry),
            (404, "not found", "http_404", ErrorKind::Fatal),
        ];
        for (status, body, code, kind) in cases {
            assert_eq!(code_and_kind(&checked(status, body, &none)), (code.to_owned(), kind), "{body}");
        }
    }

    #[test]
    fn a_throttled_answer_says_when_access_comes_back() {
        let head = headers(&[("x-business-use-case-usage", r#"{"1":[{"type":"ads_insights","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":3}]}"#)]);
        let err = checked(400, r#"{"error":{"message":"too many","code":80000,"error_subcode":2446079}}"#, &head);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(180)));
    }

    #[test]
    fn usage_below_90_percent_holds_nothing_above_it_in_proportion_and_at_100_until_access_returns() {
        let dialect = MetaDialect { platform: PlatformId::Meta, account: Some("1001") };
        let calm = headers(&[
            ("x-app-usage", r#"{"call_count":12,"total_cputime":3,"total_time":5}"#),
            ("x-ad-account-usage", r#"{"acc_id_util_pct":9.67,"reset_time_duration":0,"ads_api_access_tier":"standard_access"}"#),
        ]);
        assert!(dialect.pacing(&calm).is_empty());
        let busy = headers(&[
            ("x-app-usage", r#"{"call_count":95,"total_cputime":3,"total_time":5}"#),
            ("x-ad-account-usage", r#"{"acc_id_util_pct":100,"reset_time_duration":120}"#),
            ("x-business-use-case-usage", r#"{"1001":[{"type":"ads_insights","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":2}]}"#),
        ]);
        let mut holds = dialect.pacing(&busy);
        holds.sort();
        assert_eq!(
            holds,
            vec![
                ("meta:act_1001".to_owned(), Duration::from_secs(120)),
                ("meta:act_1001".to_owned(), Duration::from_secs(120)),
                (APP_KEY.to_owned(), Duration::from_secs(30)),
            ]
        );
        let malformed = headers(&[("x-app-usage", "not json")]);
        assert!(dialect.pacing(&malformed).is_empty());
    }
}
