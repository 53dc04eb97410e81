//! The connectors' one error type; callers branch on [`Error::kind`].

use std::time::Duration;

use crate::http::Remote;

/// What a caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Throttled or a passing failure: try again after `Error::retry_after`.
    Retry,
    /// The platform says the request asks for too much: ask for less (a
    /// shorter date range, or a coarser level).
    Split,
    /// The grant is revoked or expired: the account needs the user to link it again.
    Relink,
    /// A bug or a request the platform will never accept.
    Fatal,
}

impl ErrorKind {
    /// The label of metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Split => "split",
            Self::Relink => "relink",
            Self::Fatal => "fatal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The platform (or partner API) answered with an error body.
    #[error("{remote}: HTTP {status}, error {code}: {message}")]
    Platform {
        remote: Remote,
        status: u16,
        /// The platform's own code (`190/463` for Meta, `invalid_grant` or
        /// `QUOTA_ERROR.RESOURCE_EXHAUSTED` for Google), for logs and tests.
        code: String,
        message: String,
        kind: ErrorKind,
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused or reset, timeout.
    #[error("{remote}: {source}")]
    Transport {
        remote: Remote,
        #[source]
        source: reqwest::Error,
    },
    /// An answer that is not what the platform documents.
    #[error("{remote}: unexpected response: {detail}")]
    Decode { remote: Remote, detail: String },
    /// An OAuth `state` that is forged, expired or already used.
    #[error("OAuth state rejected: {0}")]
    State(&'static str),
    /// A credential that cannot be sealed or opened (wrong or unknown key).
    #[error("token vault: {0}")]
    Vault(String),
    /// Storing or reading accounts, credentials or rows failed.
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Platform { kind, .. } => *kind,
            Self::Transport { .. } | Self::ClickHouse(_) => ErrorKind::Retry,
            Self::Decode { .. } | Self::State(_) | Self::Vault(_) => ErrorKind::Fatal,
        }
    }

    /// How long the platform asked to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Platform { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
