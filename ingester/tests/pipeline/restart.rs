//! ClickHouse dies in the middle of an object and comes back: the object is
//! finished on retry with every row exactly once. The test runs a ClickHouse
//! server of its own (the local stack's, on a free port) so that killing it
//! disturbs no other test ([`OwnServer`] serves `consumer.rs` too).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use adhouse_ingester::ingest::Outcome;
use tokio_util::sync::CancellationToken;

use crate::common::{TestStack, one_object};

pub struct OwnServer {
    child: Child,
    port: u16,
    data: PathBuf,
}

impl OwnServer {
    /// A server on a free port over a fresh data directory named `name`,
    /// ready for queries.
    pub async fn fresh(name: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-clickhouse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let server = Self::start(port, &data);
        server.ready().await;
        server
    }

    /// The same server started again after [`OwnServer::kill`], ready.
    pub async fn restart(&mut self) {
        *self = Self::start(self.port, &self.data.clone());
        self.ready().await;
    }

    fn start(port: u16, data: &Path) -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let child = Command::new(repo.join(".venv/bin/python"))
            .args(["-m", "chserver", "--host", "127.0.0.1", "--port", &port.to_string(), "--path"])
            .arg(data)
            .env("PYTHONPATH", repo.join("dev"))
            .spawn()
            .expect("the local ClickHouse server starts (make venv)");
        Self { child, port, data: data.to_owned() }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn ready(&self) {
        let client = clickhouse::Client::default().with_url(self.url());
        let started = Instant::now();
        while client.query("SELECT 1").fetch_one::<u8>().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "own ClickHouse did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn kill(&mut self) {
        self.child.kill().unwrap(); // SIGKILL: no clean shutdown
        self.child.wait().unwrap();
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_clickhouse_restart_mid_object_loses_and_duplicates_nothing() {
    let mut server = OwnServer::fresh("restart").await;
    let stack = TestStack::with_clickhouse("restart", &server.url()).await;
    let (object, rows) = one_object(&stack, "40000").await;

    let ingestor = stack.ingestor("w1");
    let first = {
        let object = object.clone();
        tokio::spawn(async move { ingestor.ingest(&object, &CancellationToken::new()).await })
    };
    let started = Instant::now();
    while stack.count("SELECT toUInt64(max(next_chunk)) FROM ingest_files").await < 10 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress before the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    let interrupted = first.await.unwrap();
    assert!(interrupted.is_err(), "the attempt ends in a retryable error: {interrupted:?}");

    server.restart().await;
    let outcome = stack.ingestor("w1").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    assert_eq!(stack.count("SELECT count() FROM events").await, rows);
    assert_eq!(
        stack.count("SELECT sum(requests + impressions + clicks + errors + video_starts + video_first_quartiles + video_midpoints + video_third_quartiles + video_completes) FROM events_1m").await,
        rows
    );
    let ledger = stack.tsv("SELECT status, rows_ok FROM ingest_files FINAL").await;
    assert_eq!(ledger, format!("done\t{rows}\n"));
}
