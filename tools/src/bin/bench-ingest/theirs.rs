//! ClickHouse's side: the same file read by the engine's own input format
//! through `file()`, mapped to the `events` columns with the same rules as
//! the example source, and inserted into a `Null`-engine table with the
//! columns of `events` (`events_null`: the insert pipeline runs, the rows
//! are then dropped). One thread: `max_threads = 1`, `max_insert_threads =
//! 1`, no parallel parsing.
//!
//! The engine is chDB (the local stack's engine) in a Python process of the
//! bench's own (`.venv/bin/python`), not the shared HTTP server: its time is
//! the engine's own `elapsed`, and its CPU time is that process's, which on a
//! shared machine is the comparable per-core figure.
//!
//! Per format the engine reads: JSONEachRow (timestamps by
//! `date_time_input_format = 'best_effort'`, quoted prices into Decimal64),
//! CSVWithNames, TabSeparated, and for W3C TabSeparated with the two
//! directive lines skipped, query-string fields by
//! `decodeURLFormComponent(extractURLParameter(…))`. The user id is hashed
//! with `sipHash64` (the ingester uses FNV-1a; same work, different values).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use adhouse_tools::samples::formats::ExampleSource;
use anyhow::{Context as _, bail};
use serde::Deserialize;

/// The `events` columns the ingester writes, in its order.
const COLUMNS: &str = "tenant, ts, event_type, publisher_id, placement_id, demand_partner, campaign_id, creative_id, \
     ad_format, country, device_type, os, domain, user_id_hash, revenue_micros, cost_micros, error_code, source, file, line";

const SINGLE_THREAD: &str =
    "max_threads = 1, max_insert_threads = 1, input_format_parallel_parsing = 0";

/// The example sources' `values` table for event types.
const EVENT_TYPES: &str = "['req', 'imp', 'clk', 'start', 'q1', 'mid', 'q3', 'complete', 'err'], \
     ['request', 'impression', 'click', 'video_start', 'video_first_quartile', 'video_midpoint', \
     'video_third_quartile', 'video_complete', 'error']";

/// Runs one statement per input line (JSON: sql, params) in one chDB
/// session and answers with the engine's elapsed time, the process's CPU
/// time and the rows written.
const WORKER: &str = r#"
import json, sys, time
from chdb import session
db = session.Session()
for line in sys.stdin:
    request = json.loads(line)
    cpu = time.process_time_ns()
    try:
        result = db.query(request["sql"], "TSV", params=request["params"])
        answer = {"elapsed_ns": int(result.elapsed() * 1e9), "cpu_ns": time.process_time_ns() - cpu,
                  "rows": result.rows_written()}
    except Exception as err:
        answer = {"error": str(err)}
    print(json.dumps(answer), flush=True)
"#;

