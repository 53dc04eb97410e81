//! The ingester's one error type. Callers branch on [`Error::kind`], never on
//! message text; every error names the object or queue it is about.

use std::io;

/// What a caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// It may pass (ClickHouse or S3 unreachable, throttling): try again later.
    Retryable,
    /// This input can never be ingested as it is (corrupt compression, a
    /// header without the mapped columns): mark it failed and let it go.
    BadInput,
    /// Retrying cannot help and the process cannot go on (a queue that does
    /// not exist, missing permissions): stop and tell the operator.
    Fatal,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error("S3 s3://{bucket}/{key}: {message}")]
    Store { bucket: String, key: String, message: String },
    #[error("s3://{bucket}/{key} cannot be ingested: {reason}")]
    Unreadable { bucket: String, key: String, reason: Unreadable },
    #[error("SQS {operation} on {queue}: {message}")]
    Queue { queue: String, operation: &'static str, message: String, fatal: bool },
    #[error(transparent)]
    Platform(#[from] adhouse_connectors::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::ClickHouse(_) | Self::Store { .. } => ErrorKind::Retryable,
            Self::Unreadable { .. } => ErrorKind::BadInput,
            Self::Queue { fatal: true, .. } => ErrorKind::Fatal,
            Self::Queue { fatal: false, .. } => ErrorKind::Retryable,
            Self::Platform(err) => match err.kind() {
                adhouse_connectors::ErrorKind::Retry => ErrorKind::Retryable,
                // Relink is handled where it happens; a request the platform
                // never accepts is bad input.
                _ => ErrorKind::BadInput,
            },
        }
    }
}

/// Why an object cannot be read as a whole, before the ingest layer adds
/// which object it is ([`Error::Unreadable`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// What stops the streaming of one object, before the ingest layer says
/// which object it is ([`StreamError::about`]): its content is bad (corrupt
/// or truncated compression, an over-long record, a missing column), or the
/// read of its bytes or an insert failed, which a retry can mend.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Unreadable(#[from] Unreadable),
    #[error("reading the object failed at line {line}: {source}")]
    Io { line: u64, source: io::Error },
    #[error(transparent)]
    ClickHouse(#[from] clickhouse::error::Error),
}

impl StreamError {
    pub fn about(self, bucket: &str, key: &str) -> Error {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        match self {
            Self::Unreadable(reason) => Error::Unreadable { bucket, key, reason },
            Self::Io { .. } => Error::Store { bucket, key, message: self.to_string() },
            Self::ClickHouse(err) => Error::ClickHouse(err),
        }
    }

    /// Decoders report damaged data as `InvalidData` and a cut-off stream as
    /// `UnexpectedEof`; anything else is the transport's.
    pub fn from_io(line: u64, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
                Self::Unreadable(Unreadable(format!("reading the object failed at line {line}: {source}")))
            }
            _ => Self::Io { line, source },
        }
    }
}
