//! `adhouse-gen`, run as the built binary: the same arguments write
//! the same bytes, the manifest describes the files line by line, and its
//! totals equal what ClickHouse's own parsers read from the files.
//!
//! The ClickHouse test needs the local stack (`make dev-up && source
//! .dev/env`) or any ClickHouse at CLICKHOUSE_URL on this machine that may
//! read local files through `file()`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use adhouse_ingester::decode::Compression;
use adhouse_tools::samples::formats::{BadReason, ExampleSource};
use adhouse_tools::samples::manifest::{FileEntry, Manifest, Sums};
use clickhouse::Row;
use serde::Deserialize;

/// A fresh directory for one test, removed when the test passes and kept
/// for a look when it fails.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(test: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gen-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl std::ops::Deref for ScratchDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs `gen` into `dir` for 2026-05-10 and loads the manifest it wrote.
fn generate(dir: &Path, args: &[&str]) -> Manifest {
    let output = Command::new(env!("CARGO_BIN_EXE_adhouse-gen"))
        .arg("--out")
        .arg(dir)
        .args(["--start", "2026-05-10"])
        .args(args)
        .output()
        .expect("adhouse-ingester runs");
    assert!(output.status.success(), "gen failed: {}", String::from_utf8_lossy(&output.stderr));
    Manifest::load(&dir.join("manifest.json")).expect("manifest loads")
}

/// Every file below `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn decompressed_lines(path: &Path, compression: Compression) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    let reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(file)),
        Compression::Zstd => Box::new(zstd::Decoder::new(file).unwrap()),
    };
    BufReader::new(reader).lines().map(Result::unwrap).collect()
}

#[test]
fn same_seed_writes_identical_bytes_and_another_seed_does_not() {
    let args = ["--rows-per-file", "3000", "--bad-every", "50", "--seed", "11"];
    let (first, second, other) = (ScratchDir::new("same-a"), ScratchDir::new("same-b"), ScratchDir::new("same-c"));
    generate(&first, &args);
    generate(&second, &args);
    generate(&other, &["--rows-per-file", "3000", "--bad-every", "50", "--seed", "12"]);
    let (first, second, other) = (tree(&first), tree(&second), tree(&other));
    // 2 tenants × 4 formats × 2 files, and the manifest.
    assert_eq!(first.len(), 17);
    assert!(first == second, "the same arguments wrote different bytes");
    let differing = first.iter().filter(|(path, bytes)| other.get(*path) != Some(*bytes)).count();
    // Keys of CloudFront logs carry a random part, so they differ too.
    assert_eq!(differing, 17, "another seed must change every file");
}

#[test]
fn until_leaves_out_the_traffic_from_an_instant_on_and_keeps_what_came_before() {
    let (whole_dir, cut_dir) = (ScratchDir::new("until-whole"), ScratchDir::new("until-cut"));
    let args = ["--rows-per-file", "2000", "--days", "2", "--formats", "jsonl,csv"];
    let whole = generate(&whole_dir, &args);
    let cut = generate(&cut_dir, &[&args[..], &["--until", "2026-05-11T13:00:00Z"]].concat());
    assert_eq!(cut.generator.until.as_deref(), Some("2026-05-11T13:00:00Z"));
    let whole_files: BTreeMap<_, _> = whole.files.iter().map(|file| (file.key.as_str(), file)).collect();
    for file in &cut.files {
        let lines = decompressed_lines(&cut_dir.join(&file.key), file.compression);
        let uncut = decompressed_lines(&whole_dir.join(&file.key), file.compression);
        assert!(lines.len() <= uncut.len() && lines[..] == uncut[..lines.len()], "{} is not a prefix of the uncut file", file.key);
        if file.key.contains("2026-05-10") {
            assert_eq!(lines.len(), uncut.len(), "{}: the day before the cut is whole", file.key);
        }
        // Around the cut, lines carry times of opportunities that began up to
        // about a minute earlier or later (JSON lines have theirs in `ts`).
        if file.format == ExampleSource::Jsonl && lines.len() < uncut.len() {
            let next: serde_json::Value = serde_json::from_str(&uncut[lines.len()]).unwrap();
            let last: serde_json::Value = serde_json::from_str(&lines[lines.len() - 1]).unwrap();
            let at = |line: &serde_json::Value| line["ts"].as_str().unwrap().to_owned();
            assert!(at(&next).as_str() >= "2026-05-11T12:58:00.000Z", "{}: {next}", file.key);
            assert!(at(&last).as_str() < "2026-05-11T13:02:00.000Z", "{}: {last}", file.key);
        }
        assert!(whole_files.contains_key(file.key.as_str()));
    }
    let lines = |manifest: &Manifest| manifest.files.iter().map(|file| file.physical_lines).sum::<u64>();
    assert!(lines(&cut) < lines(&whole) && lines(&cut) > lines(&whole) / 2, "{} of {}", lines(&cut), lines(&whole));
    // The partners' hours before the cut's are as without it.
    let before = |manifest: &Manifest| manifest.partner_hours.iter().filter(|hour| hour.hour < 1_778_500_800).cloned().collect::<Vec<_>>();
    assert_eq!(before(&cut), before(&whole));
}

