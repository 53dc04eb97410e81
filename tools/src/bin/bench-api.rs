//! `bench-api`: latency of typical dashboard requests through the API on
//! the rollups versus the same requests forced onto raw `events`
//! (`"use_rollups": false`), then throughput with many concurrent clients.
//!
//! The events are generated inside ClickHouse (`INSERT … SELECT … FROM
//! numbers()`, through the materialized views) into the benchmark's own
//! database on first run; later runs reuse them. Every request goes over TCP
//! on loopback to a real `adhouse-api serve` process started by the bench,
//! whose peak RSS is read from `/proc` at the end.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adhouse_api::query::time::Zone;
use adhouse_core::Settings;
use adhouse_core::schema::Migrator;
use anyhow::{Context, bail, ensure};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(about = "Benchmark the query API on rollups against raw events")]
struct Args {
    /// Database to generate into and query (created and migrated if missing).
    #[arg(long, default_value = "adhouse_bench")]
    database: String,
    /// Events to generate over the `DAYS` days before now (e.g. 20000000, 100000000).
    #[arg(long, default_value_t = 20_000_000)]
    events: u64,
    /// Timed runs per request and table choice (after two warm-up runs).
    #[arg(long, default_value_t = 25)]
    runs: usize,
    /// Concurrent clients of the throughput phase (0 skips it).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Length of the throughput phase.
    #[arg(long, default_value_t = 20)]
    concurrent_secs: u64,
    /// The `adhouse-api` binary to serve the requests.
    #[arg(long, default_value = "target/release/adhouse-api")]
    api_bin: PathBuf,
}

/// Days of generated traffic: twice the longest request's range, so that
/// "30 days, compare previous period" has a previous period to read.
const DAYS: u32 = 60;

/// Ad traffic with the shape of the real thing, the same rows for the same
/// `numbers()` and start day (every random choice is a hash of the row
/// number):
/// * a hierarchy: 200 publishers with 25 placements each (5,000) and one
///   domain each; 12 demand partners owning 300 campaigns, 10 creatives per
///   campaign (3,000), the ad format a property of the creative;
/// * Zipf-like popularity (rank k drawn with probability ∝ ~1/k, as
///   `floor(exp(u · ln(n + 1))) − 1` for uniform u) of publishers, placements
///   within their publisher, campaigns, creatives within their campaign,
///   60 countries and 5 M users (10 % unknown);
/// * a daily curve: four times as many events at the 20:00 UTC peak as at
///   the 08:00 trough, by warping a uniform second of the day;
/// * a funnel: 60 % requests, 30 % impressions, 2 % of impressions clicked,
///   video events for video creatives, 1 % errors; eCPM by country tier.
const GENERATE: &str = "
INSERT INTO events (tenant, ts, event_type, publisher_id, placement_id, demand_partner, campaign_id, creative_id,
                    ad_format, country, device_type, os, domain, user_id_hash, revenue_micros, cost_micros,
                    error_code, source, file, line)
WITH
    (k, n) -> toUInt32(floor(exp((cityHash64(number, k) % 1000000) / 1000000 * log(n + 1)))) - 1 AS zipf,
    k -> (cityHash64(number, k) % 1000000) / 1000000 AS uniform,
    ['US','GB','DE','FR','JP','CA','AU','IN','BR','IT','ES','NL','MX','KR','SE','PL','TR','ID','CH','BE',
     'AT','NO','DK','FI','IE','PT','CZ','RO','HU','GR','IL','AE','SA','ZA','EG','NG','KE','AR','CL','CO',
     'PE','PH','TH','VN','MY','SG','NZ','HK','TW','PK','BD','UA','RS','BG','HR','SK','SI','LT','LV','EE'] AS countries,
    ['google_adx','appnexus','rubicon','pubmatic','openx','index','amazon','criteo','triplelift','sovrn',
     'sharethrough','yieldmo'] AS partners,
    uniform(1) AS day_u,
    -- density ∝ 1 + 0.6·cos(2π(t − 20/24)): t = u − 0.6/(2π)·sin(2π(u − 20/24))
    positiveModulo(toInt64(floor((uniform(2) - 0.6 / (2 * pi()) * sin(2 * pi() * (uniform(2) - 20 / 24))) * 86400)), 86400) AS second_of_day,
    {start:Int64} + toInt64(day_u * {days:UInt32}) * 86400 + second_of_day AS epoch,
    zipf(3, 200) AS publisher,
    zipf(5, 300) AS campaign,
    zipf(7, 60) AS country_rank,
    cityHash64(number, 8) % 1000 AS funnel,
    uniform(9) AS device_u
