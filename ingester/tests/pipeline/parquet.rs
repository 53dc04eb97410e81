//! Parquet objects end to end. ClickHouse itself writes the files (its own
//! Parquet writer, several row groups each) and reads them back with its own
//! reader: what the ingester stores must equal that reading exactly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use adhouse_ingester::ingest::Outcome;
use adhouse_ingester::ledger::{FileStatus, Ledger, LedgerEntry};
use parquet::file::reader::{FileReader, SerializedFileReader};
use tokio_util::sync::CancellationToken;

use crate::common::TestStack;

/// Rows of the file whose 0-based number `n` has `n % 97 == 13` carry an
/// event type the mapping does not know.
const BAD_EVERY: u64 = 97;

/// The bidder example's event names and the event types they map to.
const EVENTS: [(&str, &str); 9] = [
    ("bid_request", "request"),
    ("win", "impression"),
    ("click", "click"),
    ("video_start", "video_start"),
    ("video_q1", "video_first_quartile"),
    ("video_mid", "video_midpoint"),
    ("video_q3", "video_third_quartile"),
    ("video_complete", "video_complete"),
    ("error", "error"),
];

/// Has ClickHouse write `rows` bidder events of yesterday (UTC) to a Parquet
/// file in the test's directory, in row groups of `group_rows` rows:
/// microsecond timestamps, nullable strings, decimal money (null when not a
/// win), nullable integer error codes.
async fn bidder_file(stack: &TestStack, name: &str, rows: u64, group_rows: u64) -> PathBuf {
    std::fs::create_dir_all(&stack.dir).unwrap();
    let path = stack.dir.join(name);
    let names: Vec<String> = EVENTS.iter().map(|(name, _)| format!("'{name}'")).collect();
    let sql = format!(
        "INSERT INTO FUNCTION file(?, 'Parquet')
         SELECT
           fromUnixTimestamp64Micro(toInt64(toUnixTimestamp(toStartOfDay(now('UTC'))) - 86400) * 1000000
             + toInt64(cityHash64(number, 1) % 86400000000), 'UTC') AS event_time,
           if(number % {BAD_EVERY} = 13, 'teleport', [{names}][cityHash64(number, 2) % {n} + 1]) AS event,
           concat('pub-', toString(cityHash64(number, 3) % 7)) AS publisher,
           concat('plc-', toString(cityHash64(number, 4) % 40)) AS placement,
           ['rubicon', 'pubmatic', 'xandr', 'magnite'][cityHash64(number, 5) % 4 + 1] AS seat,
           if(number % 5 = 0, NULL, concat('cmp-', toString(cityHash64(number, 6) % 12))) AS campaign,
           if(number % 5 = 0, NULL, concat('cr-', toString(cityHash64(number, 7) % 30))) AS creative,
           ['video', 'display', 'native'][cityHash64(number, 8) % 3 + 1] AS ad_format,
           ['US', 'DE', 'FR', 'BR', 'JP'][cityHash64(number, 9) % 5 + 1] AS country,
           ['mobile', 'desktop', 'ctv'][cityHash64(number, 10) % 3 + 1] AS device,
           ['ios', 'android', 'windows', 'tvos'][cityHash64(number, 11) % 4 + 1] AS os,
           concat('site', toString(cityHash64(number, 12) % 25), '.example') AS site_domain,
           if(number % 3 = 0, NULL, concat('u-', toString(cityHash64(number, 13) % 5000))) AS user_id,
           if(event = 'win', toDecimal64(cityHash64(number, 14) % 90000, 6) / 10000000, NULL) AS win_price,
           toDecimal64(cityHash64(number, 15) % 50000, 6) / 10000000 AS media_cost,
           if(event = 'error', toUInt16(100 + cityHash64(number, 16) % 800), NULL) AS error_code
         FROM numbers({rows})
         SETTINGS output_format_parquet_row_group_size = {group_rows}, engine_file_truncate_on_insert = 1, max_threads = 1",
        names = names.join(", "),
        n = EVENTS.len(),
    );
    stack.clickhouse.query(&sql).bind(path.to_str().unwrap()).execute().await.unwrap();
    path
}

/// Rows per row group, from the file's footer.
fn row_groups(path: &Path) -> Vec<u64> {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    reader.metadata().row_groups().iter().map(|group| group.num_rows() as u64).collect()
}

/// ClickHouse's own reading of `files` (tenant, path), mapped as the bidder
/// example maps them: per tenant, day and event type, the count, money in
/// micros, events without a campaign or a user, and error codes.
async fn clickhouse_reading(stack: &TestStack, files: &[(&str, &Path)]) -> String {
    let (from, to): (Vec<String>, Vec<String>) =
        EVENTS.iter().map(|(name, event_type)| (format!("'{name}'"), format!("'{event_type}'"))).unzip();
    let selects: Vec<String> = files
        .iter()
        .map(|(tenant, path)| {
            format!(
                "SELECT '{tenant}' AS tenant, toDate(event_time) AS day, transform(event, [{}], [{}], '') AS type, count(),
                   sum(toInt64(ifNull(win_price, 0) * 1000000)), sum(toInt64(media_cost * 1000000)),
                   countIf(campaign IS NULL), countIf(user_id IS NULL), sum(ifNull(error_code, 0))
                 FROM file('{}', 'Parquet') WHERE event != 'teleport' GROUP BY ALL",
                from.join(", "),
                to.join(", "),
                path.display()
            )
        })
        .collect();
    sorted(&stack.tsv(&selects.join(" UNION ALL ")).await)
}