#[test]
fn an_until_that_is_not_an_instant_is_refused_naming_it_and_writes_nothing() {
    let dir = ScratchDir::new("until-bad");
    for until in ["2026-05-11", "2026-05-11 13:00", "tomorrow"] {
        let output = Command::new(env!("CARGO_BIN_EXE_adhouse-gen")).arg("--out").arg(&*dir).args(["--until", until]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{until}: {stderr}");
        assert!(stderr.contains("--until") && stderr.contains(&format!("{until:?} is not an RFC 3339 instant")), "{stderr}");
        assert!(!dir.exists(), "{until}: something was written");
    }
}

#[test]
fn partner_hours_add_up_to_the_good_impressions_and_their_revenue() {
    let dir = ScratchDir::new("partners");
    let manifest = generate(&dir, &["--rows-per-file", "3000", "--bad-every", "50", "--days", "2"]);
    for tenant in ["acme", "globex"] {
        let hours: Vec<_> = manifest.partner_hours.iter().filter(|h| h.tenant == tenant).collect();
        let impressions = manifest.totals.iter().find(|t| t.tenant == tenant && t.event_type == "impression").unwrap().sums;
        assert_eq!(hours.iter().map(|h| h.impressions).sum::<u64>(), impressions.events);
        assert_eq!(hours.iter().map(|h| h.revenue_micros).sum::<i64>(), impressions.revenue_micros);
        assert!(hours.iter().all(|h| h.hour % 3_600 == 0));
        let partners: std::collections::BTreeSet<_> = hours.iter().map(|h| h.partner.as_str()).collect();
        assert!(partners.len() >= 6, "{partners:?}");
    }
}

#[test]
fn manifest_numbers_lines_as_an_editor_does_and_names_each_fault() {
    let dir = ScratchDir::new("lines");
    let manifest = generate(&dir, &["--rows-per-file", "2000", "--bad-every", "37", "--files", "1"]);
    assert_eq!(manifest.files.len(), 8);
    for file in &manifest.files {
        let lines = decompressed_lines(&dir.join(&file.key), file.compression);
        assert_eq!(lines.len() as u64, file.physical_lines, "{}", file.key);
        assert_eq!(file.physical_lines, file.header_lines + 2000);
        assert_eq!(file.good_rows, 2000 - 2000 / 37);
        let bad: BTreeMap<u64, BadReason> = file.bad_lines.iter().map(|bad| (bad.line, bad.reason)).collect();
        assert_eq!(bad.len() as u64, 2000 / 37);
        let reasons: BTreeSet<_> = bad.values().map(|reason| format!("{reason:?}")).collect();
        assert_eq!(reasons.len(), 4, "{}: every fault of the format appears", file.key);
        for (number, line) in (1u64..).zip(&lines) {
            if number <= file.header_lines {
                assert!(line.starts_with(if file.format == ExampleSource::Csv { "timestamp_ms," } else { "#" }));
                continue;
            }
            assert_eq!(fault_of(file.format, line), bad.get(&number).copied(), "{} line {number}: {line}", file.key);
        }
    }
}

/// The fault a line visibly has, judged from the line alone.
fn fault_of(format: ExampleSource, line: &str) -> Option<BadReason> {
    let (fields, timestamp, event, publisher): (usize, String, String, String) = match format {
        ExampleSource::Jsonl => {
            let Ok(object) = serde_json::from_str::<BTreeMap<String, serde_json::Value>>(line) else {
                return Some(BadReason::BadJson);
            };
            let text = |key: &str| object.get(key).and_then(|value| value.as_str()).unwrap_or_default().to_owned();
            (16, text("ts"), text("ev"), text("pub"))
        }
        ExampleSource::Csv | ExampleSource::Tsv => {
            let columns: Vec<&str> = line.split(if format == ExampleSource::Csv { ',' } else { '\t' }).collect();
            let at = |index: usize| columns.get(index).copied().unwrap_or_default().to_owned();
            (columns.len(), at(0), at(1), at(2))
        }
        ExampleSource::W3c => {
            let columns: Vec<&str> = line.split('\t').collect();
            let query = columns.get(11).copied().unwrap_or_default();
            let param = |name: &str| {
                query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).unwrap_or_default().to_owned()
            };
            (
                columns.len() + 16 - 33,
                format!("{} {}", columns[0], columns.get(1).unwrap_or(&"")),
                param("ev"),
                param("pub"),
            )
        }
    };
    if fields != 16 && format != ExampleSource::Jsonl {
        Some(BadReason::ColumnCount)
    } else if timestamp.contains("-13-45") || timestamp.contains('x') {
        Some(BadReason::BadTimestamp)
    } else if event == "zzz" {
        Some(BadReason::UnknownEnum)
    } else if publisher.is_empty() {
        Some(BadReason::MissingField)
    } else {
        None
    }
}