SELECT
    if(number % 10 = 0, 'other', 'bench') AS tenant,
    -- today's events after now move to the same time of an earlier day
    toDateTime64(if(epoch < {now:Int64}, epoch, epoch - 86400 * (1 + toInt64(cityHash64(number, 10) % ({days:UInt32} - 1)))), 3, 'UTC') AS ts,
    multiIf(funnel < 600, 'request', funnel < 900, 'impression', funnel < 906, 'click',
            funnel >= 990, 'error', ad_format != 'video', 'impression',
            funnel < 930, 'video_start', funnel < 950, 'video_first_quartile', funnel < 966, 'video_midpoint',
            funnel < 978, 'video_third_quartile', 'video_complete') AS event_type,
    concat('pub-', toString(publisher)) AS publisher_id,
    concat(publisher_id, '-plc-', toString(zipf(4, 25))) AS placement_id,
    partners[1 + cityHash64('campaign', campaign) % 12] AS demand_partner,
    concat(demand_partner, '-cmp-', toString(campaign)) AS campaign_id,
    concat(campaign_id, '-cr-', toString(zipf(6, 10))) AS creative_id,
    ['banner','banner','banner','video','native'][1 + cityHash64(creative_id) % 5] AS ad_format,
    countries[1 + country_rank] AS country,
    multiIf(device_u < 0.55, 'mobile', device_u < 0.85, 'desktop', device_u < 0.95, 'ctv', 'tablet') AS device_type,
    multiIf(device_type IN ('mobile', 'tablet'), if(uniform(11) < 0.6, 'android', 'ios'),
            device_type = 'desktop', if(uniform(11) < 0.75, 'windows', 'macos'),
            if(uniform(11) < 0.5, 'tizen', 'roku')) AS os,
    concat('pub-', toString(publisher), '.example') AS domain,
    if(uniform(12) < 0.1, 0, 1 + cityHash64(zipf(13, 5000000))) AS user_id_hash,
    if(event_type = 'impression',
       toInt64((200 + cityHash64(number, 14) % 2000) * multiIf(country_rank < 5, 3, country_rank < 15, 2, 1)), 0) AS revenue_micros,
    intDiv(revenue_micros * (60 + toInt64(cityHash64(number, 15) % 20)), 100) AS cost_micros,
    if(event_type = 'error', 400, 0) AS error_code,
    'bench' AS source, 'generated' AS file, number AS line