/// One timed INSERT … SELECT FROM file(…).
#[derive(Debug, Clone, Copy)]
pub struct Pass {
    pub rows: u64,
    /// The engine's own elapsed time.
    pub elapsed: Duration,
    /// CPU time of the chDB process during the statement.
    pub cpu: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Answer {
    Done {
        elapsed_ns: u64,
        cpu_ns: u64,
        rows: u64,
    },
    Failed {
        error: String,
    },
}

/// A chDB process with `events_null` created.
pub struct Engine {
    child: Child,
    /// `None` once dropped: end of input ends the worker's loop.
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl Engine {
    /// Starts `python` (with the `chdb` package) and creates `events_null`
    /// with `columns`, the `name type [DEFAULT expr]` list of `events`.
    pub fn start(python: &Path, columns: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(python)
            .args(["-c", WORKER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {} (make venv installs chdb)", python.display()))?;
        let input = child.stdin.take().context("stdin")?;
        let output = BufReader::new(child.stdout.take().context("stdout")?);
        let mut engine = Self {
            child,
            input: Some(input),
            output,
        };
        engine.run(
            &format!("CREATE TABLE events_null ({columns}) ENGINE = Null"),
            &[],
        )?;
        Ok(engine)
    }

    pub fn insert_file(
        &mut self,
        format: ExampleSource,
        tenant: &str,
        path: &Path,
    ) -> anyhow::Result<Pass> {
        let path = path.to_str().context("file paths must be UTF-8")?;
        let file = format!("file://{path}");
        let sql = format!("INSERT INTO events_null ({COLUMNS}) {}", select(format));
        let params = [
            ("path", path),
            ("tenant", tenant),
            ("source", format.source()),
            ("file", &file),
        ];
        self.run(&sql, &params)
    }

    fn run(&mut self, sql: &str, params: &[(&str, &str)]) -> anyhow::Result<Pass> {
        let params: serde_json::Map<String, serde_json::Value> = params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).into()))
            .collect();
        let request = serde_json::json!({ "sql": sql, "params": params });
        let input = self.input.as_mut().context("the chDB process is stopped")?;
        writeln!(input, "{request}")?;
        input.flush()?;
        let mut line = String::new();
        if self.output.read_line(&mut line)? == 0 {
            bail!("the chDB process exited");
        }
        match serde_json::from_str(&line)
            .with_context(|| format!("chDB process answered {line:?}"))?
        {
            Answer::Done {
                elapsed_ns,
                cpu_ns,
                rows,
            } => Ok(Pass {
                rows,
                elapsed: Duration::from_nanos(elapsed_ns),
                cpu: Duration::from_nanos(cpu_ns),
            }),
            Answer::Failed { error } => bail!("chDB: {error}"),
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        drop(self.input.take());
        let _ = self.child.wait();
    }
}

/// `SELECT <the events columns> FROM file({path}, …)` for a format.
fn select(format: ExampleSource) -> String {
    let lineage = "{source:String}, {file:String}";
    let user = |field: &str| format!("if({field} = '', 0, greatest(sipHash64({field}), 1))");
    match format {
        ExampleSource::Jsonl => format!(
            "SELECT {{tenant:String}}, ts, transform(ev, {EVENT_TYPES}, ''), pub, plc, dp, cmp, cr, fmt, geo, dev, os, dom, \
             {}, toInt64(price * 1000000), toInt64(cost * 1000000), err, {lineage}, rowNumberInAllBlocks() + 1 \
             FROM file({{path:String}}, 'JSONEachRow', 'ts DateTime64(3, ''UTC''), ev String, pub String, plc String, \
             dp String, cmp String, cr String, fmt String, geo String, dev String, os String, dom String, uid String, \
             price Decimal64(6), cost Decimal64(6), err UInt16') \
             SETTINGS {SINGLE_THREAD}, date_time_input_format = 'best_effort'",
            user("uid"),
        ),
        ExampleSource::Csv => format!(
            "SELECT {{tenant:String}}, fromUnixTimestamp64Milli(timestamp_ms, 'UTC'), event, publisher, placement, \
             partner, campaign, creative, format, country, device, os, site, {}, toInt64(revenue_cpm * 1000), \
             toInt64(cost_cpm * 1000), error_code, {lineage}, rowNumberInAllBlocks() + 2 \
             FROM file({{path:String}}, 'CSVWithNames', 'timestamp_ms Int64, event String, publisher String, \
             placement String, partner String, campaign String, creative String, format String, country String, \
             device String, os String, site String, user String, revenue_cpm Decimal64(3), cost_cpm Decimal64(3), \
             error_code UInt16') SETTINGS {SINGLE_THREAD}",
            user("user"),
        ),
        ExampleSource::Tsv => format!(
            "SELECT {{tenant:String}}, time, type, publisher, placement, partner, campaign, creative, format, country, \
             device, os, domain, {}, revenue_micros, cost_micros, vast_error, {lineage}, rowNumberInAllBlocks() + 1 \
             FROM file({{path:String}}, 'TabSeparated', 'time DateTime64(3, ''UTC''), type String, publisher String, \
             placement String, partner String, campaign String, creative String, format String, country String, \
             device String, os String, domain String, user String, revenue_micros Int64, cost_micros Int64, \
             vast_error UInt16') SETTINGS {SINGLE_THREAD}",
            user("user"),
        ),
        ExampleSource::W3c => {
            // extractURLParameter wants a URL, i.e. a `?` before the first
            // parameter; char(63) is `?`, which the client would take for a
            // bind placeholder.
            let param = |name: &str| {
                format!(
                    "decodeURLFormComponent(extractURLParameter(concat(char(63), q), '{name}'))"
                )
            };
            let text: Vec<String> = [
                "pub", "plc", "dp", "cmp", "cr", "fmt", "geo", "dev", "os", "dom",
            ]
            .into_iter()
            .map(param)
            .collect();
            // CloudFront's 33 columns; only date, time and cs-uri-query (12th) are read.
            let columns: Vec<String> = (1..=33)
                .map(|i| match i {
                    1 => "date String".to_owned(),
                    2 => "time String".to_owned(),
                    12 => "q String".to_owned(),
                    i => format!("c{i} String"),
                })
                .collect();
            format!(
                "SELECT {{tenant:String}}, toDateTime64(concat(date, ' ', time), 3, 'UTC'), transform({}, {EVENT_TYPES}, ''), \
                 {}, {}, toInt64(toDecimal64OrZero({}, 6) * 1000000), 0, toUInt16OrZero({}), {lineage}, \
                 rowNumberInAllBlocks() + 3 FROM file({{path:String}}, 'TabSeparated', '{}') \
                 SETTINGS {SINGLE_THREAD}, input_format_tsv_skip_first_lines = 2",
                param("ev"),
                text.join(", "),
                user(&param("uid")),
                param("p"),
                param("err"),
                columns.join(", "),
            )
        }
    }
}