/// Per event type and UTC day, as ClickHouse counts the good rows of a file.
#[derive(Debug, Row, Deserialize)]
struct DayTypeRow {
    event_type: String,
    day: String,
    events: u64,
    revenue_micros: i64,
    cost_micros: i64,
}

const EVENT_TYPES: [&str; 9] = [
    "request",
    "impression",
    "click",
    "video_start",
    "video_first_quartile",
    "video_midpoint",
    "video_third_quartile",
    "video_complete",
    "error",
];
const SHORT_CODES: [&str; 9] = ["req", "imp", "clk", "start", "q1", "mid", "q3", "complete", "err"];

/// A query yielding `ts`, `event_type`, `uid`, `revenue` and `cost` (micros)
/// of the good rows of the file `{path}` (Nullable, but never NULL), parsed by ClickHouse as each
/// example source describes the format. The good-row conditions are the
/// sources' rules: a parsable timestamp, a mapped event type, a publisher.
fn good_rows_sql(format: ExampleSource) -> String {
    // Nullable, so that a line short of a column reads NULL in it.
    let nullable_columns =
        |names: &str| names.split(',').map(|name| format!("`{name}` Nullable(String)")).collect::<Vec<_>>().join(", ");
    // Column names of ssp-csv's header row and of exchange-tsv's `columns`.
    let csv = "timestamp_ms,event,publisher,placement,partner,campaign,creative,format,country,device,os,site,user,\
               revenue_cpm,cost_cpm,error_code";
    let tsv = "time,type,publisher,placement,partner,campaign,creative,format,country,device,os,domain,user,\
               revenue_micros,cost_micros,vast_error";
    match format {
        // Line by line: JSONEachRow's error recovery resumes after the next
        // object, so a truncated line would also swallow the good line after it.
        ExampleSource::Jsonl => "SELECT parseDateTime64BestEffortOrNull(JSONExtractString(line, 'ts'), 3, 'UTC') AS ts,
                    transform(JSONExtractString(line, 'ev'), {short:Array(String)}, {long:Array(String)}, '') AS event_type,
                    JSONExtractString(line, 'uid') AS uid,
                    toInt64(toDecimal64OrZero(JSONExtractString(line, 'price'), 6) * 1000000) AS revenue,
                    toInt64(toDecimal64OrZero(JSONExtractString(line, 'cost'), 6) * 1000000) AS cost
             FROM file({path:String}, 'LineAsString')
             WHERE isValidJSON(line) AND JSONExtractString(line, 'pub') != '' AND ts IS NOT NULL AND event_type != ''"
            .to_owned(),
        // A missing trailing column reads as NULL with variable column counts.
        ExampleSource::Csv => format!(
            "SELECT fromUnixTimestamp64Milli(toInt64OrNull(timestamp_ms), 'UTC') AS ts, event AS event_type,
                    ifNull(user, '') AS uid,
                    toInt64(toDecimal64OrZero(revenue_cpm, 3) * 1000) AS revenue,
                    toInt64(toDecimal64OrZero(cost_cpm, 3) * 1000) AS cost
             FROM file({{path:String}}, 'CSVWithNames', '{}')
             WHERE error_code IS NOT NULL AND ts IS NOT NULL AND event IN {{long:Array(String)}} AND publisher != ''
             SETTINGS input_format_csv_allow_variable_number_of_columns = 1",
            nullable_columns(csv)
        ),
        ExampleSource::Tsv => format!(
            "SELECT parseDateTime64BestEffortOrNull(time, 3, 'UTC') AS ts, type AS event_type, ifNull(user, '') AS uid,
                    toInt64OrZero(revenue_micros) AS revenue, toInt64OrZero(cost_micros) AS cost
             FROM file({{path:String}}, 'TSV', '{}')
             WHERE vast_error IS NOT NULL AND ts IS NOT NULL AND type IN {{long:Array(String)}} AND publisher != ''
             SETTINGS input_format_tsv_allow_variable_number_of_columns = 1",
            nullable_columns(tsv)
        ),
        // The pixel maps no cost column. `??` is a literal `?` for the client's
        // placeholder syntax: the query string becomes a URL's query.
        ExampleSource::W3c => {
            // CloudFront's 33 standard fields, by position.
            let columns = (1..=33).map(|n| format!("c{n}")).collect::<Vec<_>>().join(",");
            format!(
                "SELECT parseDateTime64BestEffortOrNull(concat(c1, ' ', c2), 3, 'UTC') AS ts,
                        transform(decodeURLComponent(extractURLParameter(concat('??', c12), 'ev')),
                                  {{short:Array(String)}}, {{long:Array(String)}}, '') AS event_type,
                        decodeURLComponent(extractURLParameter(concat('??', c12), 'uid')) AS uid,
                        toInt64(toDecimal64OrZero(decodeURLComponent(extractURLParameter(concat('??', c12), 'p')), 6) * 1000000) AS revenue,
                        toInt64(0) AS cost
                 FROM file({{path:String}}, 'TSV', '{}')
                 WHERE c33 IS NOT NULL AND ts IS NOT NULL AND event_type != ''
                   AND decodeURLComponent(extractURLParameter(concat('??', c12), 'pub')) != ''
                 SETTINGS input_format_tsv_skip_first_lines = 2, input_format_tsv_allow_variable_number_of_columns = 1",
                nullable_columns(&columns)
            )
        }
    }
}