FROM numbers({offset:UInt64}, {count:UInt64})";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut settings = Settings::load(None)?;
    if let Ok(url) = std::env::var("CLICKHOUSE_URL") {
        settings.clickhouse.url = url;
    }
    settings.clickhouse.database = args.database.clone();
    adhouse_core::telemetry::init(&settings.log);
    Migrator::new(&settings).apply().await.context("migrating the benchmark database")?;
    let client = adhouse_core::clickhouse::client(&settings.clickhouse);
    let now = jiff::Timestamp::now().as_second();
    generate(&client, args.events, now).await?;
    settle_mutations(&client).await?;
    table_sizes(&client).await?;

    let token = adhouse_api::auth::create(&client, "bench", &Zone::parse("timezone", "UTC")?).await?;
    let api = Api::start(&args, &settings, token).await?;
    let minute_now = now - now % 60;
    let iso = |epoch: i64| jiff::Timestamp::from_second(epoch).map(|t| t.to_string());
    let single = |name: &'static str, body: Value| (name, vec![body]);
    // The dashboard's first page (its defaults: last 7 days by day, compare
    // previous period): tiles and chart from one request, the breakdown
    // table from another, sent together as the browser does.
    let page = ("dashboard first page (tiles + chart, breakdown)", vec![
        json!({ "metrics": ["impressions", "revenue", "ecpm", "fill_rate", "ctr", "vtr"],
                "time_range": { "preset": "last_7_days" }, "granularity": "day", "compare": "previous_period" }),
        json!({ "metrics": ["impressions", "revenue", "ecpm", "fill_rate", "ctr", "vtr"], "dimensions": ["publisher_id"],
                "time_range": { "preset": "last_7_days" }, "compare": "previous_period",
                "order_by": [{ "field": "impressions", "direction": "desc" }], "limit": 100 }),
    ]);
    let requests = [
        single("30 days by day, compare previous period", json!({
            "metrics": ["impressions", "revenue", "ecpm", "ctr", "fill_rate"],
            "time_range": { "preset": "last_30_days" }, "granularity": "day", "compare": "previous_period" })),
        single("24 hours by minute", json!({
            "metrics": ["requests", "impressions", "revenue"],
            "time_range": { "from": iso(minute_now - 86_400)?, "to": iso(minute_now)? }, "granularity": "minute" })),
        single("top 20 placements, 7 days", json!({
            "metrics": ["revenue", "impressions", "ecpm"], "dimensions": ["placement_id"],
            "time_range": { "preset": "last_7_days" }, "order_by": [{ "field": "revenue" }], "limit": 20 })),
        single("30 days by day in Asia/Tokyo by country", json!({
            "metrics": ["impressions", "revenue"], "dimensions": ["country"], "timezone": "Asia/Tokyo",
            "time_range": { "preset": "last_30_days" }, "granularity": "day", "limit": 10 })),
        page,
    ];
    // The floor of this server: a request whose one statement reads next to
    // nothing (one hour a day ago: a few hundred rows of a projection). No request is much
    // faster, so raw p50 over this p50 bounds the ratio any rollup can reach.
    let hour_ago = now - now % 3_600 - 86_400;
    let floor = api
        .measure(&[json!({ "metrics": ["impressions"], "time_range": { "from": iso(hour_ago)?, "to": iso(hour_ago + 3_600)? } })], args.runs)
        .await?;
    println!(
        "\nfloor: one hour's impressions a day ago ({}, {} rows read) p50 {:.1} ms, p95 {:.1} ms; `max ×` is raw p50 / this p50",
        floor.table, floor.rows_read, floor.p50_ms, floor.p95_ms
    );
    println!(
        "\n{:<48} {:>9} {:>8} {:>8} {:>11} {:>8} {:>8} {:>11} {:>7} {:>7}",
        "request", "table", "p50 ms", "p95 ms", "rows read", "raw p50", "raw p95", "raw rows", "p50 ×", "max ×"
    );
    for (name, bodies) in &requests {
        let raw_bodies: Vec<Value> = bodies.iter().map(|body| with_raw(body.clone())).collect();
        // A failed request is reported and the benchmark goes on, so one
        // bad case does not hide the others' figures.
        let (rollup, raw) = match (api.measure(bodies, args.runs).await, api.measure(&raw_bodies, args.runs).await) {
            (Ok(rollup), Ok(raw)) => (rollup, raw),
            (rollup, raw) => {
                let error = rollup.err().or(raw.err()).map(|err| format!("{err:#}")).unwrap_or_default();
                println!("{name:<48} failed: {}", error.lines().next().unwrap_or(""));
                continue;
            }
        };
        println!(
            "{name:<48} {:>9} {:>8.1} {:>8.1} {:>11} {:>8.1} {:>8.1} {:>11} {:>6.1}× {:>6.1}×",
            rollup.table,
            rollup.p50_ms,
            rollup.p95_ms,
            rollup.rows_read,
            raw.p50_ms,
            raw.p95_ms,
            raw.rows_read,
            raw.p50_ms / rollup.p50_ms,
            raw.p50_ms / floor.p50_ms
        );
    }
    if args.clients > 0 {
        let bodies: Vec<Value> = requests.iter().flat_map(|(_, bodies)| bodies.iter().cloned()).collect();
        api.throughput(&bodies, args.clients, Duration::from_secs(args.concurrent_secs)).await?;
    }
    println!("adhouse-api peak RSS (VmHWM): {} MiB", api.peak_rss_kib()? / 1024);
    Ok(())
}

