//! Rows outside the retention never vanish silently: rows older than
//! `schema.events_ttl_days` are counted (`rows_expired`) and stored nowhere,
//! so `events` and every rollup agree; implausible timestamps are bad rows
//! (`timestamp_out_of_range`); a dry run shows all of it before anything is
//! written.

use std::sync::Arc;

use adhouse_core::Settings;
use adhouse_ingester::ingest::Outcome;
use adhouse_ingester::ledger::{FileStatus, Ledger, LedgerEntry};
use adhouse_ingester::metrics::Metrics;
use time::{Duration, OffsetDateTime};
use tokio_util::sync::CancellationToken;

use crate::common::{TestStack, killed_after_inserting_chunk};

const KEY: &str = "logs/acme/vast/backfill/mixed.jsonl";

/// One line of the vast-jsonl source: an impression at `ts` worth `micros`.
fn line(ts: OffsetDateTime, micros: i64) -> String {
    let ts = adhouse_ingester::ingest::rfc3339(ts);
    format!(r#"{{"ts":"{ts}","ev":"imp","pub":"pub-1","plc":"plc-1","dp":"dp-1","fmt":"banner","price":"0.{micros:06}"}}"#)
}

/// What a mixed object holds, by category, with the expected line numbers.
struct Mixed {
    text: String,
    /// (ts, micros) of rows within every retention.
    current: Vec<(OffsetDateTime, i64)>,
    /// Rows 60 days old: in `events`, `events_1h`, `events_1d`, but past
    /// `events_1m`'s own 30 days.
    past_minute: Vec<(OffsetDateTime, i64)>,
    expired: u64,
    /// Lines of rows dated 1970 (epoch seconds read as milliseconds) or days ahead.
    out_of_range: Vec<u64>,
    bad_json: Vec<u64>,
}

/// Current rows (yesterday), rows 60 days old, rows 200 days old (past the
/// 90-day raw retention), rows in 1970 and three days ahead, and a broken
/// line, interleaved.
fn mixed(now: OffsetDateTime) -> Mixed {
    let mut m = Mixed { text: String::new(), current: vec![], past_minute: vec![], expired: 0, out_of_range: vec![], bad_json: vec![] };
    let yesterday = now - Duration::days(1);
    let lines: Vec<(&str, OffsetDateTime)> = vec![
        ("current", yesterday),
        ("expired", now - Duration::days(200)),
        ("out_of_range", OffsetDateTime::from_unix_timestamp(1_760_000).unwrap()),
        ("current", yesterday + Duration::minutes(5)),
        ("past_minute", now - Duration::days(60)),
        ("bad_json", now),
        ("expired", now - Duration::days(400)),
        ("out_of_range", now + Duration::days(3)),
        ("current", yesterday + Duration::minutes(10)),
        ("expired", now - Duration::days(91)),
        ("past_minute", now - Duration::days(60) + Duration::hours(2)),
        ("out_of_range", now - Duration::days(3660)),
    ];
    for (i, (kind, ts)) in lines.into_iter().enumerate() {
        let (number, micros) = (i as u64 + 1, 100 * (i as i64 + 1));
        let ts = ts.replace_nanosecond(0).unwrap();
        match kind {
            "current" => m.current.push((ts, micros)),
            "past_minute" => m.past_minute.push((ts, micros)),
            "expired" => m.expired += 1,
            "out_of_range" => m.out_of_range.push(number),
            _ => m.bad_json.push(number),
        }
        m.text.push_str(&if kind == "bad_json" { "{\"ts\":".to_owned() } else { line(ts, micros) });
        m.text.push('\n');
    }
    m
}

#[tokio::test]
async fn an_object_with_old_future_and_current_rows_is_counted_exactly_in_the_ledger_errors_events_and_rollups() {
    let stack = TestStack::new("retention").await;
    let mixed = mixed(OffsetDateTime::now_utc());
    let object = stack.put(KEY, mixed.text.clone().into_bytes()).await;
    let metrics = Arc::new(Metrics::new());

    let outcome = stack.ingestor_with("w1", metrics.clone()).ingest(&object, &CancellationToken::new()).await.unwrap();
    let stored = (mixed.current.len() + mixed.past_minute.len()) as u64;
    let bad = (mixed.out_of_range.len() + mixed.bad_json.len()) as u64;
    assert_eq!(outcome, Outcome::Done { rows_ok: stored, rows_bad: bad, rows_expired: mixed.expired });
    assert_eq!((stored, bad, mixed.expired), (5, 4, 3), "every category is present");

    let ledger = stack.tsv("SELECT status, rows_ok, rows_bad, rows_expired FROM ingest_files FINAL").await;
    assert_eq!(ledger, format!("done\t{stored}\t{bad}\t{}\n", mixed.expired));
    let mut expected_errors: Vec<String> = mixed.out_of_range.iter().map(|n| format!("{n}\ttimestamp_out_of_range")).collect();
    expected_errors.extend(mixed.bad_json.iter().map(|n| format!("{n}\tbad_json")));
    expected_errors.sort();
    let errors = stack.tsv("SELECT line, reason FROM ingest_errors ORDER BY toString(line)").await;
    assert_eq!(errors, expected_errors.iter().map(|e| format!("{e}\n")).collect::<String>());

    // Every table holds exactly the stored rows within its own retention:
    // none of the expired ones, and the minute rollup none past its 30 days.
    let totals = |rows: &[(OffsetDateTime, i64)]| format!("{}\t{}\n", rows.len(), rows.iter().map(|r| r.1).sum::<i64>());
    let all: Vec<_> = mixed.current.iter().chain(&mixed.past_minute).copied().collect();
    assert_eq!(stack.tsv("SELECT count(), sum(revenue_micros) FROM events").await, totals(&all), "events");
    for rollup in ["events_1h", "events_1d"] {
        let sql = format!("SELECT sum(impressions), sum(revenue_micros) FROM {rollup}");
        assert_eq!(stack.tsv(&sql).await, totals(&all), "{rollup}");
    }
    let sql = "SELECT sum(impressions), sum(revenue_micros) FROM events_1m";
    assert_eq!(stack.tsv(sql).await, totals(&mixed.current), "events_1m");

    let text = metrics.encode();
    assert!(text.contains(r#"adhouse_ingester_rows_expired_total{source="vast-jsonl"} 3"#), "{text}");
    assert!(text.contains(r#"adhouse_ingester_rows_bad_total{source="vast-jsonl"} 4"#), "{text}");

    // A retry after a lost ledger makes the same rows and error rows, all
    // dropped as copies.
    stack.clickhouse.query("ALTER TABLE ingest_files DELETE WHERE 1").with_setting("mutations_sync", "1").execute().await.unwrap();
    let again = stack.ingestor("w2").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert_eq!(again, outcome);
    assert_eq!(stack.tsv("SELECT count(), sum(revenue_micros) FROM events").await, totals(&all));
    assert_eq!(stack.count("SELECT count() FROM ingest_errors").await, bad);
}

/// A resumed object is judged against its first claim, recorded in the
/// ledger, not against the resuming worker's clock: otherwise a chunk
/// could hold other rows on a retry than on its first attempt.
#[tokio::test]
async fn a_resumed_object_is_judged_as_of_its_first_claim_not_the_clock() {
    let stack = TestStack::new("as-of").await;
    let now = OffsetDateTime::now_utc();
    // Three days ago, when the object was first claimed, a row dated
    // yesterday was two days ahead: out of range then, so out of range now.
    let first_claim = now - Duration::days(3);
    let text = [line(now - Duration::days(1), 100), line(first_claim - Duration::hours(1), 200)].join("\n") + "\n";
    let object = stack.put(KEY, text.into_bytes()).await;
    let mut entry = LedgerEntry {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        etag: object.etag.clone(),
        size_bytes: object.size,
        source: "vast-jsonl".into(),
        tenant: "acme".into(),
        status: FileStatus::Processing,
        owner: String::new(),
        next_chunk: 0,
        chunk_lines: 500,
        token_stem: String::new(),
        rows_ok: 0,
        rows_bad: 0,
        rows_expired: 0,
        attempts: 1,
        error: String::new(),
        event_time: first_claim,
        as_of: first_claim,
        events_ttl_days: 0,
        timestamp_max_age_days: 0,
        timestamp_max_ahead_secs: 0,
        started_at: first_claim,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    };
    Ledger::new(stack.clickhouse.clone()).put(&mut entry).await.unwrap();

    let outcome = stack.ingestor("w2").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, Outcome::Done { rows_ok: 1, rows_bad: 1, rows_expired: 0 });
    assert_eq!(stack.tsv("SELECT line, revenue_micros FROM events").await, "2\t200\n");
    assert_eq!(stack.tsv("SELECT line, reason FROM ingest_errors").await, "1\ttimestamp_out_of_range\n");
    let as_of = stack.count("SELECT toUInt64(toUnixTimestamp(as_of)) FROM ingest_files FINAL").await;
    assert_eq!(as_of, first_claim.unix_timestamp() as u64, "the first claim's moment is kept");
    // The error rows carry it too: their partition (the month of `at`) is
    // part of what a retry's block is de-duplicated by.
    let at = stack.count("SELECT toUInt64(toUnixTimestamp(at)) FROM ingest_errors").await;
    assert_eq!(at, first_claim.unix_timestamp() as u64, "every attempt writes the same error rows");
}

/// A worker inserts a chunk and dies before its ledger update; a deploy
/// then shortens a time limit, under which that chunk's rows would be
/// expired or rejected. The resume judges them by the first claim's limits:
/// its copy of the chunk is dropped as a duplicate of the token, so had it
/// judged by the settings, the ledger's counts (or `ingest_errors`) would
/// describe other rows than `events` holds.
#[tokio::test]
async fn a_chunk_sent_before_events_ttl_days_is_shortened_is_counted_as_stored_by_the_resume() {
    resumed_after_a_limit_is_shortened("ttl-resume", |settings| settings.schema.events_ttl_days = 30).await;
}

#[tokio::test]
async fn a_chunk_sent_before_timestamp_max_age_days_is_shortened_is_not_rejected_by_the_resume() {
    resumed_after_a_limit_is_shortened("age-resume", |settings| settings.ingest.timestamp_max_age_days = 30).await;
}

async fn resumed_after_a_limit_is_shortened(test: &str, shorten: impl FnOnce(&mut Settings)) {
    let mut stack = TestStack::new(test).await;
    assert_eq!(stack.settings.ingest.chunk_lines, 500, "three chunks");
    // The last chunk's rows are 60 days old: kept until the limit shrinks.
    let now = OffsetDateTime::now_utc();
    let text: String = (0..1200)
        .map(|i| line(now - Duration::days(if i < 1000 { 1 } else { 60 }) + Duration::seconds(i), 100) + "\n")
        .collect();
    let object = stack.put(KEY, text.into_bytes()).await;
    let done = Outcome::Done { rows_ok: 1200, rows_bad: 0, rows_expired: 0 };
    assert_eq!(stack.ingestor("w1").ingest(&object, &CancellationToken::new()).await.unwrap(), done);
    killed_after_inserting_chunk(&stack, &object, 2).await;

    shorten(&mut stack.settings);
    assert_eq!(stack.ingestor("w2").ingest(&object, &CancellationToken::new()).await.unwrap(), done);
    assert_eq!(stack.tsv("SELECT count(), uniqExact(line) FROM events").await, "1200\t1200\n");
    assert_eq!(stack.tsv("SELECT status, rows_ok, rows_bad, rows_expired FROM ingest_files FINAL").await, "done\t1200\t0\t0\n");
    assert_eq!(stack.count("SELECT count() FROM ingest_errors").await, 0);
}

/// `schema.events_ttl_days` raised to 200 without the migration that would
/// change the table's 90-day TTL: a row 150 days old is one `events` would
/// drop at once, so it is counted as expired, not as stored, and no rollup
/// gets it.
#[tokio::test]
async fn a_ttl_setting_raised_without_its_migration_counts_what_events_drops_as_expired() {
    let mut stack = TestStack::new("ttl-drift").await;
    stack.settings.schema.events_ttl_days = 200;
    let now = OffsetDateTime::now_utc();
    let text = [line(now - Duration::days(1), 100), line(now - Duration::days(150), 200)].join("\n") + "\n";
    let object = stack.put(KEY, text.into_bytes()).await;
    let outcome = stack.ingestor("w1").ingest(&object, &CancellationToken::new()).await.unwrap();
    assert_eq!(outcome, Outcome::Done { rows_ok: 1, rows_bad: 0, rows_expired: 1 });
    for table in ["events", "events_1h", "events_1d"] {
        let sql = format!("SELECT count(), sum(revenue_micros) FROM {table}");
        let sql = if table == "events" { sql } else { sql.replace("count()", "sum(impressions)") };
        assert_eq!(stack.tsv(&sql).await, "1\t100\n", "{table}");
    }
}

#[tokio::test]
async fn replay_dry_run_prints_the_rows_as_stored_and_every_count_and_writes_nothing() {
    let stack = TestStack::new("dry-run").await;
    let mixed = mixed(OffsetDateTime::now_utc());
    stack.put(KEY, mixed.text.clone().into_bytes()).await;

    let location = format!("s3://{}/{}", stack.bucket, "logs/acme/vast/backfill/");
    let output = stack.ingester_command().args(["replay", "--dry-run", "--rows", "3", &location]).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));

    let header = "tenant\tts\tevent_type\tpublisher_id\tplacement_id\tdemand_partner\tcampaign_id\tcreative_id\tad_format\tcountry\tdevice_type\tos\tdomain\tuser_id_hash\trevenue_micros\tcost_micros\terror_code";
    // Stored rows in file order: current, current, then the first 60-day row.
    let shown = [mixed.current[0], mixed.current[1], mixed.past_minute[0]];
    let rows: String = shown
        .iter()
        .map(|(ts, micros)| {
            let ts = adhouse_ingester::ingest::rfc3339(*ts);
            format!("acme\t{ts}\timpression\tpub-1\tplc-1\tdp-1\t\t\tbanner\t\t\t\t\t0\t{micros}\t0\t0\n")
        })
        .collect();
    let body = stdout.split_once("\n\n").map(|(_, body)| body).unwrap_or_default();
    assert!(body.starts_with(&format!("{header}\n{rows}\n")), "{stdout}");
    for count in [
        "rows stored:       5\n",
        "rows expired:      3 (dated before ",
        "rows out of range: 3 (timestamp_out_of_range, to ingest_errors)\n",
        "rows bad:          4 (bad_json 1, timestamp_out_of_range 3)\n",
    ] {
        assert!(stdout.contains(count), "{count:?} missing from:\n{stdout}");
    }
    assert!(stdout.contains(&format!("s3://{}/{KEY} (source vast-jsonl)", stack.bucket)), "{stdout}");

    for table in ["events", "events_1h", "ingest_files", "ingest_errors"] {
        assert_eq!(stack.count(&format!("SELECT count() FROM {table}")).await, 0, "{table}: a dry run writes nothing");
    }
}