fn clickhouse() -> clickhouse::Client {
    let url = std::env::var("CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:18123".to_owned());
    clickhouse::Client::default()
        .with_url(url)
        .with_user(std::env::var("CLICKHOUSE_USER").unwrap_or_else(|_| "default".to_owned()))
        .with_password(std::env::var("CLICKHOUSE_PASSWORD").unwrap_or_default())
}

/// ClickHouse's per (event type, day) sums and distinct user ids of one file.
async fn clickhouse_reads(
    client: &clickhouse::Client,
    path: &Path,
    file: &FileEntry,
) -> (Vec<DayTypeRow>, Vec<String>) {
    let good = good_rows_sql(file.format);
    let query = |sql: String| {
        client
            .query(&sql)
            .param("path", path.to_str().unwrap())
            .param("short", SHORT_CODES.as_slice())
            .param("long", EVENT_TYPES.as_slice())
    };
    let sums = query(format!(
        "SELECT assumeNotNull(event_type) AS event_type, toString(toDate(assumeNotNull(ts))) AS day,
                count() AS events, sum(assumeNotNull(revenue)) AS revenue_micros,
                sum(assumeNotNull(cost)) AS cost_micros
         FROM ({good}) GROUP BY event_type, day"
    ))
    .fetch_all::<DayTypeRow>()
    .await
    .unwrap_or_else(|err| {
        panic!(
            "ClickHouse failed reading {} ({err}); start the local stack with `make dev-up` and `source .dev/env`",
            file.key
        )
    });
    let users = query(format!("SELECT DISTINCT assumeNotNull(uid) FROM ({good}) WHERE uid != ''"))
        .fetch_all::<String>()
        .await
        .unwrap_or_else(|err| panic!("ClickHouse failed reading users of {}: {err}", file.key));
    (sums, users)
}

fn add(sums: &mut Sums, row: &DayTypeRow) {
    sums.events += row.events;
    sums.revenue_micros += row.revenue_micros;
    sums.cost_micros += row.cost_micros;
}

