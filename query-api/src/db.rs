//! ClickHouse as the API uses it: every statement read-only, time-limited,
//! and measured.

use std::time::Duration;

use clickhouse::{Client, RowOwned, RowRead};
use serde::Serialize;

use crate::error::{ApiError, Result};
use crate::query::sql::Statement;

/// What ClickHouse reported for the statements of one response.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Stats {
    pub queries: u32,
    pub elapsed_ms: f64,
    pub rows_read: u64,
    pub bytes_read: u64,
}

impl Stats {
    pub fn add(&mut self, other: Stats) {
        self.queries += other.queries;
        self.elapsed_ms += other.elapsed_ms;
        self.rows_read += other.rows_read;
        self.bytes_read += other.bytes_read;
    }
}

/// ClickHouse's TIMEOUT_EXCEEDED.
const TIMEOUT_EXCEEDED: u32 = 159;

#[derive(Clone)]
pub struct Db {
    client: Client,
    max_execution_secs: u32,
}

impl Db {
    pub fn new(client: Client, max_execution_secs: u32) -> Self {
        Self { client, max_execution_secs }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs a query-API statement. `readonly=2` refuses anything but reads
    /// while still letting this request set its own limits (`readonly=1`
    /// would refuse `max_execution_time` too); `wait_end_of_query` makes the
    /// summary header complete.
    pub async fn fetch<T: RowOwned + RowRead>(&self, statement: &Statement) -> Result<(Vec<T>, Stats)> {
        self.fetch_query(statement.bind(&self.client)).await
    }

    /// [`Db::fetch`] for a query already bound to [`Db::client`].
    pub async fn fetch_query<T: RowOwned + RowRead>(&self, query: clickhouse::query::Query) -> Result<(Vec<T>, Stats)> {
        let query = query
            .with_setting("readonly", "2")
            .with_setting("max_execution_time", self.max_execution_secs.to_string())
            .with_setting("timeout_overflow_mode", "throw")
            .with_setting("wait_end_of_query", "1");
        let run = async {
            let mut cursor = query.fetch::<T>()?;
            let mut rows = Vec::new();
            while let Some(row) = cursor.next().await? {
                rows.push(row);
            }
            let summary = cursor.summary();
            let stats = Stats {
                queries: 1,
                elapsed_ms: summary.and_then(|s| s.elapsed_ns()).unwrap_or(0) as f64 / 1e6,
                rows_read: summary.and_then(|s| s.read_rows()).unwrap_or(0),
                bytes_read: summary.and_then(|s| s.read_bytes()).unwrap_or(0),
            };
            Ok::<_, clickhouse::error::Error>((rows, stats))
        };
        // The server enforces the limit; this guard only covers a server or
        // network that stops answering altogether.
        let guard = Duration::from_secs(u64::from(self.max_execution_secs) + 5);
        match tokio::time::timeout(guard, run).await {
            Err(_) => Err(ApiError::Timeout { limit_secs: self.max_execution_secs }),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(err)) => Err(self.classify(err)),
        }
    }

    fn classify(&self, err: clickhouse::error::Error) -> ApiError {
        match &err {
            clickhouse::error::Error::Network(_) => ApiError::Unavailable(err),
            _ if server_code(&err) == Some(TIMEOUT_EXCEEDED) => ApiError::Timeout { limit_secs: self.max_execution_secs },
            _ => ApiError::ClickHouse(err),
        }
    }

    /// `SELECT 1`, for readiness.
    pub async fn ping(&self) -> Result<()> {
        let run = self.client.query("SELECT 1").with_setting("readonly", "2").fetch_one::<u8>();
        match tokio::time::timeout(Duration::from_secs(5), run).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(ApiError::Unavailable(err)),
            Err(_) => Err(ApiError::Timeout { limit_secs: 5 }),
        }
    }
}

/// The numeric exception code ClickHouse puts first in an error response
/// (`Code: 159. DB::Exception: ...`): the only structured part the client
/// passes on.
fn server_code(err: &clickhouse::error::Error) -> Option<u32> {
    let clickhouse::error::Error::BadResponse(message) = err else { return None };
    let rest = &message[message.find("Code: ")? + "Code: ".len()..];
    rest[..rest.find(|c: char| !c.is_ascii_digit())?].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exception_code_is_read_from_a_server_error() {
        let err = clickhouse::error::Error::BadResponse("Code: 159. DB::Exception: Timeout exceeded: elapsed 1.2 seconds".into());
        assert_eq!(server_code(&err), Some(159));
        assert_eq!(server_code(&clickhouse::error::Error::BadResponse("bad".into())), None);
    }
}
