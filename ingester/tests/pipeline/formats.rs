//! Every example source format, through S3, SQS and the worker loop, lands
//! exactly as the generator's manifest says.

use std::collections::BTreeSet;
use std::time::Duration;

use adhouse_core::event::EventType;

use crate::common::{TestStack, yesterday};

#[tokio::test]
async fn every_format_lands_exactly_as_the_manifest_says_in_events_rollups_and_ingest_errors() {
    let stack = TestStack::new("formats").await;
    let start = yesterday();
    let manifest = stack.upload_generated(&["--start", &start, "--files", "2", "--rows-per-file", "1500", "--bad-every", "97"]).await;
    let objects = manifest.files.len() as u64;
    assert_eq!(objects, 16, "4 formats x 2 tenants x 2 files");

    // Done in the ledger, and nothing left in the queue: object events and the
    // s3:TestEvent were all deleted (a message is deleted just after its
    // object's ledger row is written, so the two are awaited together).
    stack
        .run_worker_until(Duration::from_secs(120), || async {
            stack.done_objects().await == objects && stack.messages_in(&stack.queue_url).await == 0
        })
        .await;

    // Counts per tenant and event type, money per tenant: raw events and every rollup.
    let counts = sorted_lines(&manifest.totals.iter().map(|t| format!("{}\t{}\t{}\n", t.tenant, t.event_type, t.sums.events)).collect::<String>());
    let mut money = std::collections::BTreeMap::<&str, (i64, i64)>::new();
    for t in &manifest.totals {
        let tenant = money.entry(&t.tenant).or_default();
        tenant.0 += t.sums.revenue_micros;
        tenant.1 += t.sums.cost_micros;
    }
    let money: String = money.iter().map(|(tenant, (r, c))| format!("{tenant}\t{r}\t{c}\n")).collect();
    let raw = stack.tsv("SELECT tenant, event_type, count() FROM events GROUP BY ALL").await;
    assert_eq!(sorted_lines(&raw), counts, "events");
    let raw_money = stack.tsv("SELECT tenant, sum(revenue_micros), sum(cost_micros) FROM events GROUP BY tenant ORDER BY tenant").await;
    assert_eq!(raw_money, money, "events money");
    let per_type: Vec<String> = EventType::ALL.iter().map(|t| format!("('{0}', sum({0}s))", t.as_str())).collect();
    for rollup in ["events_1m", "events_1h", "events_1d"] {
        let sql = format!(
            "SELECT tenant, t.1 AS type, t.2 AS n FROM (SELECT tenant, [{}] AS ts FROM {rollup} GROUP BY tenant) ARRAY JOIN ts AS t WHERE n > 0",
            per_type.join(", ")
        );
        assert_eq!(sorted_lines(&stack.tsv(&sql).await), counts, "{rollup}");
        let sql = format!("SELECT tenant, sum(revenue_micros), sum(cost_micros) FROM {rollup} GROUP BY tenant ORDER BY tenant");
        assert_eq!(stack.tsv(&sql).await, money, "{rollup} money");
    }

    // Per UTC day.
    let daily: String = manifest
        .daily
        .iter()
        .map(|d| format!("{}\t{}\t{}\t{}\n", d.tenant, d.day, d.event_type, d.sums.events))
        .collect();
    let raw_daily = stack.tsv("SELECT tenant, toDate(ts), event_type, count() FROM events GROUP BY ALL").await;
    assert_eq!(sorted_lines(&raw_daily), sorted_lines(&daily), "days");

    // Every malformed line, at its line number, with its reason; nothing else.
    let expected_errors: BTreeSet<String> = manifest
        .files
        .iter()
        .flat_map(|file| {
            let key = manifest.object_key(file);
            file.bad_lines.iter().map(move |bad| format!("{key}\t{}\t{}", bad.line, serde_json::to_value(bad.reason).unwrap().as_str().unwrap()))
        })
        .collect();
    let actual_errors: BTreeSet<String> =
        stack.tsv("SELECT key, line, reason FROM ingest_errors").await.lines().map(str::to_owned).collect();
    assert!(expected_errors.len() > 100, "the data set has malformed lines of every kind");
    assert_eq!(actual_errors, expected_errors);

    // The ledger agrees, object by object.
    for file in &manifest.files {
        let key = manifest.object_key(file);
        let row = stack
            .tsv(&format!("SELECT status, rows_ok, rows_bad FROM ingest_files FINAL WHERE key = '{key}'"))
            .await;
        assert_eq!(row, format!("done\t{}\t{}\n", file.good_rows, file.bad_lines.len()), "{key}");
    }
}

fn sorted_lines(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines.iter().map(|line| format!("{line}\n")).collect()
}