fn with_raw(mut body: Value) -> Value {
    body["use_rollups"] = json!(false);
    body
}

async fn generate(client: &clickhouse::Client, events: u64, now: i64) -> anyhow::Result<()> {
    let have: u64 = client.query("SELECT count() FROM events").fetch_one().await?;
    if have >= events {
        println!("reusing {have} events in the benchmark database");
        return Ok(());
    }
    ensure!(have == 0, "the benchmark database holds {have} events, fewer than {events}; drop it to regenerate");
    // Whole UTC days, the last of them today (cut at now).
    let start = (now - now.rem_euclid(86_400)) - i64::from(DAYS - 1) * 86_400;
    let chunk = 5_000_000u64;
    let started = Instant::now();
    for offset in (0..events).step_by(chunk as usize) {
        client
            .query(GENERATE)
            .param("start", start)
            .param("days", DAYS)
            .param("now", now)
            .param("offset", offset)
            .param("count", chunk.min(events - offset))
            .with_setting("max_execution_time", "0")
            .execute()
            .await
            .context("generating events")?;
        println!("generated {} of {events} events ({:.0} s)", offset + chunk.min(events - offset), started.elapsed().as_secs_f64());
    }
    for table in ["events", "events_1m", "events_1h", "events_1d"] {
        client.query(&format!("OPTIMIZE TABLE {table} FINAL")).with_setting("max_execution_time", "0").execute().await?;
    }
    println!("generated and merged in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Waits for background mutations (a migration's MATERIALIZE PROJECTION
/// over existing parts), so that the timings are of the finished tables.
async fn settle_mutations(client: &clickhouse::Client) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let pending: u64 = client.query("SELECT count() FROM system.mutations WHERE database = currentDatabase() AND NOT is_done").fetch_one().await?;
        if pending == 0 {
            return Ok(());
        }
        println!("waiting for {pending} mutations ({:.0} s)", started.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Rows per table and per projection, and how many events each row folds.
async fn table_sizes(client: &clickhouse::Client) -> anyhow::Result<()> {
    let events: u64 = client.query("SELECT count() FROM events").fetch_one().await?;
    let folded = |rows: u64| events as f64 / rows.max(1) as f64;
    for table in ["events", "events_1m", "events_1h", "events_1d"] {
        let rows: u64 = client.query(&format!("SELECT count() FROM {table}")).fetch_one().await?;
        println!("{table:<24} {rows:>12} rows  ({:.1} events per row)", folded(rows));
    }
    let projections: Vec<(String, u64)> = client
        .query(
            "SELECT concat(table, ' ', name), sum(rows) FROM system.projection_parts \
             WHERE database = currentDatabase() AND active GROUP BY table, name ORDER BY table, name",
        )
        .fetch_all()
        .await?;
    for (projection, rows) in projections {
        println!("{projection:<24} {rows:>12} rows  ({:.1} events per row)", folded(rows));
    }
    Ok(())
}

/// The `adhouse-api serve` process under test, and a client of it.
struct Api {
    child: Child,
    client: ApiClient,
}

/// A client of the API under test, with the bench tenant's token.
#[derive(Clone)]
struct ApiClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl ApiClient {
    async fn query(&self, body: &Value) -> anyhow::Result<Value> {
        let response = self.http.post(format!("{}/api/v1/query", self.base)).bearer_auth(&self.token).json(body).send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        ensure!(status.is_success(), "{body} → {status}: {}", String::from_utf8_lossy(&bytes));
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Sends all of `bodies` at once; the answers in order, or the first error.
    async fn query_all(&self, bodies: &[Value]) -> anyhow::Result<Vec<Value>> {
        let sent: Vec<_> = bodies
            .iter()
            .map(|body| {
                let (client, body) = (self.clone(), body.clone());
                tokio::spawn(async move { client.query(&body).await })
            })
            .collect();
        let mut answers = Vec::with_capacity(sent.len());
        for answer in sent {
            answers.push(answer.await??);
        }
        Ok(answers)
    }
}

struct Timing {
    table: String,
    p50_ms: f64,
    p95_ms: f64,
    rows_read: u64,
}

impl Api {
    /// Starts the server on a free loopback port against the benchmark
    /// database and waits until it answers `/readyz`.
    async fn start(args: &Args, settings: &Settings, token: String) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(&args.api_bin)
            .arg("serve")
            .env("ADHOUSE__CLICKHOUSE__URL", &settings.clickhouse.url)
            .env("ADHOUSE__CLICKHOUSE__DATABASE", &args.database)
            .env("ADHOUSE__API__LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("ADHOUSE__API__MAX_EXECUTION_SECS", "60")
            .env("ADHOUSE_API_METRICS_ADDR", "")
            .env("ADHOUSE__LOG__LEVEL", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} (make bench-api builds it)", args.api_bin.display()))?;
        let client = ApiClient { base: format!("http://127.0.0.1:{port}"), token, http: reqwest::Client::new() };
        let api = Self { child, client };
        for _ in 0..100 {
            if let Ok(response) = api.client.http.get(format!("{}/readyz", api.client.base)).send().await
                && response.status().is_success()
            {
                return Ok(api);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("adhouse-api did not become ready on {}", api.client.base)
    }

    /// Sends `bodies` together `runs` times (after two warm-up rounds); a
    /// round takes as long as its slowest response.
    async fn measure(&self, bodies: &[Value], runs: usize) -> anyhow::Result<Timing> {
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut last = Vec::new();
        for run in 0..runs + 2 {
            let started = Instant::now();
            let answers = self.client.query_all(bodies).await?;
            if run >= 2 {
                times.push(started.elapsed());
            }
            last = answers;
        }
        times.sort();
        let meta = |key: &str| last.iter().map(|answer| answer["meta"][key].clone()).collect::<Vec<_>>();
        let tables: Vec<String> = meta("table").iter().map(|table| table.as_str().unwrap_or("?").to_owned()).collect();
        let mut tables_shown = tables.clone();
        tables_shown.dedup();
        Ok(Timing {
            table: tables_shown.join("+"),
            p50_ms: millis(times[times.len() / 2]),
            p95_ms: millis(times[percentile_index(times.len(), 95)]),
            rows_read: meta("clickhouse").iter().map(|stats| stats["rows_read"].as_u64().unwrap_or(0)).sum(),
        })
    }

    /// `clients` loops, each sending the rollup requests in turn for
    /// `length`: requests per second, p50/p99 latency and errors.
    async fn throughput(&self, bodies: &[Value], clients: usize, length: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|client| {
                let (api, bodies) = (self.client.clone(), bodies.to_vec());
                tokio::spawn(async move {
                    let (mut times, mut errors) = (Vec::new(), 0usize);
                    let mut next = client;
                    while started.elapsed() < length {
                        let sent = Instant::now();
                        let ok = api.query(&bodies[next % bodies.len()]).await.is_ok();
                        times.push(sent.elapsed());
                        errors += usize::from(!ok);
                        next += 1;
                    }
                    (times, errors)
                })
            })
            .collect();
        let (mut times, mut errors) = (Vec::new(), 0);
        for task in tasks {
            let (task_times, task_errors) = task.await?;
            times.extend(task_times);
            errors += task_errors;
        }
        let elapsed = started.elapsed().as_secs_f64();
        times.sort();
        ensure!(!times.is_empty(), "no request finished in the throughput phase");
        println!(
            "\n{clients} concurrent clients, {elapsed:.0} s: {} requests, {:.1} requests/s, p50 {:.1} ms, p99 {:.1} ms, {errors} errors",
            times.len(),
            times.len() as f64 / elapsed,
            millis(times[times.len() / 2]),
            millis(times[percentile_index(times.len(), 99)]),
        );
        Ok(())
    }

    fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:")).context("no VmHWM in /proc/PID/status")?;
        Ok(line.split_whitespace().nth(1).context("VmHWM without a value")?.parse()?)
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// The index of the `percent`th percentile in `len` sorted values (nearest rank).
fn percentile_index(len: usize, percent: usize) -> usize {
    (len * percent).div_ceil(100).saturating_sub(1)
}
