//! Every error the API returns: one enum, one table from error code to HTTP
//! status, one body shape (RFC 9457 `application/problem+json`) that names the
//! offending request field and, where there is a closed set, the valid choices.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Stable machine-readable codes; clients branch on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    MissingToken,
    InvalidToken,
    InvalidRequestBody,
    PayloadTooLarge,
    UnknownMetric,
    UnknownDimension,
    InvalidChoice,
    InvalidValue,
    RangeTooLong,
    TooManyRows,
    BeyondRetention,
    MixedCurrencies,
    NotFound,
    MethodNotAllowed,
    QueryTimeout,
    ClickhouseUnavailable,
    SyncQueueUnavailable,
    PlatformUnavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = &[
        Self::MissingToken,
        Self::InvalidToken,
        Self::InvalidRequestBody,
        Self::PayloadTooLarge,
        Self::UnknownMetric,
        Self::UnknownDimension,
        Self::InvalidChoice,
        Self::InvalidValue,
        Self::RangeTooLong,
        Self::TooManyRows,
        Self::BeyondRetention,
        Self::MixedCurrencies,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::QueryTimeout,
        Self::ClickhouseUnavailable,
        Self::SyncQueueUnavailable,
        Self::PlatformUnavailable,
        Self::Internal,
    ];

    /// The one table from error code to HTTP status (and title).
    pub fn status_and_title(self) -> (StatusCode, &'static str) {
        match self {
            Self::MissingToken => (StatusCode::UNAUTHORIZED, "Missing bearer token"),
            Self::InvalidToken => (StatusCode::UNAUTHORIZED, "Invalid bearer token"),
            Self::InvalidRequestBody => (StatusCode::BAD_REQUEST, "Invalid request body"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
            Self::UnknownMetric => (StatusCode::BAD_REQUEST, "Unknown metric"),
            Self::UnknownDimension => (StatusCode::BAD_REQUEST, "Unknown dimension"),
            Self::InvalidChoice => (StatusCode::BAD_REQUEST, "Invalid choice"),
            Self::InvalidValue => (StatusCode::BAD_REQUEST, "Invalid value"),
            Self::RangeTooLong => (StatusCode::BAD_REQUEST, "Time range too long for the granularity"),
            Self::TooManyRows => (StatusCode::BAD_REQUEST, "Result would have too many rows"),
            Self::BeyondRetention => (StatusCode::BAD_REQUEST, "Time range beyond the data's retention"),
            Self::MixedCurrencies => (StatusCode::BAD_REQUEST, "Money in several currencies"),
            Self::NotFound => (StatusCode::NOT_FOUND, "Not found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
            Self::QueryTimeout => (StatusCode::GATEWAY_TIMEOUT, "Query timed out"),
            Self::ClickhouseUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "ClickHouse unavailable"),
            Self::SyncQueueUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "Sync queue unavailable"),
            Self::PlatformUnavailable => (StatusCode::BAD_GATEWAY, "Ad platform unavailable"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::InvalidRequestBody => "invalid_request_body",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnknownMetric => "unknown_metric",
            Self::UnknownDimension => "unknown_dimension",
            Self::InvalidChoice => "invalid_choice",
            Self::InvalidValue => "invalid_value",
            Self::RangeTooLong => "range_too_long",
            Self::TooManyRows => "too_many_rows",
            Self::BeyondRetention => "beyond_retention",
            Self::MixedCurrencies => "mixed_currencies",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::QueryTimeout => "query_timeout",
            Self::ClickhouseUnavailable => "clickhouse_unavailable",
            Self::SyncQueueUnavailable => "sync_queue_unavailable",
            Self::PlatformUnavailable => "platform_unavailable",
            Self::Internal => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("send the API token as `Authorization: Bearer <token>`")]
    MissingToken,
    #[error("the bearer token is unknown or was revoked")]
    InvalidToken,
    #[error("{0}")]
    InvalidRequestBody(String),
    #[error("the request body exceeds {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    /// A request field that fails validation.
    #[error("{field}: {message}")]
    Field { code: ErrorCode, field: String, message: String, choices: Vec<&'static str> },
    #[error(
        "time_range: the period starts {starts}, before the {retention_days} days raw events are kept ({setting}), \
         and no rollup that keeps it longer can answer it exactly; drop dimensions and filters that only raw events have \
         (os, source), use whole days or a timezone with whole-hour offsets, or a more recent range"
    )]
    BeyondRetention { starts: String, setting: &'static str, retention_days: u32 },
    /// A platforms query sums money of accounts in different currencies.
    #[error(
        "the selected accounts report money in {}: amounts of different currencies do not add up;          filter by `currency` (or by accounts of one currency)", currencies.join(", ")
    )]
    MixedCurrencies { currencies: Vec<String> },
    #[error("{0}")]
    NotFound(String),
    #[error("{method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: String },
    /// ClickHouse answered a bucket that the API's bucket list lacks.
    #[error("{unmatched} of {fetched_rows} rows fell outside the expected {granularity} buckets in {timezone} (first at {bucket})")]
    UnexpectedBucket { unmatched: usize, fetched_rows: usize, bucket: i64, timezone: String, granularity: &'static str },
    #[error("the query took longer than {limit_secs} s; narrow the time range, use fewer dimensions or a coarser granularity")]
    Timeout { limit_secs: u32 },
    #[error("ClickHouse is not reachable: {0}")]
    Unavailable(#[source] clickhouse::error::Error),
    #[error("ClickHouse failed: {0}")]
    ClickHouse(#[source] clickhouse::error::Error),
    /// Linking stored the account but could not enqueue its backfill.
    #[error(
        "the account is linked, but its history could not be queued for fetching yet; link it again in a few minutes \
         (its data is safe, nothing is fetched twice)"
    )]
    SyncQueue { account: String, message: String },
    /// The platform failed a call the request needs before the user can go
    /// on (OAuth 1.0a's request token); details only in the log.
    #[error("{platform} did not answer as expected; try again in a few minutes")]
    Platform { platform: adhouse_connectors::PlatformId, source: adhouse_connectors::Error },
    /// A server-side failure that is no fault of the client (a sealed
    /// credential that does not open, for instance); details only in the log.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    /// `value` is not one of `choices` for `field`.
    pub fn unknown(code: ErrorCode, field: impl Into<String>, value: &str, choices: Vec<&'static str>) -> Self {
        let field = field.into();
        let message = format!("{value:?} is not one of the valid choices");
        Self::Field { code, field, message, choices }
    }

    pub fn invalid(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Field { code, field: field.into(), message: message.into(), choices: Vec::new() }
    }

    /// A ClickHouse failure of a write or a statement outside [`crate::db::Db`]:
    /// unreachable is 503, anything else internal.
    pub fn clickhouse(err: clickhouse::error::Error) -> Self {
        match err {
            clickhouse::error::Error::Network(_) => Self::Unavailable(err),
            other => Self::ClickHouse(other),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MissingToken => ErrorCode::MissingToken,
            Self::InvalidToken => ErrorCode::InvalidToken,
            Self::InvalidRequestBody(_) => ErrorCode::InvalidRequestBody,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::Field { code, .. } => *code,
            Self::BeyondRetention { .. } => ErrorCode::BeyondRetention,
            Self::MixedCurrencies { .. } => ErrorCode::MixedCurrencies,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::UnexpectedBucket { .. } => ErrorCode::Internal,
            Self::Timeout { .. } => ErrorCode::QueryTimeout,
            Self::Unavailable(_) => ErrorCode::ClickhouseUnavailable,
            Self::ClickHouse(_) | Self::Internal(_) => ErrorCode::Internal,
            Self::SyncQueue { .. } => ErrorCode::SyncQueueUnavailable,
            Self::Platform { .. } => ErrorCode::PlatformUnavailable,
        }
    }
}