/// The same figures from `events`.
async fn ingested(stack: &TestStack) -> String {
    sorted(
        &stack
            .tsv(
                "SELECT tenant, toDate(ts), toString(event_type), count(), sum(revenue_micros), sum(cost_micros),
                   countIf(campaign_id = ''), countIf(user_id_hash = 0), sum(error_code)
                 FROM events GROUP BY ALL",
            )
            .await,
    )
}

fn sorted(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// Chunks of a file with row groups of `groups` rows, `chunk_lines` rows at most each.
fn chunks_of(groups: &[u64], chunk_lines: u64) -> u64 {
    groups.iter().map(|rows| rows.div_ceil(chunk_lines)).sum()
}

#[tokio::test]
async fn parquet_row_groups_land_exactly_as_clickhouse_reads_the_same_files() {
    let stack = TestStack::new("parquet").await;
    let chunk_lines = stack.settings.ingest.chunk_lines;
    // Row groups larger than a chunk (cut in several) and smaller (one chunk each).
    let acme = bidder_file(&stack, "acme.parquet", 9_000, 2_000).await;
    let globex = bidder_file(&stack, "globex.parquet", 7_000, 400).await;
    let (acme_groups, globex_groups) = (row_groups(&acme), row_groups(&globex));
    assert!(acme_groups.len() >= 3 && acme_groups.iter().any(|&rows| rows > chunk_lines), "{acme_groups:?}");
    assert!(globex_groups.len() >= 3 && globex_groups.iter().all(|&rows| rows <= chunk_lines), "{globex_groups:?}");
    let acme_key = "logs/acme/bidder/2026/05/10/00-0.parquet";
    let globex_key = "logs/globex/bidder/2026/05/10/00-0.parquet";
    stack.put(acme_key, std::fs::read(&acme).unwrap()).await;
    stack.put(globex_key, std::fs::read(&globex).unwrap()).await;

    stack.run_worker_until(Duration::from_secs(120), || async { stack.done_objects().await == 2 }).await;

    let expected = clickhouse_reading(&stack, &[("acme", &acme), ("globex", &globex)]).await;
    assert!(expected.lines().count() >= 2 * EVENTS.len(), "{expected}");
    assert_eq!(ingested(&stack).await, expected);
    // The daily rollup agrees too.
    let rollup = "SELECT tenant, sum(requests), sum(impressions), sum(clicks), sum(revenue_micros), sum(cost_micros)
                  FROM events_1d GROUP BY tenant ORDER BY tenant";
    let raw = "SELECT tenant, countIf(event_type = 'request'), countIf(event_type = 'impression'),
                 countIf(event_type = 'click'), sum(revenue_micros), sum(cost_micros) FROM events GROUP BY tenant ORDER BY tenant";
    assert_eq!(stack.tsv(rollup).await, stack.tsv(raw).await);

    // The unknown event types, each at its row number, and nothing else.
    let mut expected_errors = String::new();
    for (key, rows) in [(acme_key, 9_000), (globex_key, 7_000)] {
        for n in (0..rows).filter(|n| n % BAD_EVERY == 13) {
            expected_errors.push_str(&format!("{key}\t{}\tunknown_enum\n", n + 1));
        }
    }
    let errors = stack.tsv("SELECT key, line, reason FROM ingest_errors").await;
    assert_eq!(sorted(&errors), sorted(&expected_errors));

    // One chunk per row group, or per `chunk_lines` rows of a larger one.
    for (key, groups) in [(acme_key, &acme_groups), (globex_key, &globex_groups)] {
        let bad = expected_errors.lines().filter(|line| line.starts_with(key)).count() as u64;
        let rows: u64 = groups.iter().sum();
        let ledger = stack.tsv(&format!("SELECT next_chunk, rows_ok, rows_bad FROM ingest_files FINAL WHERE key = '{key}'")).await;
        assert_eq!(ledger, format!("{}\t{}\t{bad}\n", chunks_of(groups, chunk_lines), rows - bad), "{key}");
    }
    assert_eq!(stack.messages_in(&stack.queue_url).await, 0);
}

#[tokio::test]
async fn a_resumed_parquet_object_skips_committed_row_groups_and_a_retry_from_the_start_counts_nothing_twice() {
    let stack = TestStack::new("parquet-resume").await;
    let file = bidder_file(&stack, "resume.parquet", 5_000, 1_000).await;
    let groups = row_groups(&file);
    assert!(groups.len() >= 3, "{groups:?}");
    let object = stack.put("logs/acme/bidder/2026/05/10/01-0.parquet", std::fs::read(&file).unwrap()).await;
    let chunk_lines = stack.settings.ingest.chunk_lines;
    let all = chunks_of(&groups, chunk_lines);

    // A worker stopped after committing the first chunks, mid-file and mid
    // row group, and released the object: the next owner starts at its
    // next chunk and sends none of the earlier rows.
    let resume_at = groups[0].div_ceil(chunk_lines) + 1;
    let ledger = Ledger::new(stack.clickhouse.clone());
    let mut entry = LedgerEntry {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        etag: object.etag.clone(),
        size_bytes: object.size,
        source: "bidder-parquet".into(),
        tenant: "acme".into(),
        status: FileStatus::Processing,
        owner: String::new(),
        next_chunk: resume_at as u32,
        chunk_lines: chunk_lines as u32,
        token_stem: String::new(),
        rows_ok: 0,
        rows_bad: 0,
        rows_expired: 0,
        attempts: 1,
        error: String::new(),
        event_time: object.event_time,
        as_of: object.event_time,
        events_ttl_days: 0,
        timestamp_max_age_days: 0,
        timestamp_max_ahead_secs: 0,
        started_at: object.event_time,
        updated_at: time::OffsetDateTime::UNIX_EPOCH,
    };
    ledger.put(&mut entry).await.unwrap();
    let ingestor = stack.ingestor("w2");
    let outcome = ingestor.ingest(&object, &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    let first_line = groups[0] + chunk_lines + 1;
    let lines = "SELECT toString(min(line)), toString(count()) FROM (SELECT line FROM events UNION ALL SELECT line FROM ingest_errors)";
    let total: u64 = groups.iter().sum();
    assert_eq!(stack.tsv(lines).await, format!("{first_line}\t{}\n", total - first_line + 1));

    // A retry from the very first chunk (the ledger lost, say): every chunk
    // is sent again; those committed above are dropped as duplicates.
    entry.status = FileStatus::Processing;
    entry.next_chunk = 0;
    ledger.put(&mut entry).await.unwrap();
    let outcome = ingestor.ingest(&object, &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
    assert_eq!(stack.tsv(lines).await, format!("1\t{total}\n"));
    assert_eq!(stack.count("SELECT uniqExact(line) FROM events").await, stack.count("SELECT count() FROM events").await);
    assert_eq!(ingested(&stack).await, clickhouse_reading(&stack, &[("acme", &file)]).await);
    let next = stack.count(&format!("SELECT toUInt64(next_chunk) FROM ingest_files FINAL WHERE key = '{}'", object.key)).await;
    assert_eq!(next, all);
}

#[tokio::test]
async fn a_corrupt_parquet_object_fails_with_a_clear_reason_keeping_whole_chunks_before_the_damage() {
    let stack = TestStack::new("parquet-corrupt").await;
    let ingestor = stack.ingestor("w1");
    let ledger_of = |key: &str| format!("SELECT status, error FROM ingest_files FINAL WHERE key = '{key}'");

    // Not Parquet at all (a JSON file under a Parquet key).
    let key = "logs/acme/bidder/2026/05/10/02-0.parquet";
    let object = stack.put(key, b"{\"event\":\"win\"}\n".to_vec()).await;
    let outcome = ingestor.ingest(&object, &CancellationToken::new()).await.unwrap();
    let Outcome::Failed(reason) = outcome else { panic!("{outcome:?}") };
    assert!(reason.starts_with("not a readable Parquet file: "), "{reason}");
    assert_eq!(stack.tsv(&ledger_of(key)).await, format!("failed\t{reason}\n"));

    // A file whose third row group is damaged: the footer reads, the first
    // row groups are committed, the damaged one is not, and a retry stores
    // nothing twice.
    let file = bidder_file(&stack, "damaged.parquet", 4_000, 1_000).await;
    let groups = row_groups(&file);
    let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
    let column = reader.metadata().row_group(2).column(0);
    let start = column.dictionary_page_offset().unwrap_or(column.data_page_offset()) as usize;
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[start..start + 64].fill(0xff);
    let key = "logs/acme/bidder/2026/05/10/03-0.parquet";
    let object = stack.put(key, bytes).await;
    let outcome = ingestor.ingest(&object, &CancellationToken::new()).await.unwrap();
    let Outcome::Failed(reason) = outcome else { panic!("{outcome:?}") };
    assert!(reason.starts_with("row group 2: "), "{reason}");
    let committed_rows = groups[0] + groups[1];
    let count = format!(
        "SELECT count() FROM (SELECT line FROM events WHERE file = 's3://{0}/{key}' UNION ALL SELECT line FROM ingest_errors WHERE key = '{key}')",
        stack.bucket
    );
    assert_eq!(stack.count(&count).await, committed_rows);
    let outcome = ingestor.ingest(&object, &CancellationToken::new()).await.unwrap();
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    assert_eq!(stack.count(&count).await, committed_rows);
    assert_eq!(stack.tsv(&format!("SELECT status, next_chunk FROM ingest_files FINAL WHERE key = '{key}'")).await, {
        format!("failed\t{}\n", chunks_of(&groups[..2], stack.settings.ingest.chunk_lines))
    });
}