#[tokio::test]
async fn manifest_totals_equal_clickhouse_parsing_the_files() {
    let dir = ScratchDir::new("clickhouse");
    let manifest = generate(&dir, &["--rows-per-file", "5000", "--bad-every", "97", "--files", "2", "--seed", "5"]);
    let client = clickhouse();
    let mut totals: BTreeMap<(String, String), Sums> = BTreeMap::new();
    let mut daily: BTreeMap<(String, String, String), Sums> = BTreeMap::new();
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &manifest.files {
        let (rows, file_users) = clickhouse_reads(&client, &dir.join(&file.key).canonicalize().unwrap(), file).await;
        let mut per_type: BTreeMap<String, Sums> = BTreeMap::new();
        for row in &rows {
            add(per_type.entry(row.event_type.clone()).or_default(), row);
            add(totals.entry((file.tenant.clone(), row.event_type.clone())).or_default(), row);
            add(daily.entry((file.tenant.clone(), row.day.clone(), row.event_type.clone())).or_default(), row);
        }
        let expected: BTreeMap<String, Sums> =
            file.events.iter().map(|totals| (totals.event_type.clone(), totals.sums)).collect();
        assert_eq!(per_type, expected, "{}", file.key);
        assert_eq!(per_type.values().map(|sums| sums.events).sum::<u64>(), file.good_rows, "{}", file.key);
        users.entry(file.tenant.clone()).or_default().extend(file_users);
    }
    let expected: BTreeMap<(String, String), Sums> = manifest
        .totals
        .iter()
        .map(|totals| ((totals.tenant.clone(), totals.event_type.clone()), totals.sums))
        .collect();
    assert_eq!(totals, expected);
    let expected: BTreeMap<(String, String, String), Sums> = manifest
        .daily
        .iter()
        .map(|totals| ((totals.tenant.clone(), totals.day.clone(), totals.event_type.clone()), totals.sums))
        .collect();
    assert_eq!(daily, expected);
    let expected: BTreeMap<String, u64> =
        manifest.users.iter().map(|users| (users.tenant.clone(), users.distinct_user_ids)).collect();
    let counted: BTreeMap<String, u64> = users.into_iter().map(|(tenant, ids)| (tenant, ids.len() as u64)).collect();
    assert_eq!(counted, expected);
    // The traffic is not degenerate: every event type occurs, with money.
    let acme = |kind: &str| totals[&("acme".to_owned(), kind.to_owned())];
    assert!(EVENT_TYPES.iter().all(|kind| acme(kind).events > 0));
    assert!(acme("impression").revenue_micros > acme("impression").cost_micros);
}

#[tokio::test]
async fn upload_puts_every_file_and_the_manifest_under_the_prefix() {
    // A bucket of its own: the shared one notifies the ingester's queue.
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL names the local S3; start the stack with `make dev-up` and `source .dev/env`");
    let shared = aws_config::load_from_env().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&shared).force_path_style(true).build());
    let bucket = format!("gen-upload-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await.unwrap_or_else(|err| panic!("S3 at {endpoint}: {err:?}"));

    let dir = ScratchDir::new("upload");
    let manifest = generate(
        &dir,
        &["--rows-per-file", "500", "--formats", "tsv,w3c", "--upload", &format!("s3://{bucket}/runs/1/")],
    );
    assert_eq!((manifest.bucket.as_deref(), manifest.prefix.as_str()), (Some(bucket.as_str()), "runs/1"));
    let listed = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let mut keys: Vec<String> = listed.contents().iter().filter_map(|object| object.key().map(str::to_owned)).collect();
    keys.sort();
    let mut expected: Vec<String> = manifest.files.iter().map(|file| manifest.object_key(file)).collect();
    expected.push("runs/1/manifest.json".to_owned());
    expected.sort();
    assert_eq!(keys, expected);
    for file in &manifest.files {
        let object = s3.get_object().bucket(&bucket).key(manifest.object_key(file)).send().await.unwrap();
        let bytes = object.body.collect().await.unwrap().into_bytes();
        assert!(bytes == std::fs::read(dir.join(&file.key)).unwrap(), "{} differs from the local file", file.key);
    }
    for key in keys {
        s3.delete_object().bucket(&bucket).key(key).send().await.unwrap();
    }
    s3.delete_bucket().bucket(&bucket).send().await.unwrap();
}