/// The problem document.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    choices: &'a [&'static str],
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().status_and_title().0
    }

    fn error_response(&self) -> HttpResponse {
        let code = self.code();
        let (status, title) = code.status_and_title();
        let detail = match self {
            // The server's own failure stays in the server log; the client
            // learns only that it was not its fault.
            Self::ClickHouse(err) => {
                tracing::error!(error = %err, "ClickHouse query failed");
                "the query failed inside the server; it has been logged".to_owned()
            }
            Self::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                "the request failed inside the server; it has been logged".to_owned()
            }
            Self::SyncQueue { account, message } => {
                tracing::error!(account = %account, error = %message, "enqueueing a sync job failed");
                self.to_string()
            }
            Self::Platform { platform, source } => {
                tracing::warn!(%platform, error = %source, "platform call before the consent page failed");
                self.to_string()
            }
            Self::UnexpectedBucket { .. } => {
                tracing::error!(error = %self, "rows outside the expected buckets");
                "the query failed inside the server; it has been logged".to_owned()
            }
            Self::Field { message, .. } => message.clone(),
            other => other.to_string(),
        };
        let (field, choices) = match self {
            Self::Field { field, choices, .. } => (Some(field.as_str()), choices.as_slice()),
            Self::BeyondRetention { .. } => (Some("time_range"), &[][..]),
            Self::MixedCurrencies { .. } => (Some("filters"), &[][..]),
            _ => (None, &[][..]),
        };
        let problem = Problem {
            kind: format!("https://github.com/adhouse/adhouse/blob/main/README.md#error-{}", code.as_str()),
            title,
            status: status.as_u16(),
            detail,
            code: code.as_str(),
            field,
            choices,
        };
        let mut response = HttpResponse::build(status);
        if matches!(self, Self::MissingToken | Self::InvalidToken) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Self::MethodNotAllowed { allow, .. } = self {
            response.insert_header(("Allow", allow.as_str()));
        }
        response.content_type(PROBLEM_CONTENT_TYPE).json(problem)
    }
}

/// Errors of the accounts store (connectors): ClickHouse down or failing, or
/// a vault that cannot open what it sealed — never the client's fault.
impl From<adhouse_connectors::Error> for ApiError {
    fn from(err: adhouse_connectors::Error) -> Self {
        match err {
            adhouse_connectors::Error::ClickHouse(err) => Self::clickhouse(err),
            other => Self::Internal(other.to_string()),
        }
    }
}
